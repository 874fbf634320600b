"""What llmmeter's transport costs an openai SDK call, against a bare call, the OpenTelemetry floor,
the official OpenTelemetry instrumentation and OpenLLMetry, all measured in one run.

    .venv/bin/python -m benchmarks.bench_transport [chat] [stream] [--no-extras]
    .venv/bin/python -m benchmarks.bench_transport gemini   # only the google-genai rows
    .venv/bin/python -m benchmarks.bench_transport bigprompt   # only a 1 MiB prompt (see _bigprompt)

Two cases, each measured on its own: ``client.chat.completions.create`` non-streamed (``chat``) and
streamed with usage, read to its end (``stream``, SDK_STREAM_CHUNKS content chunks). The client
talks to an in-process ``httpx2.MockTransport`` answering a fixed body, so the figures are the
instrumentation's cost, not the network's.
Variants, each in a worker process of its own, interleaved round by round (ROUNDS rounds of CALLS
calls, one worker running at a time, the order rotating each round):

* ``bare``: a plain client;
* ``llmmeter``: the client's transport is ``llmmeter.MeteredTransport``;
* ``OpenTelemetry floor``: a plain client, each call wrapped in exactly the spans, span attributes
  and synchronous metric points llmmeter writes for it, written directly through the SDK, the span
  current while the request is sent (read from one llmmeter call at start-up, see
  ``benchmarks._common.probe_telemetry``);
* ``floor, every point synchronous``: the same, with the points of llmmeter's observable counters
  (``llmmeter.cost``, ``llmmeter.tokens``, pre-aggregated in process) written as one synchronous add
  per call each, as a conventional instrumentation reports the same data;
* ``OTel openai-v2``: ``opentelemetry-instrumentation-openai-v2``, the official OpenTelemetry
  instrumentation (with the ``opentelemetry-util-genai`` it works with, pinned in requirements.txt),
  instrumenting a plain client, once, in its own worker process (it patches the openai module);
* ``OpenLLMetry``: ``opentelemetry-instrumentation-openai`` instrumenting a plain client. It patches
  the openai module for the whole process and its ``uninstrument()`` does not remove the patches
  (instrumenting again stacks a second wrapper), so neither instrumenting around its rounds nor a
  phase in the same process is clean: it is instrumented once, in its own worker process, and takes
  its turn with the others.

Every worker has the same providers: a BatchSpanProcessor exporting to a drop exporter (its thread's
CPU counts: ``time.process_time()`` covers all threads) and an InMemoryMetricReader, never collected
during the run. A round is everything: its calls and the ``force_flush()`` exporting its spans.
Printed per variant: CPU µs and wall µs per call (medians over rounds) and what each adds to
``bare``; then the targets' ratios. Unless ``--no-extras``: the added time per streamed chunk (raw
httpx2 client, bare against metered) and the memory growth over MEMORY_CALLS calls (tracemalloc,
after a warm-up), measured in this process.
"""

from __future__ import annotations

import gc
import importlib.util
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any, cast

import httpx2
import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from rich.console import Console

import llmmeter
from benchmarks import _bigprompt, _gemini
from benchmarks._common import (
    CHAT_BODY,
    EVERY_POINT_FLOOR,
    DropExporter,
    FloorWriter,
    Telemetry,
    chat_handler,
    floor_call,
    measure_interleaved,
    probe_telemetry,
    providers,
    target_row,
    targets_table,
    variants_table,
    versions,
)
from llmmeter._pricing import get_table

MODULE = "benchmarks.bench_transport"
ROUNDS = 15
CALLS = 300
STREAM_CHUNKS = 20_000
MEMORY_CALLS = 20_000
SDK_STREAM_CHUNKS = 20
"""Content chunks of the streamed SDK case (then a finish chunk, a usage chunk and [DONE])."""

FLOOR_TARGET = 1.3
OPENAI_V2_TARGET = 1.0
OPENLLMETRY_TARGET = 0.2
CHUNK_TARGET_US = 2.0
FLAT_BYTES_PER_CALL = 10.0
"""Growth over the second half of the memory run below this many bytes per call counts as flat."""

OPENAI_V2 = "OTel openai-v2"
"""``opentelemetry-instrumentation-openai-v2``, the official OpenTelemetry instrumentation."""
CASES = ("chat", "stream")
"""The SDK calls measured: a non-streamed chat completion, and a streamed one read to its end."""

