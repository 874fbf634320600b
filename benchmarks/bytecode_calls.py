"""Python bytecodes per call of one variant, by part of the stack: deterministic from run to run.

    .venv/bin/python -m benchmarks.bytecode_calls SUITE VARIANT [GROUP]

SUITE and VARIANT as in ``benchmarks.callgrind_calls`` (``bedrock:converse llmmeter``). The variant
is built as its bench builds it, warmed up (WARMUP calls), then CALLS calls are traced with
``sys.settrace`` and ``f_trace_opcodes`` (every thread's: the BatchSpanProcessor's export too).
Printed: bytecodes per call in total and by group (``llmmeter``, ``otel-sdk``, ``otel-api``,
``bench``, ``other``); with GROUP, that group's functions executing at least 5 bytecodes per call,
most first. This sees only Python: C work (orjson, Decimal, dict building) is in the instruction
counts of ``callgrind_calls``.
"""

from __future__ import annotations

import collections
import importlib
import sys
import threading
from types import FrameType
from typing import Any

from benchmarks.callgrind_calls import SUITES

CALLS = 20
WARMUP = 300
Key = tuple[str, str, int]


def group(filename: str) -> str:
    """The part of the stack a code object's file belongs to."""
    if "/llmmeter/" in filename and "site-packages" not in filename:
        return "llmmeter"
    if "opentelemetry/sdk" in filename:
        return "otel-sdk"
    if "opentelemetry" in filename:
        return "otel-api"
    if "/benchmarks/" in filename:
        return "bench"
    return "other"


def count(suite: str, name: str) -> collections.Counter[Key]:
    """Bytecodes executed by each function over CALLS calls of the variant, after its warm-up."""
    module_name, case = SUITES[suite]
    module = importlib.import_module(module_name)
    if case is None:
        call, tracer_provider = module.setup(name, module.probe())
    else:
        if suite.startswith("gemini:"):
            name = f"{case} {name}"
        call, tracer_provider = module.setup(name, (case, module.probe(case)))
    for _ in range(WARMUP):
        call()
    tracer_provider.force_flush()
    counts: collections.Counter[Key] = collections.Counter()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        code = frame.f_code
        key = (code.co_filename, code.co_name, code.co_firstlineno)

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "opcode":
                counts[key] += 1
            return local

        return local

    threading.settrace(tracer)
    sys.settrace(tracer)
    try:
        for _ in range(CALLS):
            call()
        tracer_provider.force_flush()
    finally:
        sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]
    return counts


def main() -> None:
    suite, name = sys.argv[1], sys.argv[2]
    counts = count(suite, name)
    groups: collections.Counter[str] = collections.Counter()
    for (filename, _, _), value in counts.items():
        groups[group(filename)] += value
    by_group = {part: value // CALLS for part, value in sorted(groups.items())}
    print(suite, name, "total", sum(counts.values()) // CALLS, by_group)
    if len(sys.argv) > 3:
        for (filename, function, line), value in counts.most_common():
            if group(filename) == sys.argv[3] and value // CALLS >= 5:
                where = filename.split("site-packages/")[-1].split("/llmmeter/", 1)[-1]
                print(f"{value // CALLS:7d} {where}:{line} {function}")


if __name__ == "__main__":
    main()
