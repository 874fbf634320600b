"""How much llmmeter's transport adds to an openai SDK call, measured against the bare call in one run.

    .venv/bin/python -m benchmarks.bench_transport

Prints the median added time per non-streaming chat call, the added time per streamed chunk, and
the memory growth across a 100,000-chunk stream (content capture off). The SDK talks to an
in-process MockTransport, so the numbers are llmmeter's own cost, not the network's. If
``opentelemetry-instrumentation-openai`` is installed it is measured the same way, side by side.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from rich.console import Console
from rich.table import Table

import llmmeter
from benchmarks._common import CHAT_BODY, chat_handler, providers, telemetry_thread_paused
from llmmeter._pricing import get_table


def sdk_client(transport: Any) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-bench",
        base_url="https://api.openai.com/v1",
        http_client=httpx2.Client(transport=transport),
    )


def per_call_times(client: openai.OpenAI, calls: int) -> list[float]:
    times = []
    messages: Any = [{"role": "user", "content": "Say hi"}]
    for _ in range(calls):
        start = time.perf_counter()
        client.chat.completions.create(model="gpt-4o", messages=messages)
        times.append(time.perf_counter() - start)
    return times


def interleaved_medians(
    clients: dict[str, openai.OpenAI],
    rounds: int = 20,
    calls: int = 250,
    between: Callable[[], object] | None = None,
) -> dict[str, float]:
    """Median per-call time of each client, the clients taking turns call by call.

    Taking turns on every call makes the machine's drift (other processes, frequency changes) hit
    every client alike. ``between`` runs after each round, outside the timed calls.
    """
    samples: dict[str, list[float]] = {name: [] for name in clients}
    messages: Any = [{"role": "user", "content": "Say hi"}]
    for client in clients.values():
        per_call_times(client, 200)  # warm up
    timer = time.perf_counter
    for _ in range(rounds):
        for _ in range(calls):
            for name, client in clients.items():
                start = timer()
                client.chat.completions.create(model="gpt-4o", messages=messages)
                samples[name].append(timer() - start)
        if between is not None:
            between()
    return {name: statistics.median(values) for name, values in samples.items()}


def sse_chunks(count: int) -> Iterator[bytes]:
    head = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}],"usage":null}\n\n'  # noqa: E501
    for _ in range(count):
        yield head
    yield b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n'  # noqa: E501
    usage = {"prompt_tokens": 10, "completion_tokens": count, "total_tokens": 10 + count}
    yield (
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":'
        + json.dumps(usage).encode()
        + b"}\n\n"
    )
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


def per_chunk_added(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, chunks: int = 20_000
) -> tuple[float, float]:
    """(bare µs per chunk, added µs per chunk), medians over interleaved runs."""
    bare = stream_client(chunks, lambda t: t)
    metered = stream_client(
        chunks,
        lambda t: llmmeter.MeteredTransport(
            t, tracer_provider=tracer_provider, meter_provider=meter_provider
        ),
    )
    bare_times: list[float] = []
    metered_times: list[float] = []
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


def stream_memory_growth(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, chunks: int = 100_000
) -> int:
    """Peak traced memory above the baseline while reading one metered stream of ``chunks`` chunks."""
    client = stream_client(
        chunks,
        lambda t: llmmeter.MeteredTransport(
            t, tracer_provider=tracer_provider, meter_provider=meter_provider
        ),
    )
    read_stream(client)  # warm up imports and caches
    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    read_stream(client)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - baseline


SERVER = """
import socket, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
BODY = sys.stdin.buffer.read()
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def loopback_server() -> tuple[subprocess.Popen[bytes], str]:
    """A provider in another process, so the client really waits on a socket as in production."""
    process = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(CHAT_BODY)
    process.stdin.close()
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/v1"


def cpu_per_call(clients: dict[str, openai.OpenAI], rounds: int = 10, calls: int = 300) -> dict[str, float]:
    """Median process CPU time per call of each client, the telemetry thread's work included.

    Clients take turns round by round; each round ends with a flush, inside the measurement.
    """
    samples: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(rounds):
        for name, client in clients.items():
            llmmeter.flush()
            start = time.process_time()
            per_call_times(client, calls)
            llmmeter.flush()
            samples[name].append((time.process_time() - start) / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def otel_openai_instrumentor() -> Any:
    try:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    except ImportError:
        return None
    return OpenAIInstrumentor()


def row(table: Table, name: str, value: float, bare: float) -> None:
    table.add_row(name, f"{value * 1e6:.1f}", f"{(value - bare) * 1e6:+.1f}", f"{value / bare:.3f}")


def main() -> None:
    console = Console()
    tracer_provider, meter_provider = providers()
    get_table().price_usage(
        "gpt-4o-2024-08-06", llmmeter.Usage(input_tokens=1)
    )  # resolve once, as in steady state

    def metered(inner: Any) -> Any:
        return llmmeter.MeteredTransport(
            inner, tracer_provider=tracer_provider, meter_provider=meter_provider
        )

    mock_clients = {
        "bare": sdk_client(httpx2.MockTransport(chat_handler)),
        "llmmeter": sdk_client(metered(httpx2.MockTransport(chat_handler))),
    }

    # 1. The caller's path: what a call waits for (telemetry thread written between rounds).
    with telemetry_thread_paused():
        caller = interleaved_medians(mock_clients, between=llmmeter.flush)
    # 2. All the work, the telemetry thread's included (before anything else has run).
    cpu = cpu_per_call(mock_clients)
    table = Table(title="openai SDK chat.completions.create, MockTransport: time on the caller's path")
    for column in ("client", "median µs / call", "added µs", "ratio"):
        table.add_column(column, justify="left" if column == "client" else "right")
    for name, value in caller.items():
        row(table, name, value, caller["bare"])
    instrumentor = otel_openai_instrumentor()
    if instrumentor is not None:
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        try:
            other = interleaved_medians({"bare": sdk_client(httpx2.MockTransport(chat_handler))}, rounds=8)[
                "bare"
            ]
        finally:
            instrumentor.uninstrument()
        row(table, "opentelemetry-instrumentation-openai (OpenLLMetry)", other, caller["bare"])
    else:
        table.caption = "opentelemetry-instrumentation-openai not installed: not measured side by side"
    console.print(table)

    # 3. A real socket, the telemetry thread running as in production.
    process, base_url = loopback_server()
    try:

        def socket_client(transport: Any) -> openai.OpenAI:
            return openai.OpenAI(
                api_key="sk-bench", base_url=base_url, http_client=httpx2.Client(transport=transport)
            )

        real = interleaved_medians(
            {
                "bare": socket_client(httpx2.HTTPTransport()),
                "llmmeter": socket_client(metered(httpx2.HTTPTransport())),
            },
            rounds=10,
            calls=100,
        )
    finally:
        process.terminate()
        process.wait()
    whole = Table(title="Over a real loopback socket (provider in another process), and total CPU")
    for column in ("measure", "bare", "llmmeter", "added"):
        whole.add_column(column, justify="left" if column == "measure" else "right")
    for label, values in (
        ("median µs per call over a socket (telemetry thread running)", real),
        ("CPU µs per call, telemetry thread included", cpu),
    ):
        whole.add_row(
            label,
            f"{values['bare'] * 1e6:.1f}",
            f"{values['llmmeter'] * 1e6:.1f}",
            f"{(values['llmmeter'] - values['bare']) * 1e6:+.1f}",
        )
    console.print(whole)

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
