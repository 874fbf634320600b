"""What the LangChain handler costs a ChatOpenAI.invoke, against a bare invoke, the OpenTelemetry floor
and OpenLLMetry's LangChain instrumentation, all measured in one run.

    .venv/bin/python -m benchmarks.bench_langchain

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

Same providers and measurement as ``bench_transport.py``: CPU (``time.process_time()``, all threads,
each round's span export included) and wall time per invoke, medians over rounds, and the added
time against ``bare``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx2
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult
from langchain_core.runnables import RunnableConfig
from langchain_openai import ChatOpenAI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
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
OPENLLMETRY_TARGET = 0.5


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


def chat_model() -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o",
        api_key=SecretStr("sk-bench"),
        base_url="https://api.openai.com/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(chat_handler)),
        max_retries=0,
    )


def invoke(*callbacks: BaseCallbackHandler) -> Callable[[], object]:
    model = chat_model()
    config: RunnableConfig = {"callbacks": list(callbacks)}
    return lambda: model.invoke("Say hi", config=config)


def openllmetry_call(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Callable[[], object]:
    """A plain invoke, with OpenLLMetry's LangChain instrumentation on for the whole process."""
    from opentelemetry.instrumentation.langchain import LangchainInstrumentor

    LangchainInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return invoke()


def setup(name: str, telemetry: Telemetry) -> tuple[Callable[[], object], TracerProvider]:
    """The named variant's call, built in its worker process with providers of its own."""
    tracer_provider, meter_provider = providers()
    # Resolve the model once, as in steady state.
    get_table().price_usage("gpt-4o-2024-08-06", llmmeter.Usage(input_tokens=1))
    if name == "bare":
        call = invoke()
    elif name == "noop handler":
        call = invoke(NoopHandler())
    elif name == "llmmeter":
        call = invoke(LLMMeterCallbackHandler(tracer_provider=tracer_provider, meter_provider=meter_provider))
    elif name == "OpenTelemetry floor":
        call = invoke(FloorHandler(FloorWriter(telemetry, tracer_provider, meter_provider)))
    elif name == EVERY_POINT_FLOOR:
        writer = FloorWriter(telemetry, tracer_provider, meter_provider, every_point=True)
        call = invoke(FloorHandler(writer))
    elif name == "OpenLLMetry":
        call = openllmetry_call(tracer_provider, meter_provider)
    else:
        raise ValueError(f"no variant {name!r}")
    return call, tracer_provider


def main() -> None:
    console = Console(width=130)
    # Resolve the model once, as in steady state.
    get_table().price_usage("gpt-4o-2024-08-06", llmmeter.Usage(input_tokens=1))

    def probe(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> object:
        handler = LLMMeterCallbackHandler(tracer_provider=tracer_provider, meter_provider=meter_provider)
        return invoke(handler)()

    telemetry = probe_telemetry(probe)
    console.print(
        versions(
            "langchain-core",
            "langchain-openai",
            "opentelemetry-sdk",
            "opentelemetry-instrumentation-langchain",
        )
    )
    console.print(f"llmmeter handler writes per invoke: {telemetry.summary()}")

    names = ["bare", "noop handler", "llmmeter", "OpenTelemetry floor", EVERY_POINT_FLOOR]
    if importlib.util.find_spec("opentelemetry.instrumentation.langchain") is not None:
        names.append("OpenLLMetry")
    variants = measure_interleaved(MODULE, names, telemetry, rounds=ROUNDS, calls=CALLS)
    console.print(
        variants_table(
            f"ChatOpenAI.invoke, MockTransport: median of {ROUNDS} rounds x {CALLS} invokes", variants
        )
    )
    added = {variant.name: variant.cpu_us - variants[0].cpu_us for variant in variants}
    ratios = targets_table("Targets (issue 10): added CPU per invoke")
    target_row(
        ratios, "llmmeter / OpenTelemetry floor", added["llmmeter"] / added["OpenTelemetry floor"], None
    )
    target_row(
        ratios,
        "llmmeter / floor with every point synchronous",
        added["llmmeter"] / added[EVERY_POINT_FLOOR],
        None,
    )
    if "OpenLLMetry" in added:
        target_row(
            ratios, "llmmeter / OpenLLMetry", added["llmmeter"] / added["OpenLLMetry"], OPENLLMETRY_TARGET
        )
    else:
        ratios.caption = "opentelemetry-instrumentation-langchain not installed: not measured"
    console.print(ratios)


if __name__ == "__main__":
    main()
