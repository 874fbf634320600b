"""What llmmeter adds to media calls, whose bodies are megabytes: CPU per call, bare against metered.

    .venv/bin/python -m benchmarks.bench_media

The real openai SDK on an in-process ``httpx2.MockTransport`` (no network), one client bare and one
through ``llmmeter.MeteredTransport``, measured in interleaved rounds in this process
(``time.process_time()``, medians over ROUNDS rounds of CALLS calls):

* a streamed image generation: three 1.5 MB partial images and the completed event (5.9 MB of
  events), read in 16 KiB and in 64 KiB chunks;
* a non-streamed image generation answering a 4 MB base64 image (read by its two ends only);
* a transcription uploading a 5 MB WAV file (the form is read from the SDK's fields, the file never
  copied).
"""

from __future__ import annotations

import base64
import io
import json
import statistics
import time
import wave
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from rich.console import Console
from rich.table import Table

import llmmeter

ROUNDS = 15
CALLS = 5
_IMAGE_USAGE = {
    "input_tokens": 10,
    "input_tokens_details": {"text_tokens": 10, "image_tokens": 0},
    "output_tokens": 4160,
    "total_tokens": 4170,
}


class _Drop(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)


def _image_stream() -> bytes:
    payload = base64.b64encode(b"\x07" * 1_100_000).decode()
    common = {"background": "opaque", "output_format": "png", "quality": "high", "size": "1024x1024"}
    partial = "image_generation.partial_image"
    events = [
        (partial, {"type": partial, "b64_json": payload, "partial_image_index": i, "created_at": 1, **common})
        for i in range(3)
    ]
    done = "image_generation.completed"
    events.append(
        (done, {"type": done, "b64_json": payload, "created_at": 1, "usage": _IMAGE_USAGE, **common})
    )
    return _sse(events)


def _large_image() -> bytes:
    image = base64.b64encode(b"\x00" * 3_000_000).decode()
    return json.dumps({"created": 1, "data": [{"b64_json": image}], "usage": _IMAGE_USAGE}).encode()


def _wav(seconds: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(44_100)
        out.writeframes(b"\x00\x00" * 44_100 * seconds)
    return buffer.getvalue()


class _Chunks(httpx2.SyncByteStream):
    def __init__(self, body: bytes, size: int) -> None:
        self._body, self._size = body, size

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self._body), self._size):
            yield self._body[start : start + self._size]


def _clients(body: bytes, chunk: int, content_type: str) -> tuple[openai.OpenAI, openai.OpenAI]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        request.read()
        return httpx2.Response(200, headers={"content-type": content_type}, stream=_Chunks(body, chunk))

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(_Drop()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    metered: Any = llmmeter.MeteredTransport(
        httpx2.MockTransport(handler), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    options: dict[str, Any] = {"api_key": "sk-bench", "base_url": "https://api.openai.com/v1"}
    bare = openai.OpenAI(**options, http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    return bare, openai.OpenAI(**options, http_client=httpx2.Client(transport=metered))


def _measure(
    call: Callable[[openai.OpenAI], object], bare: openai.OpenAI, metered: openai.OpenAI
) -> tuple[float, float]:
    """Median CPU ms per call of ``call`` on the bare and on the metered client, rounds interleaved."""
    for client in (bare, metered):
        call(client)
    results: dict[int, list[float]] = {id(bare): [], id(metered): []}
    for round_ in range(ROUNDS):
        for client in (bare, metered) if round_ % 2 == 0 else (metered, bare):
            start = time.process_time()
            for _ in range(CALLS):
                call(client)
            results[id(client)].append((time.process_time() - start) / CALLS * 1000)
    return statistics.median(results[id(bare)]), statistics.median(results[id(metered)])


def _stream_generation(client: openai.OpenAI) -> None:
    for _ in client.images.generate(model="gpt-image-1.5", prompt="x", stream=True, partial_images=3):
        pass


def _large_generation(client: openai.OpenAI) -> None:
    client.images.generate(model="gpt-image-1.5", prompt="x")


def main() -> None:
    stream, large = _image_stream(), _large_image()
    upload = _wav(57)
    transcript = json.dumps({"text": "hi", "usage": {"type": "duration", "seconds": 57}}).encode()

    def transcribe(client: openai.OpenAI) -> None:
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", upload, "audio/wav"))

    cases = [
        (f"streamed image generation, {len(stream) / 1e6:.1f} MB in 16 KiB chunks", stream, 16 << 10,
         "text/event-stream", _stream_generation),
        (f"streamed image generation, {len(stream) / 1e6:.1f} MB in 64 KiB chunks", stream, 64 << 10,
         "text/event-stream", _stream_generation),
        (f"image generation, {len(large) / 1e6:.1f} MB JSON", large, 64 << 10, "application/json",
         _large_generation),
        (f"transcription, {len(upload) / 1e6:.1f} MB WAV upload", transcript, 64 << 10, "application/json",
         transcribe),
    ]  # fmt: skip
    table = Table(title=f"Media calls: CPU ms per call (median of {ROUNDS} rounds of {CALLS})")
    for column in ("call", "bare", "metered", "added"):
        table.add_column(column, justify="left" if column == "call" else "right")
    for title, body, chunk, content_type, call in cases:
        bare, metered = _clients(body, chunk, content_type)
        bare_ms, metered_ms = _measure(call, bare, metered)
        table.add_row(title, f"{bare_ms:.2f}", f"{metered_ms:.2f}", f"{metered_ms - bare_ms:+.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
