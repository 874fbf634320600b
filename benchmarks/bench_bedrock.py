"""What llmmeter's botocore capture point costs a boto3 Bedrock ``converse`` call, against a bare
call, the OpenTelemetry floor, OpenTelemetry's botocore instrumentation and OpenLLMetry's Bedrock
instrumentation, all measured in one run.

    .venv/bin/python -m benchmarks.bench_bedrock

A real boto3 ``bedrock-runtime`` client (fake credentials: requests are still signed) calls
``converse``; a ``before-send`` handler on the client answers with a fixed Converse body in process,
so the figures are botocore's and the instrumentations' cost, not the network's. Variants, each in
a worker process of its own, interleaved round by round (ROUNDS rounds of CALLS calls, one worker
running at a time, the order rotating each round):

* ``bare``: a plain client;
* ``llmmeter``: ``llmmeter.instrument()`` on;
* ``OpenTelemetry floor``: a plain client, each call wrapped in exactly the spans, span attributes
  and synchronous metric points llmmeter writes for it, written directly through the SDK, the span
  current while the request is signed and sent (read from one llmmeter call at start-up, see
  ``benchmarks._common.probe_telemetry`` and ``floor_call``);
* ``OpenTelemetry botocore``: ``opentelemetry-instrumentation-botocore``'s ``BotocoreInstrumentor``
  (its Bedrock extension writes GenAI attributes and metrics; no cost);
* ``OpenLLMetry bedrock``: ``opentelemetry-instrumentation-bedrock``'s ``BedrockInstrumentor``.

Every worker has the same providers (a BatchSpanProcessor exporting to a drop exporter, whose
thread's CPU counts; an InMemoryMetricReader never collected during the run). A round is
everything: its calls and the ``force_flush()`` exporting its spans. Printed per variant: CPU µs and
wall µs per call (``time.process_time()`` and ``time.perf_counter()``, medians over rounds) and what
each adds to ``bare``.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from rich.console import Console

import llmmeter
from benchmarks._common import (
    FloorWriter,
    Telemetry,
    floor_call,
    measure_interleaved,
    probe_telemetry,
    providers,
    variants_table,
    versions,
)
from llmmeter._pricing import get_table

MODULE = "benchmarks.bench_bedrock"
ROUNDS = 15
CALLS = 200
MODEL = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
MESSAGES: Any = [{"role": "user", "content": [{"text": "Say hi"}]}]
CONVERSE_BODY = json.dumps(
    {
        "output": {"message": {"role": "assistant", "content": [{"text": "Hi!"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 120, "outputTokens": 12, "totalTokens": 1132, "cacheReadInputTokens": 1000},
        "metrics": {"latencyMs": 250},
    }
).encode()
"""A small Converse response, as Bedrock would send it."""


class _Raw:
    """The raw body of an in-process answer, as botocore reads it."""

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield CONVERSE_BODY


def _answer(request: Any, **kwargs: Any) -> AWSResponse:
    headers = {"content-type": "application/json", "x-amzn-requestid": "bench"}
    return AWSResponse(request.url, 200, headers, _Raw())


def client() -> Any:
    """A boto3 bedrock-runtime client whose requests are answered in process, after signing."""
    made = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )
    made.meta.events.register("before-send.bedrock-runtime.Converse", _answer)
    return made


def converse_call(bedrock: Any) -> Callable[[], object]:
    return lambda: bedrock.converse(modelId=MODEL, messages=MESSAGES, inferenceConfig={"maxTokens": 100})


def setup(name: str, telemetry: Telemetry) -> tuple[Callable[[], object], TracerProvider]:
    """The named variant's call, built in its worker process with providers of its own."""
    tracer_provider, meter_provider = providers()
    get_table().price_usage(MODEL, llmmeter.Usage(input_tokens=1), provider="aws.bedrock")  # steady state
    if name == "bare":
        pass
    elif name == "llmmeter":
        llmmeter.instrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False
        )
    elif name == "OpenTelemetry floor":
        floor = FloorWriter(telemetry, tracer_provider, meter_provider)
        return floor_call(converse_call(client()), floor), tracer_provider
    elif name == "OpenTelemetry botocore":
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

        BotocoreInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    elif name == "OpenLLMetry bedrock":
        from opentelemetry.instrumentation.bedrock import BedrockInstrumentor

        BedrockInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    else:
        raise ValueError(f"no variant {name!r}")
    return converse_call(client()), tracer_provider


def probe() -> Telemetry:
    """What llmmeter writes for one converse call (the floor writes the same)."""

    def one_call(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> object:
        llmmeter.instrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False
        )
        try:
            return converse_call(client())()
        finally:
            llmmeter.uninstrument()

    return probe_telemetry(one_call)


def variant_names() -> list[str]:
    """The variants measured: bare, llmmeter, the floor and the peers installed."""
    names = ["bare", "llmmeter", "OpenTelemetry floor"]
    if importlib.util.find_spec("opentelemetry.instrumentation.botocore") is not None:
        names.append("OpenTelemetry botocore")
    if importlib.util.find_spec("opentelemetry.instrumentation.bedrock") is not None:
        names.append("OpenLLMetry bedrock")
    return names


def main() -> None:
    console = Console(width=130)
    get_table().price_usage(MODEL, llmmeter.Usage(input_tokens=1), provider="aws.bedrock")

    telemetry = probe()
    console.print(
        versions(
            "boto3",
            "botocore",
            "opentelemetry-sdk",
            "opentelemetry-instrumentation-botocore",
            "opentelemetry-instrumentation-bedrock",
        )
    )
    console.print(f"llmmeter writes per call: {telemetry.summary()}")
    variants = measure_interleaved(MODULE, variant_names(), telemetry, rounds=ROUNDS, calls=CALLS)
    console.print(
        variants_table(
            f"boto3 bedrock-runtime converse, answered in process: median of {ROUNDS} rounds x {CALLS} calls",
            variants,
        )
    )


if __name__ == "__main__":
    main()
