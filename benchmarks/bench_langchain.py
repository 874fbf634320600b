"""How much the LangChain handler adds to a ChatOpenAI.invoke, measured against the bare call in one run.

    .venv/bin/python -m benchmarks.bench_langchain

langchain-openai's ChatOpenAI talks to an in-process httpx2 MockTransport, so the numbers are the
handler's cost, not the network's. Printed, as medians per call over interleaved rounds:

* bare: ChatOpenAI.invoke with no callbacks;
* noop handler: with a do-nothing callback handler (what LangChain itself adds for any handler);
* llmmeter: with ``LLMMeterCallbackHandler`` (the caller's path; spans and metric points are written
  on llmmeter's telemetry thread, flushed between rounds, as in ``bench_transport.py``);
* llmmeter incl. telemetry: the same, with the telemetry thread's work included (calls + flush, per call);
* opentelemetry-instrumentation-langchain (OpenLLMetry), when it can be imported, side by side.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx2
from langchain_core.callbacks import BaseCallbackHandler
from langchain_openai import ChatOpenAI
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr

import llmmeter
from benchmarks._common import chat_handler, providers, telemetry_thread_paused
from llmmeter_langchain import LLMMeterCallbackHandler

TARGET_US = 60.0


class NoopHandler(BaseCallbackHandler):
    """A handler that does nothing: LangChain's own cost of having one."""

    run_inline = True


def chat_model() -> ChatOpenAI:
    transport = httpx2.MockTransport(chat_handler)
    return ChatOpenAI(
        model="gpt-4o",
        api_key=SecretStr("sk-bench"),
        base_url="https://api.openai.com/v1",
        http_client=httpx2.Client(transport=transport),
        max_retries=0,
    )


Invoke = Callable[[], object]


def interleaved_medians(invokes: dict[str, Invoke], rounds: int = 20, calls: int = 250) -> dict[str, float]:
    """Median per-call time of each variant, taking turns call by call so that noise from other
    processes on the machine hits every variant alike."""
    samples: dict[str, list[float]] = {name: [] for name in invokes}
    for invoke in invokes.values():
        for _ in range(200):  # warm up
            invoke()
    timer = time.perf_counter
    for _ in range(rounds):
        for _ in range(calls):
            for name, invoke in invokes.items():
                start = timer()
                invoke()
                samples[name].append(timer() - start)
        llmmeter.flush()  # write the queued telemetry outside the timed calls
    return {name: statistics.median(values) for name, values in samples.items()}


def with_telemetry_per_call(
    invokes: dict[str, Invoke], rounds: int = 15, calls: int = 200
) -> dict[str, float]:
    """Median over rounds of (``calls`` invokes + flushing their telemetry) / ``calls``, per variant,
    the variants taking turns round by round."""
    results: dict[str, list[float]] = {name: [] for name in invokes}
    for _ in range(rounds):
        for name, invoke in invokes.items():
            llmmeter.flush()
            start = time.perf_counter()
            for _ in range(calls):
                invoke()
            llmmeter.flush()
            results[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(values) for name, values in results.items()}


def openllmetry_instrumentor() -> Any | None:
    """OpenLLMetry's LangChain instrumentor, if it can be imported (it is not a dependency)."""
    if importlib.util.find_spec("opentelemetry.instrumentation.langchain") is None:
        return None
    from opentelemetry.instrumentation.langchain import LangchainInstrumentor  # type: ignore[import-not-found]

    return LangchainInstrumentor()


def openllmetry_median(instrumentor: Any, tracer_provider: TracerProvider, invoke: Invoke) -> float:
    """Median per-call time with OpenLLMetry on. It patches LangChain for the whole process (and
    uninstrument() does not undo it), so it is timed last, after the interleaved variants."""
    instrumentor.instrument(tracer_provider=tracer_provider)
    return interleaved_medians({"openllmetry": invoke})["openllmetry"]


def main() -> None:
    tracer_provider, meter_provider = providers()
    model = chat_model()
    handler = LLMMeterCallbackHandler(tracer_provider=tracer_provider, meter_provider=meter_provider)
    noop = NoopHandler()
    invokes: dict[str, Invoke] = {
        "bare": lambda: model.invoke("Say hi"),
        "noop handler": lambda: model.invoke("Say hi", config={"callbacks": [noop]}),
        "llmmeter": lambda: model.invoke("Say hi", config={"callbacks": [handler]}),
    }
    with telemetry_thread_paused():
        medians = interleaved_medians(invokes)
    bare = medians["bare"]
    full = with_telemetry_per_call({"bare": invokes["bare"], "llmmeter": invokes["llmmeter"]})
    full_bare, full_llmmeter = full["bare"], full["llmmeter"]

    print(f"ChatOpenAI.invoke over an httpx2 MockTransport (python {sys.version.split()[0]})")
    print(f"  bare                          {bare * 1e6:8.1f} µs per call (median)")
    for name in ("noop handler", "llmmeter"):
        added, ratio = (medians[name] - bare) * 1e6, medians[name] / bare
        print(f"  {name:29s} {medians[name] * 1e6:8.1f} µs per call, +{added:6.1f} µs ({ratio:.2f}x)")
    added_full = (full_llmmeter - full_bare) * 1e6
    print(f"  llmmeter incl. telemetry      {full_llmmeter * 1e6:8.1f} µs per call, +{added_full:6.1f} µs")

    instrumentor = openllmetry_instrumentor()
    if instrumentor is None:
        print("  opentelemetry-instrumentation-langchain: not installed, not measured")
    else:
        otel = openllmetry_median(instrumentor, tracer_provider, invokes["bare"])
        added, ratio = (otel - bare) * 1e6, otel / bare
        name = "openllmetry (timed after)"
        print(f"  {name:29s} {otel * 1e6:8.1f} µs per call, +{added:6.1f} µs ({ratio:.2f}x)")

    added = (medians["llmmeter"] - bare) * 1e6
    verdict = "within" if added <= TARGET_US else "OVER"
    print(f"llmmeter adds {added:.1f} µs per invoke: {verdict} the {TARGET_US:.0f} µs target")


if __name__ == "__main__":
    main()
