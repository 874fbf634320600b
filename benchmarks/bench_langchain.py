"""What the LangChain handler costs a ChatOpenAI.invoke, against a bare invoke, the OpenTelemetry floor
and OpenLLMetry's LangChain instrumentation, all measured in one run.

    .venv/bin/python -m benchmarks.bench_langchain [explicit] [plain]

langchain-openai's ChatOpenAI talks to an in-process ``httpx2.MockTransport`` (its client is not
metered: the handler alone writes the telemetry), so the figures are the instrumentation's cost, not
the network's. Variants, each in a worker process of its own, interleaved round by round (ROUNDS
rounds of CALLS invokes, one worker running at a time, the order rotating each round):

* ``bare``: no callbacks;
* ``noop handler``: a do-nothing callback handler (what LangChain itself spends on any handler);
* ``llmmeter``: ``LLMMeterCallbackHandler`` in the invoke's callbacks;
* ``OpenTelemetry floor``: a minimal callback handler writing, directly through the SDK, exactly the
  spans, span attributes and synchronous metric points the llmmeter handler writes for one invoke
  (read from one handler invoke at start-up, see ``benchmarks._common.probe_telemetry``): LangChain's
  callback cost plus the SDK's cost, the least a handler can spend;
* ``floor, every point synchronous``: the same, with the points of llmmeter's observable counters
  written as one synchronous add per call each (see ``bench_transport``);
* ``OpenLLMetry``: ``opentelemetry-instrumentation-langchain``'s ``LangchainInstrumentor``. It patches
  LangChain for the whole process and its ``uninstrument()`` leaves the patches in place, so it is
  instrumented once, in its own worker process, and takes its turn with the others.

Two setups (see :data:`SETUPS`), each measured on its own: ``explicit`` (gpt-4o, explicit providers,
a BatchSpanProcessor) and ``plain``, as an app has it (gpt-5.4 with cached and reasoning tokens, the
handler on the global providers, a SimpleSpanProcessor into an InMemorySpanExporter, 800 invokes
after 200 warm-up). Otherwise the same measurement as ``bench_transport.py``: CPU
(``time.process_time()``, all threads, each round's span export included) and wall time per invoke,
medians over rounds, and the added time against ``bare``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx2
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult
from langchain_core.runnables import RunnableConfig
from langchain_openai import ChatOpenAI
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span
from pydantic import SecretStr
from rich.console import Console

import llmmeter
from benchmarks._common import (
    EVERY_POINT_FLOOR,
    FloorWriter,
    Telemetry,
    chat_handler,
    measure_interleaved,
    probe_telemetry,
    providers,
    target_row,
    targets_table,
    variants_table,
    versions,
)
from llmmeter._pricing import get_table
from llmmeter_langchain import LLMMeterCallbackHandler

MODULE = "benchmarks.bench_langchain"
ROUNDS = 15
CALLS = 200
FLOOR_TARGET = 1.3
OPENLLMETRY_TARGET = 0.6


class NoopHandler(BaseCallbackHandler):
    """A handler that does nothing: LangChain's own cost of having one."""

    run_inline = True


class FloorHandler(BaseCallbackHandler):
    """Writes the probed telemetry from the model run's callbacks: spans started when the run starts
    (explicit parent, no context attached), attributes, points and ends when it ends."""

    run_inline = True

    def __init__(self, floor: FloorWriter) -> None:
        self._floor = floor
        self._runs: dict[UUID, list[Span]] = {}

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._runs[run_id] = self._floor.start()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        spans = self._runs.pop(run_id, None)
        if spans is not None:
            self._floor.finish(spans)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        for span in reversed(self._runs.pop(run_id, [])):
            span.end()


GPT54_BODY = json.dumps(
    {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-5.4-2026-03-05",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": 2000,
            "completion_tokens": 700,
            "total_tokens": 2700,
            "prompt_tokens_details": {"cached_tokens": 1500},
            "completion_tokens_details": {"reasoning_tokens": 400},
        },
        "service_tier": "default",
    }
).encode()
"""A gpt-5.4 reply with cached and reasoning tokens: the plain setup's."""


def gpt54_handler(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, headers={"content-type": "application/json"}, content=GPT54_BODY)


SETUPS = ("explicit", "plain")
"""``explicit``: gpt-4o, explicit providers with a BatchSpanProcessor, as bench_transport.
``plain``: as an app has it: ChatOpenAI(model="gpt-5.4") answering :data:`GPT54_BODY`, the handler
built without providers, on the process's global providers, spans through a SimpleSpanProcessor into
an InMemorySpanExporter."""
ROUNDS_BY_SETUP = {"explicit": (ROUNDS, CALLS, 500), "plain": (8, 100, 200)}
"""(rounds, invokes per round, warm-up invokes): the plain setup makes 800 invokes after 200."""


