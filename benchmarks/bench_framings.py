"""What llmmeter adds per streamed chunk for each stream framing, measured in one run.

    .venv/bin/python -m benchmarks.bench_framings

A raw httpx2 client reads a long stream from an in-process ``httpx2.MockTransport``, bare and
through ``llmmeter.MeteredTransport``, one wire chunk per event: OpenAI chat deltas (SSE, the
reference), Ollama ``/api/chat`` lines (NDJSON) and Bedrock InvokeModel ``chunk`` messages (AWS
event-stream, each a base64 Anthropic ``content_block_delta``). Printed per framing: CPU µs per
chunk, bare and metered (medians over interleaved runs), and the difference against the 2 µs target.
"""

from __future__ import annotations

import base64
import gc
import json
import statistics
import struct
import time
import zlib
from collections.abc import Callable, Iterator

import httpx2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

import llmmeter

CHUNKS = 20_000
TARGET_US = 2.0


def _event_stream_message(headers: dict[str, str], payload: bytes) -> bytes:
    raw = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
        for k, v in headers.items()
    )
    prelude = struct.pack(">II", 16 + len(raw) + len(payload), len(raw))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw + payload
    return body + struct.pack(">I", zlib.crc32(body))


def _bedrock_chunk(event: dict[str, object]) -> bytes:
    inner = base64.b64encode(json.dumps(event, separators=(",", ":")).encode()).decode()
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    return _event_stream_message(headers, json.dumps({"bytes": inner}).encode())


_DELTA = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " word"}}
_START = {
    "type": "message_start",
    "message": {"id": "m", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 9}},
}
_END = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": CHUNKS}}
_OLLAMA_LINE = (
    b'{"model":"llama3.2","created_at":"2026-12-07T12:00:00Z",'
    b'"message":{"role":"assistant","content":" word"},"done":false}\n'
)
_OLLAMA_DONE = (
    b'{"model":"llama3.2","done":true,"done_reason":"stop","prompt_eval_count":9,"eval_count":%d}\n'
)
_SSE_CHUNK = (
    b'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o",'
    b'"choices":[{"index":0,"delta":{"content":" word"},"finish_reason":null}]}\n\n'
)
_SSE_LAST = (
    b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":%d}}\n\ndata: [DONE]\n\n'
)

# framing -> (url, request body, content-type, first chunks, repeated chunk, last chunks)
STREAMS: dict[str, tuple[str, dict[str, object], str, list[bytes], bytes, list[bytes]]] = {
    "SSE (OpenAI chat)": (
        "https://api.openai.com/v1/chat/completions",
        {"model": "gpt-4o", "messages": [], "stream": True, "stream_options": {"include_usage": True}},
        "text/event-stream",
        [],
        _SSE_CHUNK,
        [_SSE_LAST % CHUNKS],
    ),
    "NDJSON (Ollama chat)": (
        "http://127.0.0.1:11434/api/chat",
        {"model": "llama3.2", "messages": []},
        "application/x-ndjson",
        [],
        _OLLAMA_LINE,
        [_OLLAMA_DONE % CHUNKS],
    ),
    "event-stream (Bedrock InvokeModel)": (
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        "/invoke-with-response-stream",
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": []},
        "application/vnd.amazon.eventstream",
        [_bedrock_chunk(_START)],
        _bedrock_chunk(_DELTA),
        [_bedrock_chunk(_END), _bedrock_chunk({"type": "message_stop"})],
    ),
}


class _Stream(httpx2.SyncByteStream):
    def __init__(self, first: list[bytes], chunk: bytes, last: list[bytes]) -> None:
        self._parts = (first, chunk, last)

    def __iter__(self) -> Iterator[bytes]:
        first, chunk, last = self._parts
        yield from first
        for _ in range(CHUNKS):
            yield chunk
        yield from last


def _client(name: str, wrap: Callable[[httpx2.BaseTransport], httpx2.BaseTransport]) -> httpx2.Client:
    _, _, content_type, first, chunk, last = STREAMS[name]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers={"content-type": content_type}, stream=_Stream(first, chunk, last)
        )

    return httpx2.Client(transport=wrap(httpx2.MockTransport(handler)))


def _read(client: httpx2.Client, name: str) -> None:
    url, body = STREAMS[name][:2]
    with client.stream("POST", url, json=body) as response:
        for _ in response.iter_raw():
            pass


def per_chunk(
    name: str, tracer_provider: TracerProvider, meter_provider: MeterProvider, runs: int = 7
) -> tuple[float, float]:
    """(bare, metered) median CPU µs per chunk of the ``name`` stream."""
    clients = {
        "bare": _client(name, lambda t: t),
        "metered": _client(
            name,
            lambda t: llmmeter.MeteredTransport(
                t, tracer_provider=tracer_provider, meter_provider=meter_provider
            ),
        ),
    }
    samples: dict[str, list[float]] = {key: [] for key in clients}
    for client in clients.values():
        _read(client, name)
    for _ in range(runs):
        for key, client in clients.items():
            gc.collect()
            start = time.process_time()
            _read(client, name)
            samples[key].append(time.process_time() - start)
    bare, metered = (statistics.median(samples[key]) / CHUNKS * 1e6 for key in ("bare", "metered"))
    return bare, metered


def main() -> None:
    """Print the table."""
    tracer_provider = TracerProvider()
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    print(f"{'framing':38} {'bare µs/chunk':>14} {'metered':>9} {'added':>7}  target ≤ {TARGET_US} µs")
    for name in STREAMS:
        bare, metered = per_chunk(name, tracer_provider, meter_provider)
        verdict = "ok" if metered - bare <= TARGET_US else "OVER"
        print(f"{name:38} {bare:14.2f} {metered:9.2f} {metered - bare:7.2f}  {verdict}")


if __name__ == "__main__":
    main()
