"""Instructions per call of each variant, counted by valgrind's callgrind: repeatable on a loaded machine.

    .venv/bin/python -m benchmarks.callgrind_calls [SUITE ...] [--only VARIANT,...] [--cycles]

SUITE is ``transport:chat``, ``transport:stream``, ``langchain:explicit``, ``langchain:plain``,
``gemini:chat``, ``gemini:stream`` (google-genai, bench_transport's Gemini rows), ``bedrock:converse``
(bench_bedrock) or ``aiohttp:chat`` (bench_aiohttp); default: all of these; or
``transport:bigprompt`` (a 1 MiB prompt: bare and llmmeter only, 20 calls after 10) or
``transport:stream-empty`` (the streamed call with no content chunk: against ``transport:stream``,
what a stream costs apart from its chunks, and what each chunk costs) or ``transport:network`` (the
non-streamed call with its body read as it arrives and an OpenAI answer's two dozen headers, where
``transport:chat``'s is built in memory with one). Each variant
of the suite (as the bench module builds it, see its ``setup``) runs in a fresh interpreter under
``valgrind --tool=callgrind --dump-before=os_getppid``: after its warm-up it calls ``os.getppid()``,
makes CALLS calls and flushes its spans, then calls it again, so callgrind's second dump holds
exactly the instructions of those calls (every thread's: the BatchSpanProcessor's export too),
start-up and warm-up left out. Printed: instructions per call,
what each variant adds to ``bare``, and llmmeter's added instructions against the floor's and the
peers'.

Wall and CPU timings on a shared 2-core machine move by 10-30% from run to run; instruction counts
move by well under 1%. They are not time (a cache miss costs more than an add), but what llmmeter
removes from its own path shows up in them one for one. ``--cycles`` also simulates the caches and
branch predictors (``--cache-sim=yes --branch-sim=yes``, several times slower) and compares the
variants by callgrind's estimate of cycles: instructions, plus 10 for each L1 miss and each
mispredicted branch, plus 100 for each last-level miss.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import EVERY_POINT_FLOOR

ROOT = Path(__file__).resolve().parent.parent
CALLS = 200
WARMUP = 300
SUITES = {
    "transport:chat": ("benchmarks.bench_transport", "chat"),
    "transport:stream": ("benchmarks.bench_transport", "stream"),
    "langchain:explicit": ("benchmarks.bench_langchain", "explicit"),
    "langchain:plain": ("benchmarks.bench_langchain", "plain"),
    "gemini:chat": ("benchmarks.bench_transport", "gemini"),
    "gemini:stream": ("benchmarks.bench_transport", "gemini stream"),
    "bedrock:converse": ("benchmarks.bench_bedrock", None),
    "aiohttp:chat": ("benchmarks.bench_aiohttp", None),
    "transport:bigprompt": ("benchmarks.bench_transport", "bigprompt"),
    "transport:stream-empty": ("benchmarks.bench_transport", "stream-empty"),
    "transport:network": ("benchmarks.bench_transport", "network"),
}
"""suite -> (bench module, case): ``setup(variant, (case, probe(case)))``, or ``setup(variant,
probe())`` for a module of one case (None)."""
DEFAULT_SUITES = tuple(
    suite
    for suite in SUITES
    if suite not in ("transport:bigprompt", "transport:stream-empty", "transport:network")
)
SUITE_CALLS = {"transport:bigprompt": (20, 10)}
"""(calls, warm-up) of the suites whose calls take milliseconds, instead of (CALLS, WARMUP)."""
ONLY_OURS = frozenset({"transport:bigprompt"})
"""Suites measured bare and with llmmeter only."""
FLOOR = "OpenTelemetry floor"


def variants(suite: str) -> list[str]:
    """The variants a suite measures, those of peers not installed left out."""
    if suite in ONLY_OURS:
        return ["bare", "llmmeter"]
    module_name, case = SUITES[suite]
    module = importlib.import_module(module_name)
    if suite.startswith("gemini:"):
        from benchmarks import _gemini

        return ["bare", "llmmeter", FLOOR, *_gemini.installed_peers()]
    if case is None:
        return list(module.variant_names())
    if module.__name__.endswith("bench_transport"):
        return ["bare", "llmmeter", FLOOR, EVERY_POINT_FLOOR, *module.peers()]
    names = ["bare", "llmmeter", FLOOR]
    if importlib.util.find_spec("opentelemetry.instrumentation.langchain") is not None:
        names.append("OpenLLMetry")
    return names


def build(suite: str, name: str) -> tuple[Callable[[], object], Any]:
    """The call of a suite's variant, built as its bench module builds it, and its tracer provider."""
    module_name, case = SUITES[suite]
    module = importlib.import_module(module_name)
    if case is None:
        data: Any = module.probe()
    else:
        if suite.startswith("gemini:"):
            name = f"{case} {name}"  # the Gemini rows' variants are named by mode
        data = (case, module.probe(case))
    built: tuple[Callable[[], object], Any] = module.setup(name, data)
    return built


def worker(suite: str, name: str) -> None:
    """Build the variant, warm it up, make its calls and flush between two dumps."""
    call, tracer_provider = build(suite, name)
    calls, warmup = SUITE_CALLS.get(suite, (CALLS, WARMUP))
    for _ in range(warmup):
        call()
    tracer_provider.force_flush()
    gc.collect()  # no full collection due from the warm-up lands among the counted calls
    os.getppid()  # callgrind dumps what came before
    for _ in range(calls):
        call()
    tracer_provider.force_flush()
    os.getppid()  # and here what the calls cost


