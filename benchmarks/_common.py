"""What the benchmarks share: a provider reply, OpenTelemetry providers, a paused telemetry thread."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import llmmeter
from llmmeter._telemetry import _worker

CHAT_BODY = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}
        ],
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
"""A small Chat Completions response, as the provider would send it."""


def chat_handler(request: httpx2.Request) -> httpx2.Response:
    """A MockTransport handler answering every request with :data:`CHAT_BODY`."""
    return httpx2.Response(200, headers={"content-type": "application/json"}, content=CHAT_BODY)


class DropExporter(SpanExporter):
    """Accepts spans and throws them away, like a fast collector."""

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def providers() -> tuple[TracerProvider, MeterProvider]:
    """SDK providers set up as in production: batched span export, a metric reader."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DropExporter()))
    return tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()])


@contextmanager
def telemetry_thread_paused() -> Iterator[None]:
    """Keep llmmeter's telemetry thread asleep, so timed calls measure only the caller's path.

    The queued work is written by ``llmmeter.flush()``, which the benchmark calls outside the timing.
    """
    saved = _worker._DRAIN_INTERVAL_S
    _worker._DRAIN_INTERVAL_S = 3600.0
    llmmeter.flush()
    try:
        yield
    finally:
        _worker._DRAIN_INTERVAL_S = saved
        llmmeter.flush()
