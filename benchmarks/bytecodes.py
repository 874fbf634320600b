"""Python bytecodes per call of each variant, by part: where a metered call's work goes, exactly.

    .venv/bin/python -m benchmarks.bytecodes [SUITE ...] [--only VARIANT,...] [--top N]

SUITE is one of ``benchmarks.callgrind_calls``'s (``transport:chat``, ``transport:stream``,
``langchain:plain``, ``gemini:chat``, ``bedrock:converse``...; default ``transport:chat``). Each
variant, built as its bench module builds it in a fresh interpreter, makes WARMUP calls, then CALLS
calls under a ``sys.settrace`` hook counting every bytecode executed (``f_trace_opcodes``), in
every thread. The count does not move with the machine's load: it is the same from run to run.
It does not see what C code does (orjson, Decimal, dict building inside C functions, the
interpreter's own overhead per call): ``benchmarks.callgrind_calls`` counts that, as instructions.

Printed per variant: bytecodes per call, what it adds to ``bare``, and where they run (llmmeter by
part, the OpenTelemetry API and SDK, everything else); then, with ``--top N``, llmmeter's N
costliest functions.
"""

from __future__ import annotations

import collections
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from benchmarks.callgrind_calls import (
    ROOT,
    build,
    only_variants,
    suites_asked,
    take_option,
    variants,
    worker_result,
)

CALLS = 20
WARMUP = 300

PARTS = (
    ("llmmeter: capture", ("/llmmeter/_capture/", "/llmmeter_langchain/")),
    ("llmmeter: parse", ("/llmmeter/_providers/", "/llmmeter/_usage.py", "/llmmeter/_reported.py")),
    ("llmmeter: price", ("/llmmeter/_pricing/",)),
    ("llmmeter: record", ("/llmmeter/_telemetry/",)),
    ("llmmeter: budgets, tracking", ("/llmmeter/_budgets/", "/llmmeter/_tracking.py", "/llmmeter/_context")),
    ("llmmeter: other", ("/llmmeter/",)),
    ("OpenTelemetry SDK", ("/opentelemetry/sdk/",)),
    ("OpenTelemetry API", ("/opentelemetry/",)),
    ("benchmark", (str(ROOT / "benchmarks") + "/",)),
)
REST = "client, libraries, Python"


def part_of(filename: str) -> str:
    """The part of the call a code file belongs to."""
    if "site-packages/llmmeter" not in filename:  # an installed copy is not the code measured
        for part, markers in PARTS:
            if any(marker in filename for marker in markers):
                return part
    return REST


Key = tuple[str, str, int]
"""A code location: (file, function, first line)."""


@contextmanager
def counting_bytecodes() -> Iterator[collections.Counter[Key]]:
    """Count every bytecode executed inside the block, in every thread, by code location."""
    counts: collections.Counter[Key] = collections.Counter()

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        code = frame.f_code
        key = (code.co_filename, code.co_name, code.co_firstlineno)

        def opcode(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "opcode":
                counts[key] += 1
            return opcode

        return opcode

    threading.settrace(trace)
    sys.settrace(trace)
    try:
        yield counts
    finally:
        sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]


def worker(suite: str, name: str) -> None:
    """Count the bytecodes of CALLS calls of one variant; print them as JSON by code location."""
    call, tracer_provider = build(suite, name)
    for _ in range(WARMUP):
        call()
    tracer_provider.force_flush()
    with counting_bytecodes() as counts:
        for _ in range(CALLS):
            call()
        tracer_provider.force_flush()
    print(json.dumps([[*key, count] for key, count in counts.items()]))


def count(suite: str, name: str) -> collections.Counter[Key]:
    """Bytecodes per call of a variant, by (file, function, first line)."""
    found: collections.Counter[Key] = collections.Counter()
    for filename, function, line, total in worker_result("benchmarks.bytecodes", suite, name):
        found[(filename, function, line)] = total / CALLS
    return found


def report(suite: str, only: list[str] | None, top: int) -> None:
    print(f"\n{suite}: bytecodes per call ({CALLS} calls after {WARMUP} warm-up)")
    totals: dict[str, float] = {}
    for name in variants(suite):
        if only is not None and name not in only:  # --only names variants of any of the suites
            continue
        counts = count(suite, name)
        by_part: collections.Counter[str] = collections.Counter()
        for (filename, _, _), total in counts.items():
            by_part[part_of(filename)] += total
        totals[name] = sum(by_part.values())
        added = f" (added {totals[name] - totals['bare']:+,.0f})" if "bare" in totals else ""
        print(f"  {name:24s} {totals[name]:10,.0f}{added}")
        for part, total in sorted(by_part.items(), key=lambda item: -item[1]):
            if part != REST:
                print(f"      {part:32s} {total:8,.0f}")
        if name == "llmmeter" and top:
            ours = [(total, key) for key, total in counts.items() if part_of(key[0]).startswith("llmmeter")]
            for total, (filename, function, line) in sorted(ours, reverse=True)[:top]:
                where = filename.split("/llmmeter/")[-1] if "/llmmeter/" in filename else filename
                print(f"        {total:6,.0f}  {where}:{line} {function}")


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], sys.argv[3])
        return
    args = sys.argv[1:]
    only = only_variants(args)
    top = int(take_option(args, "--top") or 0)
    for suite in suites_asked(args, __doc__) or ["transport:chat"]:
        report(suite, only, top)


if __name__ == "__main__":
    main()