def per_call(suite: str, name: str, *, simulate: bool = False) -> dict[str, float]:
    """What one call of a variant costs, all threads: callgrind's events per call (``Ir``, the
    instructions; with ``simulate``, its cache misses and mispredicted branches too)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        under_callgrind(out, "benchmarks.callgrind_calls", "--worker", suite, name, simulate=simulate)
        calls = SUITE_CALLS.get(suite, (CALLS, WARMUP))[0]
        return {event: total / calls for event, total in dump_events(Path(f"{out}.2")).items()}


def estimated_cycles(events: dict[str, float]) -> float:
    """Callgrind's estimate of the cycles that ``events`` (of a simulating run) take."""
    l1_misses = events["I1mr"] + events["D1mr"] + events["D1mw"]
    last_level_misses = events["ILmr"] + events["DLmr"] + events["DLmw"]
    mispredicted = events["Bcm"] + events["Bim"]
    return events["Ir"] + 10 * (l1_misses + mispredicted) + 100 * last_level_misses


def under_callgrind(out: Path, module: str, *args: str, simulate: bool = False) -> None:
    """Run ``python -m module args`` under callgrind, which writes ``out.N`` at each ``os.getppid()``:
    dump N holds what ran since the one before. ``simulate`` adds the cache and branch simulations."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--dump-before=os_getppid",
        *(["--cache-sim=yes", "--branch-sim=yes"] if simulate else []),
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        module,
        *args,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)


def dump_total(dump: Path) -> int:
    """The instructions a callgrind dump holds."""
    return dump_events(dump)["Ir"]


def dump_events(dump: Path) -> dict[str, int]:
    """The totals of each event a callgrind dump holds, by name (``Ir``, and ``I1mr``, ``Bcm``...
    when simulated)."""
    names: list[str] = []
    for line in dump.read_text().splitlines():
        if line.startswith("events:"):
            names = line.split()[1:]
        elif line.startswith("totals:"):
            return dict(zip(names, map(int, line.split()[1:]), strict=True))
    raise RuntimeError(f"no totals in {dump}")


def report(suite: str, only: list[str] | None, *, cycles: bool = False) -> None:
    calls, warmup = SUITE_CALLS.get(suite, (CALLS, WARMUP))
    measure = "estimated cycles" if cycles else "instructions"
    print(f"\n{suite}: {measure} per call (callgrind, {calls} calls after {warmup} warm-up)", flush=True)
    counts = {}
    for name in variants(suite):
        if only is not None and name not in only:  # --only names variants of any of the suites
            continue
        events = per_call(suite, name, simulate=cycles)
        if cycles:
            counts[name] = estimated_cycles(events)
            print(
                f"  {name:24s} {counts[name]:12,.0f}  (instructions {events['Ir']:,.0f}, L1 misses "
                f"{events['I1mr'] + events['D1mr'] + events['D1mw']:,.0f}, mispredicted branches "
                f"{events['Bcm'] + events['Bim']:,.0f})",
                flush=True,
            )
        else:
            counts[name] = events["Ir"]
            print(f"  {name:24s} {counts[name]:12,.0f}", flush=True)
    if "bare" not in counts:
        return
    added = {name: count - counts["bare"] for name, count in counts.items()}
    for name, count in added.items():
        print(f"  {name:24s} added {count:+12,.0f}")
    for name in counts:
        if name not in ("bare", "llmmeter") and "llmmeter" in counts:
            print(f"  llmmeter added / {name} added: {added['llmmeter'] / added[name]:.2f}")


def worker_result(module: str, *args: str, cwd: Path = ROOT) -> Any:
    """Run ``python -m module --worker args`` in a fresh interpreter (in ``cwd``, whose code it
    imports) and return what it printed last, as JSON."""
    command = [sys.executable, "-m", module, "--worker", *args]
    done = subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


def take_option(args: list[str], name: str) -> str | None:
    """The value given to option ``name`` on a command line, taken out of ``args``; None without it."""
    if name not in args:
        return None
    at = args.index(name)
    value = args[at + 1]
    del args[at : at + 2]
    return value


def only_variants(args: list[str]) -> list[str] | None:
    """The variants ``--only`` names (taken out of ``args``), comma-separated; None without it."""
    value = take_option(args, "--only")
    return None if value is None else re.split(r",(?! )", value)  # a name may hold ", "


def suites_asked(args: list[str], usage: str | None) -> list[str]:
    """The suites named on a command line (its options already taken out): ``usage`` printed and an
    exit for ``-h`` / ``--help``, an exit naming the known suites for an unknown one."""
    if "-h" in args or "--help" in args:
        print(usage)
        sys.exit(0)
    unknown = [arg for arg in args if arg not in SUITES]
    if unknown:
        sys.exit(f"unknown suite {', '.join(unknown)}; the suites: {', '.join(SUITES)}")
    return args


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], sys.argv[3])
        return
    args = sys.argv[1:]
    only = only_variants(args)
    cycles = "--cycles" in args
    if cycles:
        args.remove("--cycles")
    for suite in suites_asked(args, __doc__) or DEFAULT_SUITES:
        report(suite, only, cycles=cycles)


if __name__ == "__main__":
    main()
