"""Where a metered call spends its time: cProfile over many calls, llmmeter's share.

    .venv/bin/python -m benchmarks.profile_calls [transport|langchain] [calls]

Makes ``calls`` (default 2,000) metered calls over a MockTransport after a warm-up, under cProfile:
openai SDK ``chat.completions.create`` through ``MeteredTransport`` (``transport``, the default) or
``ChatOpenAI.invoke`` with ``LLMMeterCallbackHandler`` (``langchain``). Prints llmmeter's own
functions by cumulative time and by own time, then the OpenTelemetry SDK's functions by own time
(what llmmeter's telemetry costs inside the SDK). Times are per call, in µs; cProfile inflates
them, so read them as proportions.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from pathlib import Path
from typing import Any

import httpx2

import llmmeter
import llmmeter_langchain
from benchmarks._common import chat_handler, providers
from benchmarks.bench_langchain import invoke
from benchmarks.bench_transport import chat_call, metered, sdk_client
from llmmeter._pricing import get_table
from llmmeter_langchain import LLMMeterCallbackHandler

TOP = 15
OURS = (str(Path(llmmeter.__file__).parent) + "/", str(Path(llmmeter_langchain.__file__).parent) + "/")
SDK = ("/opentelemetry/sdk/",)

Entry = tuple[str, int, int, float, float]
"""(function, line, calls, own seconds, cumulative seconds)"""


def entries(stats: pstats.Stats, inside: tuple[str, ...]) -> list[Entry]:
    """The profiled functions whose file path contains one of ``inside``."""
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    found = []
    for (filename, line, function), (_, calls, own, cumulative, _) in raw.items():
        if any(part in filename for part in inside):
            name = f"{Path(filename).name}:{function}"
            found.append((name, line, calls, own, cumulative))
    return found


def print_top(title: str, rows: list[Entry], key: int, calls: int) -> None:
    print(f"\n{title}")
    print(f"  {'function':58s} {'calls/call':>10s} {'own µs':>8s} {'cum µs':>8s}")
    for name, line, count, own, cumulative in sorted(rows, key=lambda row: row[key], reverse=True)[:TOP]:
        label = f"{name} (line {line})"
        print(f"  {label:58s} {count / calls:10.1f} {own / calls * 1e6:8.2f} {cumulative / calls * 1e6:8.2f}")


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "transport"
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000
    tracer_provider, meter_provider = providers()
    get_table().price_usage("gpt-4o-2024-08-06", llmmeter.Usage(input_tokens=1))
    if kind == "transport":
        call = chat_call(
            sdk_client(metered(httpx2.MockTransport(chat_handler), tracer_provider, meter_provider))
        )
    elif kind == "langchain":
        call = invoke(LLMMeterCallbackHandler(tracer_provider=tracer_provider, meter_provider=meter_provider))
    else:
        raise SystemExit(f"unknown kind {kind!r}: transport or langchain")
    for _ in range(500):
        call()
    tracer_provider.force_flush()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        call()
    tracer_provider.force_flush()
    profile.disable()
    stats = pstats.Stats(profile)
    total: float = stats.total_tt  # type: ignore[attr-defined]
    print(f"{calls:,} metered {kind} calls, {total / calls * 1e6:.1f} µs per call under cProfile (all code)")
    ours = entries(stats, OURS)
    sdk = entries(stats, SDK)
    for label, rows in (("llmmeter's own code", ours), ("OpenTelemetry SDK code", sdk)):
        own = sum(row[3] for row in rows)
        print(f"  {label}: {own / calls * 1e6:.1f} µs own time per call ({own / total:.0%})")
    print_top("llmmeter functions by cumulative time", ours, key=4, calls=calls)
    print_top("llmmeter functions by own time", ours, key=3, calls=calls)
    print_top("OpenTelemetry SDK functions by own time", sdk, key=3, calls=calls)
    tracer_provider.shutdown()


if __name__ == "__main__":
    main()
