"""Where a variant's CPU goes besides its own instructions: user and system time, the kernel's
context switches and page faults, and the garbage collector, per call.

    .venv/bin/python -m benchmarks.cpu_probe [SUITE] [--only VARIANT,...] [--calls N] [--repeat N]

SUITE is one of ``benchmarks.callgrind_calls``'s (default ``transport:chat``). Each variant, built
as its bench module builds it, runs in a fresh interpreter of its own: 300 calls of warm-up, then
CALLS calls (default 4,500) timed with ``resource.getrusage`` and watched by ``gc.callbacks``; the
variants take turns, REPEAT times (default 4). Printed per call: user and system CPU in µs,
voluntary context switches, minor page faults, and the garbage collector's collections (young,
middle, full) and CPU. A call's CPU spent in the kernel or the collector is not an instruction
that callgrind counts in the variant's own code; this tells whether that is where a gap lies.

A full collection comes once every several thousand calls, when the objects promoted since the last
outnumber a quarter of the heap: in 4,500 calls one variant may make one and another none for no
reason but its heap's size (a package more imported). Compare the collector over ``--calls 30000``.
"""

from __future__ import annotations

import gc
import json
import resource
import statistics
import sys
import time
from typing import Any

from benchmarks.callgrind_calls import (
    build,
    only_variants,
    suites_asked,
    take_option,
    variants,
    worker_result,
)

WARMUP = 300
CALLS = 4_500
REPEAT = 4
_MEDIANS = ("user_us", "system_us", "switches", "faults", "gc_us")
"""The figures printed as medians of the processes (the collections are summed)."""


def worker(suite: str, name: str, calls: int) -> None:
    """Build the variant, warm it up, then measure ``calls`` calls; prints the figures as JSON."""
    call, tracer_provider = build(suite, name)
    for _ in range(WARMUP):
        call()
    tracer_provider.force_flush()
    collections = [0, 0, 0]
    collecting = [0.0, 0.0, 0.0]
    started: dict[int, float] = {}

    def watch(phase: str, info: dict[str, Any]) -> None:
        generation = info["generation"]
        if phase == "start":
            started[generation] = time.process_time()
        else:
            collections[generation] += 1
            collecting[generation] += time.process_time() - started[generation]

    gc.callbacks.append(watch)
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(calls):
        call()
    after = resource.getrusage(resource.RUSAGE_SELF)
    gc.callbacks.remove(watch)
    print(
        json.dumps(
            {
                "user_us": (after.ru_utime - before.ru_utime) / calls * 1e6,
                "system_us": (after.ru_stime - before.ru_stime) / calls * 1e6,
                "switches": (after.ru_nvcsw - before.ru_nvcsw) / calls,
                "faults": (after.ru_minflt - before.ru_minflt) / calls,
                "collections": collections,
                "gc_us": sum(collecting) / calls * 1e6,
            }
        )
    )


def measure(suite: str, name: str, calls: int) -> dict[str, Any]:
    """One fresh interpreter's figures for a variant."""
    figures: dict[str, Any] = worker_result("benchmarks.cpu_probe", suite, name, str(calls))
    return figures


def report(suite: str, only: list[str] | None, calls: int, repeat: int) -> None:
    names = [name for name in variants(suite) if only is None or name in only]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for _ in range(repeat):
        for name in names:
            runs[name].append(measure(suite, name, calls))
    print(f"\n{suite}: per call, medians of {repeat} processes of {calls:,} calls after {WARMUP} warm-up")
    heading = (
        ("user µs", 9),
        ("system µs", 10),
        ("switches", 9),
        ("faults", 7),
        ("collections", 13),
        ("gc µs", 8),
    )
    print(f"  {'variant':24s}" + "".join(f" {title:>{width}s}" for title, width in heading))
    user: dict[str, float] = {}
    for name, figures in runs.items():
        median = {key: statistics.median(run[key] for run in figures) for key in _MEDIANS}
        user[name] = median["user_us"]
        collections = "/".join(str(sum(run["collections"][g] for run in figures)) for g in range(3))
        print(
            f"  {name:24s} {median['user_us']:9.1f} {median['system_us']:10.1f} {median['switches']:9.2f}"
            f" {median['faults']:7.2f} {collections:>13s} {median['gc_us']:8.1f}"
        )
    if "bare" in user and "llmmeter" in user:
        added = {name: value - user["bare"] for name, value in user.items()}
        for name in names:
            if name not in ("bare", "llmmeter") and added[name] > 0:
                print(f"  llmmeter's added user CPU / {name}'s: {added['llmmeter'] / added[name]:.2f}")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--worker"]:
        worker(args[1], args[2], int(args[3]))
        return
    only = only_variants(args)
    calls = int(take_option(args, "--calls") or CALLS)
    repeat = int(take_option(args, "--repeat") or REPEAT)
    for suite in suites_asked(args, __doc__) or ["transport:chat"]:
        report(suite, only, calls, repeat)


if __name__ == "__main__":
    main()
