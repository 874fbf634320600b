"""CPU of a part of llmmeter's call, measured in place: the call from trees where that part is cut.

    .venv/bin/python -m benchmarks.ablate [SUITE] [--rounds N] [--calls N] [--patches NAME,...]

Each patch in ``benchmarks/ablations/`` (default: all) is applied to a git worktree of HEAD in a
temporary directory; it replaces one part of llmmeter's work on a call and leaves the rest as it
is (each patch says what it cuts). ``llmmeter`` of SUITE (one of ``benchmarks.callgrind_calls``'s,
default ``transport:chat``) then runs from every tree, and ``bare``, the floor and the official
instrumentation from this one, each in a fresh interpreter: WARMUP calls, then CALLS calls timed
with ``time.process_time()`` (every thread). The processes take turns, ROUNDS times, in an order
that rotates each round; medians. Printed per row: CPU per call, what it adds to ``bare``, and its
ratio to the floor and to the official instrumentation of the same rounds; for each ablation,
what cutting its part saves against HEAD's ``llmmeter``. The patches are written for the openai
SDK's non-streamed call (``transport:chat``); on another suite each cuts what of it that path runs.

Callgrind's instructions price a part by what it executes; this prices it by what it costs in
place, among the client's and the SDK's work, which is what the CPU targets are stated in. On a
shared machine two runs of the same code differ by some 10 µs; differences below that are noise.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.callgrind_calls import (
    FLOOR,
    ROOT,
    build,
    suites_asked,
    take_option,
    variants,
    worker_result,
)

PATCHES = ROOT / "benchmarks" / "ablations"
WARMUP = 300
CALLS = 3_000
ROUNDS = 10
REFERENCES = ("bare", "llmmeter", FLOOR)
"""This tree's rows, with the official instrumentation of the suite when it is installed."""
OFFICIAL = ("OTel openai-v2", "OTel google-genai", "OpenTelemetry botocore", "OpenTelemetry aiohttp-client")


def worker(suite: str, name: str, calls: int) -> None:
    """Build a variant in this interpreter, warm it up, print the CPU seconds of one call."""
    call, tracer_provider = build(suite, name)
    for _ in range(WARMUP):
        call()
    tracer_provider.force_flush()
    started = time.process_time()
    for _ in range(calls):
        call()
    tracer_provider.force_flush()
    print(json.dumps((time.process_time() - started) / calls))


def one_process(tree: Path, suite: str, name: str, calls: int) -> float:
    """A variant's CPU seconds per call, from the code in ``tree``."""
    cpu: float = worker_result("benchmarks.ablate", suite, name, str(calls), cwd=tree)
    return cpu


def worktree(folder: Path, patch: Path) -> Path:
    """A worktree of HEAD in ``folder`` with ``patch`` applied (an exit naming it if it no longer applies)."""
    tree = folder / patch.stem
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), "HEAD"], cwd=ROOT, check=True)
    applied = subprocess.run(["git", "apply", str(patch)], cwd=tree, capture_output=True, text=True)
    if applied.returncode != 0:
        sys.exit(f"{patch.name} no longer applies to HEAD: {applied.stderr.strip()}")
    return tree


def _changed_here() -> bool:
    """Whether llmmeter's code in this tree differs from HEAD's."""
    status = ["git", "status", "--porcelain", "--", "llmmeter", "integrations"]
    return bool(subprocess.run(status, cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip())


def report(suite: str, patches: list[Path], rounds: int, calls: int) -> None:
    official = [name for name in variants(suite) if name in OFFICIAL]
    rows = [(name, ROOT, name) for name in (*REFERENCES, *official)]  # (row, tree, variant)
    if _changed_here():
        print(
            "note: llmmeter's code has uncommitted changes; the ablations apply to HEAD, this tree's"
            " rows run them"
        )
    try:
        with tempfile.TemporaryDirectory() as temporary:
            for patch in patches:
                rows.append((f"llmmeter, {patch.stem}", worktree(Path(temporary), patch), "llmmeter"))
            cpu: dict[str, list[float]] = {row: [] for row, _, _ in rows}
            for number in range(rounds):
                shift = number % len(rows)
                for row, tree, variant in rows[shift:] + rows[:shift]:
                    cpu[row].append(one_process(tree, suite, variant, calls))
    finally:  # the worktrees' folders are gone: forget them
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)
    median = {row: statistics.median(values) * 1e6 for row, values in cpu.items()}
    added = {row: value - median["bare"] for row, value in median.items()}
    references = [FLOOR, *official]
    print(f"\n{suite}: CPU per call, medians of {rounds} interleaved processes of {calls:,} calls")
    header = "".join(f"  / {reference[:22]:>22s}" for reference in references)
    print(f"  {'row':32s} {'µs':>8s} {'added':>8s}{header}")
    for row in cpu:
        ratios = "".join(f"  {added[row] / added[reference]:24.2f}" for reference in references)
        print(f"  {row:32s} {median[row]:8.1f} {added[row]:+8.1f}{ratios}")
    for patch in patches:
        row = f"llmmeter, {patch.stem}"
        print(f"  {patch.stem} saves {added['llmmeter'] - added[row]:+.1f} µs a call against HEAD")


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    args = sys.argv[1:]
    rounds = int(take_option(args, "--rounds") or ROUNDS)
    calls = int(take_option(args, "--calls") or CALLS)
    known = sorted(PATCHES.glob("*.patch"))
    chosen = take_option(args, "--patches")
    patches = known if chosen is None else [PATCHES / f"{name}.patch" for name in chosen.split(",")]
    missing = [patch.stem for patch in patches if patch not in known]
    if missing:
        sys.exit(f"no ablation {', '.join(missing)}; the ablations: {', '.join(p.stem for p in known)}")
    for suite in suites_asked(args, __doc__) or ["transport:chat"]:
        report(suite, patches, rounds, calls)


if __name__ == "__main__":
    main()