MESSAGES: Any = [{"role": "user", "content": "Say hi"}]

GEMINI_PEERS = ("google-genai", "google-generativeai")


def sdk_client(transport: httpx2.BaseTransport) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-bench",
        base_url="https://api.openai.com/v1",
        http_client=httpx2.Client(transport=transport),
    )


def metered(
    inner: httpx2.BaseTransport, tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> httpx2.BaseTransport:
    transport = llmmeter.MeteredTransport(
        inner, tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    return cast(httpx2.BaseTransport, transport)  # it is one: the wrapped library's BaseTransport


def chat_call(client: openai.OpenAI) -> Callable[[], object]:
    return lambda: client.chat.completions.create(model="gpt-4o", messages=MESSAGES)


def stream_call(client: openai.OpenAI) -> Callable[[], object]:
    """A streamed chat completion with usage, read to its end as an app reads it."""

    def call() -> object:
        stream = client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        for _ in stream:
            pass
        return stream

    return call


def sdk_stream_handler(request: httpx2.Request) -> httpx2.Response:
    """A MockTransport handler answering every request with a streamed chat completion."""
    return httpx2.Response(
        200, headers={"content-type": "text/event-stream"}, stream=ChunkStream(SDK_STREAM_CHUNKS)
    )


OPENAI_HEADERS = {
    "date": "Mon, 07 Dec 2026 21:00:00 GMT",
    "content-type": "application/json",
    "transfer-encoding": "chunked",
    "connection": "keep-alive",
    "access-control-expose-headers": "X-Request-ID",
    "openai-organization": "org-bench",
    "openai-processing-ms": "412",
    "openai-project": "proj_bench",
    "openai-version": "2020-10-01",
    "x-envoy-upstream-service-time": "415",
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-limit-tokens": "30000000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-remaining-tokens": "29999990",
    "x-ratelimit-reset-requests": "6ms",
    "x-ratelimit-reset-tokens": "0s",
    "x-request-id": "req_bench",
    "strict-transport-security": "max-age=31536000; includeSubDomains; preload",
    "cf-cache-status": "DYNAMIC",
    "set-cookie": "__cf_bm=bench; path=/; HttpOnly; Secure; SameSite=None",
    "x-content-type-options": "nosniff",
    "server": "cloudflare",
    "cf-ray": "0000000000000000-SJC",
    "alt-svc": 'h3=":443"; ma=86400',
}
"""The headers of an OpenAI answer: those its API reference lists (``openai-*``, ``x-request-id``,
``x-ratelimit-*``: platform.openai.com/docs/api-reference/debugging-requests) and those of the HTTP
and CDN layers in front of it."""


def network_handler(request: httpx2.Request) -> httpx2.Response:
    """The non-streamed answer as the network delivers it (``network``): the body read as it
    arrives, with an OpenAI answer's two dozen headers (the ``chat`` case's body is built in memory,
    with one header)."""
    return httpx2.Response(200, headers=OPENAI_HEADERS, stream=httpx2.ByteStream(CHAT_BODY))


def sdk_empty_stream_handler(request: httpx2.Request) -> httpx2.Response:
    """A streamed chat completion of no content chunk: its finish, usage and [DONE] events only
    (``stream-empty``: with ``stream``, what a streamed call costs apart from its chunks)."""
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=ChunkStream(0))


HANDLERS = {
    "chat": chat_handler,
    "stream": sdk_stream_handler,
    "stream-empty": sdk_empty_stream_handler,
    "network": network_handler,
    "bigprompt": chat_handler,
}
CALLS_BY_CASE = {
    "chat": chat_call,
    "stream": stream_call,
    "stream-empty": stream_call,
    "network": chat_call,
    "bigprompt": _bigprompt.call,
}


def case_call(case: str, client: openai.OpenAI) -> Callable[[], object]:
    """The ``case`` call (``chat`` or ``stream``) made with ``client``."""
    return CALLS_BY_CASE[case](client)


def peer_call(
    name: str, case: str, tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> Callable[[], object]:
    """A plain client's call, with a peer's openai instrumentation on for the whole process."""
    if name == OPENAI_V2:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as Official

        Official().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    else:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return case_call(case, plain(case))


def plain(case: str = "chat") -> openai.OpenAI:
    return sdk_client(httpx2.MockTransport(HANDLERS[case]))


def metered_client(
    case: str, tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> openai.OpenAI:
    return sdk_client(metered(httpx2.MockTransport(HANDLERS[case]), tracer_provider, meter_provider))


def setup(name: str, data: tuple[str, Telemetry]) -> tuple[Callable[[], object], TracerProvider]:
    """The named variant's call for the case in ``data``, built in its worker process with
    providers of its own."""
    case, telemetry = data
    tracer_provider, meter_provider = providers()
    # Resolve the model once, as in steady state.
    get_table().price_usage("gpt-4o-2024-08-06", llmmeter.Usage(input_tokens=1))
    if name == "bare":
        call = case_call(case, plain(case))
    elif name == "llmmeter":
        call = case_call(case, metered_client(case, tracer_provider, meter_provider))
    elif name == "OpenTelemetry floor":
        call = floor_call(
            case_call(case, plain(case)), FloorWriter(telemetry, tracer_provider, meter_provider)
        )
    elif name == EVERY_POINT_FLOOR:
        writer = FloorWriter(telemetry, tracer_provider, meter_provider, every_point=True)
        call = floor_call(case_call(case, plain(case)), writer)
    elif name in (OPENAI_V2, "OpenLLMetry"):
        call = peer_call(name, case, tracer_provider, meter_provider)
    elif name.startswith("gemini "):
        call = _gemini.setup(name, telemetry, tracer_provider, meter_provider)
    else:
        raise ValueError(f"no variant {name!r}")
    return call, tracer_provider


def probe(case: str) -> Telemetry:
    """What llmmeter writes for one ``case`` call (the floor writes the same); ``case`` may also be
    one of the Gemini modes (``_gemini.MODES``)."""
    if case in _gemini.MODES:
        return _gemini.probe(case)

    def one_call(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> object:
        return case_call(case, metered_client(case, tracer_provider, meter_provider))()

    return probe_telemetry(one_call)


def peers() -> list[str]:
    """The peer instrumentations installed (see benchmarks/requirements.txt)."""
    found = []
    if importlib.util.find_spec("opentelemetry.instrumentation.openai_v2") is not None:
        found.append(OPENAI_V2)
    if importlib.util.find_spec("opentelemetry.instrumentation.openai") is not None:
        found.append("OpenLLMetry")
    return found


# --- Streaming and memory -------------------------------------------------------------------------

CHUNK = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o",'
    b'"choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}],"usage":null}\n\n'
)
LAST_CHUNKS = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o",'
    b'"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],'
    b'"usage":{"prompt_tokens":10,"completion_tokens":%d,"total_tokens":%d}}\n\n'
    b"data: [DONE]\n\n"
)


class ChunkStream(httpx2.SyncByteStream):
    """A chat completion SSE stream of ``count`` content chunks, then the finish and usage chunks."""

    def __init__(self, count: int) -> None:
        self._count = count

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self._count):
            yield CHUNK
        yield LAST_CHUNKS % (self._count, 10 + self._count)


def stream_client(count: int, wrap: Callable[[httpx2.BaseTransport], httpx2.BaseTransport]) -> httpx2.Client:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=ChunkStream(count))

    return httpx2.Client(transport=wrap(httpx2.MockTransport(handler)))