def chat_model(kind: str = "explicit") -> ChatOpenAI:
    if kind == "plain":
        return ChatOpenAI(
            model="gpt-5.4",
            api_key=SecretStr("sk-bench"),
            http_client=httpx2.Client(transport=httpx2.MockTransport(gpt54_handler)),
        )
    return ChatOpenAI(
        model="gpt-4o",
        api_key=SecretStr("sk-bench"),
        base_url="https://api.openai.com/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(chat_handler)),
        max_retries=0,
    )


def invoke(*callbacks: BaseCallbackHandler, kind: str = "explicit") -> Callable[[], object]:
    model = chat_model(kind)
    config: RunnableConfig = {"callbacks": list(callbacks)}
    return lambda: model.invoke("Say hi", config=config)


def plain_providers() -> tuple[TracerProvider, MeterProvider]:
    """Global providers, set as an app sets them: spans to an InMemorySpanExporter, synchronously."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider


def openllmetry_call(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, kind: str
) -> Callable[[], object]:
    """A plain invoke, with OpenLLMetry's LangChain instrumentation on for the whole process."""
    from opentelemetry.instrumentation.langchain import LangchainInstrumentor

    if kind == "plain":
        LangchainInstrumentor().instrument()
    else:
        LangchainInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return invoke(kind=kind)


def setup(name: str, data: tuple[str, Telemetry]) -> tuple[Callable[[], object], TracerProvider]:
    """The named variant's call in the setup named in ``data``, built in its worker process."""
    kind, telemetry = data
    tracer_provider, meter_provider = plain_providers() if kind == "plain" else providers()
    # Resolve the models once, as in steady state.
    get_table().price_usage("gpt-4o-2024-08-06", llmmeter.Usage(input_tokens=1))
    get_table().price_usage("gpt-5.4-2026-03-05", llmmeter.Usage(input_tokens=1))
    if name == "bare":
        call = invoke(kind=kind)
    elif name == "noop handler":
        call = invoke(NoopHandler(), kind=kind)
    elif name == "llmmeter":
        handler = (
            LLMMeterCallbackHandler()
            if kind == "plain"
            else LLMMeterCallbackHandler(tracer_provider=tracer_provider, meter_provider=meter_provider)
        )
        call = invoke(handler, kind=kind)
    elif name == "OpenTelemetry floor":
        call = invoke(FloorHandler(FloorWriter(telemetry, tracer_provider, meter_provider)), kind=kind)
    elif name == EVERY_POINT_FLOOR:
        writer = FloorWriter(telemetry, tracer_provider, meter_provider, every_point=True)
        call = invoke(FloorHandler(writer), kind=kind)
    elif name == "OpenLLMetry":
        call = openllmetry_call(tracer_provider, meter_provider, kind)
    else:
        raise ValueError(f"no variant {name!r}")
    return call, tracer_provider


def probe(kind: str) -> Telemetry:
    """What the handler writes for one invoke of the ``kind`` setup (the floor writes the same)."""

    def one_invoke(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> object:
        handler = LLMMeterCallbackHandler(tracer_provider=tracer_provider, meter_provider=meter_provider)
        return invoke(handler, kind=kind)()

    return probe_telemetry(one_invoke)


def measure_setup(console: Console, kind: str) -> None:
    """Measure every variant in the ``kind`` setup; print their times and the targets' ratios."""
    telemetry = probe(kind)
    console.print(f"llmmeter handler writes per invoke ({kind} setup): {telemetry.summary()}")
    names = ["bare", "noop handler", "llmmeter", "OpenTelemetry floor", EVERY_POINT_FLOOR]
    if importlib.util.find_spec("opentelemetry.instrumentation.langchain") is not None:
        names.append("OpenLLMetry")
    rounds, calls, warmup = ROUNDS_BY_SETUP[kind]
    variants = measure_interleaved(
        MODULE, names, (kind, telemetry), rounds=rounds, calls=calls, warmup=warmup
    )
    title = f"ChatOpenAI.invoke, {kind} setup, MockTransport: median of {rounds} rounds x {calls} invokes"
    console.print(variants_table(title, variants))
    added = {variant.name: variant.cpu_us - variants[0].cpu_us for variant in variants}
    ratios = targets_table(f"Targets (issue 22), {kind} setup: added CPU per invoke")
    ours = added["llmmeter"]
    target_row(ratios, "llmmeter / OpenTelemetry floor", ours / added["OpenTelemetry floor"], FLOOR_TARGET)
    target_row(ratios, "llmmeter / floor with every point synchronous", ours / added[EVERY_POINT_FLOOR], None)
    if "OpenLLMetry" in added:
        target_row(ratios, "llmmeter / OpenLLMetry", ours / added["OpenLLMetry"], OPENLLMETRY_TARGET)
    else:
        ratios.caption = "opentelemetry-instrumentation-langchain not installed: not measured"
    console.print(ratios)


def main() -> None:
    console = Console(width=130)
    console.print(
        versions(
            "langchain-core",
            "langchain-openai",
            "opentelemetry-sdk",
            "opentelemetry-instrumentation-langchain",
        )
    )
    for kind in [arg for arg in sys.argv[1:] if arg in SETUPS] or list(SETUPS):
        measure_setup(console, kind)


if __name__ == "__main__":
    main()
