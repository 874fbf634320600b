"""How much llmmeter's transport adds to an openai SDK call, measured against the bare call in one run.

    .venv/bin/python benchmarks/bench_transport.py

Prints the median added time per non-streaming chat call, the added time per streamed chunk, and
the memory growth across a 100,000-chunk stream (content capture off). The SDK talks to an
in-process MockTransport, so the numbers are llmmeter's own cost, not the network's. If
``opentelemetry-instrumentation-openai`` is installed it is measured the same way, side by side.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx2
import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from rich.console import Console
from rich.table import Table

import llmmeter
from llmmeter._pricing import get_table

CHAT_BODY = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 120,
            "completion_tokens": 12,
            "total_tokens": 132,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
        "service_tier": "default",
    }
).encode()


class DropExporter(SpanExporter):
    """Accepts spans and throws them away, like a fast collector."""

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def providers() -> tuple[TracerProvider, MeterProvider]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DropExporter()))
    return tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()])


def chat_handler(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, headers={"content-type": "application/json"}, content=CHAT_BODY)


def sdk_client(transport: Any) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-bench", base_url="https://api.openai.com/v1", http_client=httpx2.Client(transport=transport))


def per_call_times(client: openai.OpenAI, calls: int) -> list[float]:
    times = []
    messages: Any = [{"role": "user", "content": "Say hi"}]
    for _ in range(calls):
        start = time.perf_counter()
        client.chat.completions.create(model="gpt-4o", messages=messages)
        times.append(time.perf_counter() - start)
    return times


def interleaved_medians(clients: dict[str, openai.OpenAI], rounds: int = 20, calls: int = 250) -> dict[str, float]:
    """Median per-call time of each client, alternating them in rounds so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in clients}
    for client in clients.values():
        per_call_times(client, 200)  # warm up
    for _ in range(rounds):
        for name, client in clients.items():
            samples[name].extend(per_call_times(client, calls))
    return {name: statistics.median(values) for name, values in samples.items()}


def sse_chunks(count: int) -> Iterator[bytes]:
    head = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}],"usage":null}\n\n'  # noqa: E501
    for _ in range(count):
        yield head
    yield b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n'  # noqa: E501
    usage = {"prompt_tokens": 10, "completion_tokens": count, "total_tokens": 10 + count}
    yield b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":' + json.dumps(usage).encode() + b"}\n\n"  # noqa: E501
    yield b"data: [DONE]\n\n"


class ChunkStream(httpx2.SyncByteStream):
    def __init__(self, count: int) -> None:
        self._count = count

    def __iter__(self) -> Iterator[bytes]:
        return sse_chunks(self._count)


def stream_client(count: int, wrap: Callable[[Any], Any]) -> httpx2.Client:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=ChunkStream(count))

    return httpx2.Client(transport=wrap(httpx2.MockTransport(handler)))


def read_stream(client: httpx2.Client) -> None:
    body = {"model": "gpt-4o", "messages": [], "stream": True}
    with client.stream("POST", "https://api.openai.com/v1/chat/completions", json=body) as response:
        for _ in response.iter_raw():
            pass


def per_chunk_added(tracer_provider: TracerProvider, meter_provider: MeterProvider, chunks: int = 20_000) -> tuple[float, float]:
    """(bare µs per chunk, added µs per chunk), medians over interleaved runs."""
    bare = stream_client(chunks, lambda t: t)
    metered = stream_client(
        chunks, lambda t: llmmeter.MeteredTransport(t, tracer_provider=tracer_provider, meter_provider=meter_provider)
    )
    bare_times, metered_times = [], []
    for _ in range(2):
        read_stream(bare)
        read_stream(metered)
    for _ in range(9):
        for client, times in ((bare, bare_times), (metered, metered_times)):
            start = time.perf_counter()
            read_stream(client)
            times.append(time.perf_counter() - start)
    bare_us = statistics.median(bare_times) / chunks * 1e6
    metered_us = statistics.median(metered_times) / chunks * 1e6
    return bare_us, metered_us - bare_us


def stream_memory_growth(tracer_provider: TracerProvider, meter_provider: MeterProvider, chunks: int = 100_000) -> int:
    """Peak traced memory above the baseline while reading one metered stream of ``chunks`` chunks."""
    client = stream_client(
        chunks, lambda t: llmmeter.MeteredTransport(t, tracer_provider=tracer_provider, meter_provider=meter_provider)
    )
    read_stream(client)  # warm up imports and caches
    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    read_stream(client)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - baseline


def otel_openai_instrumentor() -> Any:
    try:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor  # type: ignore[import-not-found]
    except ImportError:
        return None
    return OpenAIInstrumentor()


def main() -> None:
    console = Console()
    tracer_provider, meter_provider = providers()
    get_table().price_usage("gpt-4o-2024-08-06", llmmeter.Usage(input_tokens=1))  # resolve once, as in steady state

    clients = {
        "bare": sdk_client(httpx2.MockTransport(chat_handler)),
        "llmmeter": sdk_client(
            llmmeter.MeteredTransport(
                httpx2.MockTransport(chat_handler), tracer_provider=tracer_provider, meter_provider=meter_provider
            )
        ),
    }
    medians = interleaved_medians(clients)
    bare = medians["bare"]

    table = Table(title="openai SDK chat.completions.create over a MockTransport (median per call)")
    table.add_column("client")
    table.add_column("µs / call", justify="right")
    table.add_column("added µs", justify="right")
    table.add_column("ratio", justify="right")
    for name, value in medians.items():
        table.add_row(name, f"{value * 1e6:.1f}", f"{(value - bare) * 1e6:+.1f}", f"{value / bare:.3f}")

    instrumentor = otel_openai_instrumentor()
    if instrumentor is not None:
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        other = interleaved_medians({"bare": sdk_client(httpx2.MockTransport(chat_handler))})["bare"]
        instrumentor.uninstrument()
        table.add_row("opentelemetry-instrumentation-openai", f"{other * 1e6:.1f}", f"{(other - bare) * 1e6:+.1f}", f"{other / bare:.3f}")
    else:
        table.caption = "opentelemetry-instrumentation-openai not installed: not measured"
    console.print(table)

    bare_chunk, added_chunk = per_chunk_added(tracer_provider, meter_provider)
    growth = stream_memory_growth(tracer_provider, meter_provider)
    streams = Table(title="Streaming (raw httpx2 client, chat SSE chunks)")
    streams.add_column("measure")
    streams.add_column("value", justify="right")
    streams.add_row("bare µs per chunk", f"{bare_chunk:.2f}")
    streams.add_row("added µs per chunk", f"{added_chunk:.2f}")
    streams.add_row("memory growth over 100,000 chunks", f"{growth / 1024:.1f} KiB")
    console.print(streams)
    tracer_provider.shutdown()


if __name__ == "__main__":
    main()