def read_stream(client: httpx2.Client) -> None:
    body = {"model": "gpt-4o", "messages": [], "stream": True}
    with client.stream("POST", "https://api.openai.com/v1/chat/completions", json=body) as response:
        for _ in response.iter_raw():
            pass


def per_chunk(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, runs: int = 9
) -> dict[str, tuple[float, float]]:
    """(CPU µs, wall µs) per chunk of a bare and a metered raw httpx2 client reading a long stream,
    medians over interleaved runs."""
    clients = {
        "bare": stream_client(STREAM_CHUNKS, lambda t: t),
        "llmmeter": stream_client(STREAM_CHUNKS, lambda t: metered(t, tracer_provider, meter_provider)),
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
    for client in clients.values():
        read_stream(client)
    for _ in range(runs):
        for name, client in clients.items():
            gc.collect()
            cpu, wall = time.process_time(), time.perf_counter()
            read_stream(client)
            tracer_provider.force_flush()
            samples[name].append((time.process_time() - cpu, time.perf_counter() - wall))
    return {
        name: (
            statistics.median(cpu for cpu, _ in values) / STREAM_CHUNKS * 1e6,
            statistics.median(wall for _, wall in values) / STREAM_CHUNKS * 1e6,
        )
        for name, values in samples.items()
    }


def memory_growth(build: Callable[[TracerProvider, MeterProvider], Callable[[], object]]) -> tuple[int, int]:
    """Traced memory growth (bytes) over MEMORY_CALLS calls, and over their second half, after a
    warm-up; garbage collected before each reading.

    Spans go through a SimpleSpanProcessor to a drop exporter: tracemalloc slows the calls enough
    for a BatchSpanProcessor's queue to overflow, and a queue's content is not a leak.
    """
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(DropExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    call = build(tracer_provider, meter_provider)
    for _ in range(1_000):
        call()

    def settled() -> int:
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        start = settled()
        for _ in range(MEMORY_CALLS // 2):
            call()
        half = settled()
        for _ in range(MEMORY_CALLS - MEMORY_CALLS // 2):
            call()
        end = settled()
    finally:
        tracemalloc.stop()
        tracer_provider.shutdown()
        meter_provider.shutdown()
    return end - start, end - half


def stream_memory_peak(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> int:
    """Peak traced memory above the baseline while reading one metered stream of 100,000 chunks."""
    client = stream_client(100_000, lambda t: metered(t, tracer_provider, meter_provider))
    read_stream(client)
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        read_stream(client)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - baseline


# --- Report ---------------------------------------------------------------------------------------


def measure_case(console: Console, case: str) -> None:
    """Measure every variant on ``case`` calls, and print their times and the targets' ratios."""
    telemetry = probe(case)
    console.print(f"llmmeter writes per {case} call: {telemetry.summary()}")
    names = ["bare", "llmmeter", "OpenTelemetry floor", EVERY_POINT_FLOOR, *peers()]
    variants = measure_interleaved(MODULE, names, (case, telemetry), rounds=ROUNDS, calls=CALLS)
    what = (
        "chat.completions.create" if case == "chat" else f"streamed chat ({SDK_STREAM_CHUNKS} chunks, usage)"
    )
    console.print(
        variants_table(
            f"openai SDK {what}, MockTransport: median of {ROUNDS} rounds x {CALLS} calls", variants
        )
    )
    ratios = targets_table(f"Targets (issue 22), {case}: added CPU per call (median rounds; lowest rounds)")
    for label, cpu in (("", lambda v: v.cpu_us), (" (lowest)", lambda v: v.cpu_lowest_us)):
        added = {variant.name: cpu(variant) - cpu(variants[0]) for variant in variants}
        ours = added["llmmeter"]
        target_row(ratios, f"llmmeter / floor{label}", ours / added["OpenTelemetry floor"], FLOOR_TARGET)
        target_row(
            ratios, f"llmmeter / floor, every point synchronous{label}", ours / added[EVERY_POINT_FLOOR], None
        )
        if OPENAI_V2 in added:
            target_row(ratios, f"llmmeter / {OPENAI_V2}{label}", ours / added[OPENAI_V2], OPENAI_V2_TARGET)
        if "OpenLLMetry" in added:
            target_row(
                ratios, f"llmmeter / OpenLLMetry{label}", ours / added["OpenLLMetry"], OPENLLMETRY_TARGET
            )
    if not peers():
        ratios.caption = "no peer instrumentation installed (benchmarks/requirements.txt): not measured"
    console.print(ratios)


def main() -> None:
    console = Console(width=130)
    # Resolve the model once, as in steady state.
    get_table().price_usage("gpt-4o-2024-08-06", llmmeter.Usage(input_tokens=1))
    console.print(
        versions(
            "openai",
            "opentelemetry-sdk",
            "opentelemetry-instrumentation-openai-v2",
            "opentelemetry-util-genai",
            "opentelemetry-instrumentation-openai",
        )
    )
    cases = [arg for arg in sys.argv[1:] if arg in CASES] or list(CASES)
    for case in cases:
        measure_case(console, case)
    if "--no-extras" in sys.argv:
        return

    tracer_provider, meter_provider = providers()
    chunks = per_chunk(tracer_provider, meter_provider)
    bare_growth, _ = memory_growth(lambda tracer, meter: chat_call(plain()))
    growth, second_half = memory_growth(
        lambda tracer, meter: chat_call(metered_client("chat", tracer, meter))
    )
    stream_peak = stream_memory_peak(tracer_provider, meter_provider)
    half = MEMORY_CALLS - MEMORY_CALLS // 2
    other = targets_table("Streaming (raw httpx2 client, chat SSE) and memory")
    bare_cpu, bare_wall = chunks["bare"]
    target_row(
        other,
        f"bare CPU / wall µs per chunk ({STREAM_CHUNKS:,} chunks)",
        0,
        None,
        f"{bare_cpu:.2f} / {bare_wall:.2f}",
    )
    target_row(other, "llmmeter added CPU µs per chunk", chunks["llmmeter"][0] - bare_cpu, CHUNK_TARGET_US)
    target_row(other, "llmmeter added wall µs per chunk", chunks["llmmeter"][1] - bare_wall, None)
    target_row(
        other,
        f"memory growth over {MEMORY_CALLS:,} bare calls",
        bare_growth / 1024,
        None,
        f"{bare_growth / 1024:+.1f} KiB ({bare_growth / MEMORY_CALLS:+.1f} B/call)",
    )
    target_row(
        other,
        f"memory growth over {MEMORY_CALLS:,} metered calls",
        growth / 1024,
        None,
        f"{growth / 1024:+.1f} KiB ({growth / MEMORY_CALLS:+.1f} B/call)",
    )
    target_row(
        other,
        f"  of which over the last {half:,} calls",
        second_half / half,
        FLAT_BYTES_PER_CALL,
        f"{second_half / 1024:+.1f} KiB ({second_half / half:+.1f} B/call)",
    )
    target_row(
        other, "peak memory reading a 100,000-chunk metered stream", 0, None, f"{stream_peak / 1024:.1f} KiB"
    )
    console.print(other)
    gemini_report(console, tracer_provider, meter_provider)
    tracer_provider.shutdown()
    meter_provider.shutdown()


def gemini_report(console: Console, tracer_provider: TracerProvider, meter_provider: MeterProvider) -> None:
    """The Gemini rows: google-genai non-streamed and streamed, bare, llmmeter, the OpenTelemetry floor
    and the installed peers, held to the openai rows' targets."""
    console.print(versions("google-genai", *(f"opentelemetry-instrumentation-{p}" for p in GEMINI_PEERS)))
    for mode in _gemini.MODES:
        telemetry = probe(mode)
        console.print(f"llmmeter writes per {mode} call: {telemetry.summary()}")
        peers = _gemini.installed_peers()
        names = [f"{mode} {variant}" for variant in ("bare", "llmmeter", _gemini.FLOOR, *peers)]
        variants = measure_interleaved(MODULE, names, (mode, telemetry), rounds=ROUNDS, calls=CALLS)
        chunks = f" ({_gemini.STREAM_CHUNKS} chunks)" if mode != "gemini" else ""
        title = f"google-genai {mode}{chunks}, MockTransport: median of {ROUNDS} rounds x {CALLS} calls"
        console.print(variants_table(title, variants))
        added = {
            variant.name.removeprefix(mode + " "): variant.cpu_us - variants[0].cpu_us for variant in variants
        }
        ratios = targets_table(f"{mode}: llmmeter's added CPU per call against the floor's and each peer's")
        ours = added["llmmeter"]
        target_row(ratios, "llmmeter / OpenTelemetry floor", ours / added[_gemini.FLOOR], FLOOR_TARGET)
        for peer in peers:
            target = OPENAI_V2_TARGET if peer == "OTel google-genai" else None
            target_row(ratios, f"llmmeter / {peer}", ours / added[peer], target)
        console.print(ratios)
    per_chunk = _gemini.per_chunk(tracer_provider, meter_provider)
    chunk_table = targets_table(f"Gemini SSE (raw httpx2 client, {_gemini.LONG_STREAM_CHUNKS:,} chunks)")
    target_row(chunk_table, "bare CPU µs per chunk", per_chunk["bare"], None)
    target_row(
        chunk_table,
        "llmmeter added CPU µs per chunk",
        per_chunk["llmmeter"] - per_chunk["bare"],
        CHUNK_TARGET_US,
    )
    console.print(chunk_table)


def gemini_main() -> None:
    """Only the Gemini rows (``python -m benchmarks.bench_transport gemini``)."""
    console = Console(width=130)
    tracer_provider, meter_provider = providers()
    gemini_report(console, tracer_provider, meter_provider)
    tracer_provider.shutdown()
    meter_provider.shutdown()


if __name__ == "__main__":
    if sys.argv[1:] == ["gemini"]:
        gemini_main()
    elif sys.argv[1:] == ["bigprompt"]:
        _bigprompt.report(Console(width=130), MODULE)
    else:
        main()
