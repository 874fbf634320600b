"""The Gemini rows of ``bench_transport``: google-genai's ``generate_content`` (non-streamed and streamed)
on an in-process ``httpx2.MockTransport``, bare, metered by llmmeter, and under the peers' instrumentations.

Variants are named ``"{mode} {variant}"``: mode ``gemini`` (non-streamed) or ``gemini stream``
(STREAM_CHUNKS chunks, each repeating the usage so far, as the API sends them); variant ``bare``,
``llmmeter`` (the SDK's httpx2 client on ``llmmeter.MeteredTransport``), ``OpenTelemetry floor`` (a
bare call wrapped in exactly the spans, span attributes and synchronous points llmmeter writes for
it, written through the SDK, the span current while the request is sent: see :func:`probe` and
``_common.floor_call``), ``OTel google-genai`` (the
official ``opentelemetry-instrumentation-google-genai``) or ``OpenLLMetry``
(``opentelemetry-instrumentation-google-generativeai``, which instruments google-genai). The peers
patch the SDK for the whole process; each variant runs in a worker of its own (see
``_common.measure_interleaved``).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from typing import Any, cast

import httpx2
from google import genai
from google.genai import types
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import llmmeter
from benchmarks._common import FloorWriter, Telemetry, floor_call, probe_telemetry

MODES = ("gemini", "gemini stream")
STREAM_CHUNKS = 20
MODEL = "gemini-2.5-flash"
FLOOR = "OpenTelemetry floor"
PEERS = {
    "OTel google-genai": "opentelemetry.instrumentation.google_genai",
    "OpenLLMetry": "opentelemetry.instrumentation.google_generativeai",
}


def _body(text: str, output_tokens: int, finish: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = "STOP"
    return {
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": 12,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": 12 + output_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}],
        },
        "modelVersion": MODEL,
        "responseId": "bench-1",
    }


RESPONSE = json.dumps(_body("Hello! How can I help you today?", 9, True)).encode()
CHUNKS = [
    b"data: " + json.dumps(_body("tok ", i + 1, i == STREAM_CHUNKS - 1)).encode() + b"\r\n\r\n"
    for i in range(STREAM_CHUNKS)
]


class _Chunks(httpx2.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield from CHUNKS


def handler(request: httpx2.Request) -> httpx2.Response:
    """Answers ``:generateContent`` with one body and ``:streamGenerateContent`` with SSE chunks."""
    if request.url.path.endswith(":streamGenerateContent"):
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=_Chunks())
    return httpx2.Response(200, headers={"content-type": "application/json"}, content=RESPONSE)


def client(transport: httpx2.BaseTransport) -> genai.Client:
    options = types.HttpOptions(
        base_url="https://generativelanguage.googleapis.com",
        httpx_client=httpx2.Client(transport=transport),
    )
    return genai.Client(api_key="bench-key", http_options=options)


def call_of(mode: str, sdk: genai.Client) -> Callable[[], object]:
    if mode == "gemini":
        return lambda: sdk.models.generate_content(model=MODEL, contents="Say hi")

    def streamed() -> object:
        for _ in sdk.models.generate_content_stream(model=MODEL, contents="Say hi"):
            pass
        return None

    return streamed


def installed_peers() -> list[str]:
    """The peer instrumentations installed here."""
    return [name for name, module in PEERS.items() if importlib.util.find_spec(module) is not None]


def probe(mode: str) -> Telemetry:
    """What llmmeter writes for one ``mode`` call (the floor writes the same)."""

    def one_call(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> object:
        return setup(f"{mode} llmmeter", None, tracer_provider, meter_provider)()

    return probe_telemetry(one_call)


def setup(
    name: str, telemetry: Telemetry | None, tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> Callable[[], object]:
    """The call of the variant ``name`` (``"{mode} {variant}"``), built in its worker process;
    ``telemetry`` is what the floor writes (see :func:`probe`)."""
    mode = "gemini stream" if name.startswith("gemini stream ") else "gemini"
    variant = name.removeprefix(mode + " ")
    inner = httpx2.MockTransport(handler)
    if variant == "bare":
        return call_of(mode, client(inner))
    if variant == FLOOR:
        if telemetry is None:
            raise ValueError("the floor needs the telemetry llmmeter writes")
        return floor_call(
            call_of(mode, client(inner)), FloorWriter(telemetry, tracer_provider, meter_provider)
        )
    if variant == "llmmeter":
        metered = llmmeter.MeteredTransport(
            inner, tracer_provider=tracer_provider, meter_provider=meter_provider
        )
        return call_of(mode, client(cast(httpx2.BaseTransport, metered)))
    if variant == "OTel google-genai":
        from opentelemetry.instrumentation.google_genai import GoogleGenAiSdkInstrumentor

        # It declares google-genai < 3; the 3.x client keeps the methods it wraps.
        GoogleGenAiSdkInstrumentor().instrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider, skip_dep_check=True
        )
        return call_of(mode, client(inner))
    if variant == "OpenLLMetry":
        from opentelemetry.instrumentation.google_generativeai import GoogleGenerativeAiInstrumentor

        GoogleGenerativeAiInstrumentor().instrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider
        )
        return call_of(mode, client(inner))
    raise ValueError(f"no variant {name!r}")


# --- Per streamed chunk ----------------------------------------------------------------------------

LONG_STREAM_CHUNKS = 20_000
_LONG_CHUNK = CHUNKS[0]
_LAST_CHUNK = CHUNKS[-1]
STREAM_URL = f"https://generativelanguage.googleapis.com/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"


class _LongStream(httpx2.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        for _ in range(LONG_STREAM_CHUNKS - 1):
            yield _LONG_CHUNK
        yield _LAST_CHUNK


def _long_handler(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=_LongStream())


def per_chunk(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, runs: int = 9
) -> dict[str, float]:
    """CPU µs per chunk of a bare and a metered raw httpx2 client reading a long Gemini stream
    (every chunk carrying usage, as Gemini's do), medians over interleaved runs."""
    import gc
    import statistics
    import time

    inner = httpx2.MockTransport(_long_handler)
    metered = llmmeter.MeteredTransport(inner, tracer_provider=tracer_provider, meter_provider=meter_provider)
    clients = {"bare": httpx2.Client(transport=inner), "llmmeter": httpx2.Client(transport=metered)}
    body = {"contents": [{"role": "user", "parts": [{"text": "Say hi"}]}]}

    def read(http: httpx2.Client) -> None:
        with http.stream("POST", STREAM_URL, json=body) as response:
            for _ in response.iter_raw():
                pass

    samples: dict[str, list[float]] = {name: [] for name in clients}
    for http in clients.values():
        read(http)
    for _ in range(runs):
        for name, http in clients.items():
            gc.collect()
            start = time.process_time()
            read(http)
            tracer_provider.force_flush()
            samples[name].append(time.process_time() - start)
    return {name: statistics.median(values) / LONG_STREAM_CHUNKS * 1e6 for name, values in samples.items()}
