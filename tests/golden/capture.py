"""The telemetry llmmeter writes for a fixed set of calls, as plain JSON, to hold it unchanged.

    .venv/bin/python -m tests.golden.capture            # rewrites tests/golden/telemetry.json
    OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental .venv/bin/python -m tests.golden.capture

The calls: openai SDK chat, streamed chat, embeddings and Responses; the anthropic SDK, plain and
streamed; a gpt-5.4 reply with cached and reasoning tokens; an unknown model; an HTTP error and a
transport exception; a LangChain ``ChatOpenAI.invoke`` with the handler; one call inside
``llmmeter.attributes`` with an allow-listed metric key. Everything that varies from run to run
(durations, times to first chunk, stack traces) is replaced by its type; everything else (span
names, kinds, parents, statuses, attributes, events, every metric point with its attribute set and
value, what ``track()`` counted) is kept exactly. The golden files were written from main before
issue 22's changes; ``test_golden.py`` compares a fresh capture with them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
from langchain_openai import ChatOpenAI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

import llmmeter
from llmmeter._telemetry._semconv import conventions
from llmmeter_langchain import LLMMeterCallbackHandler
from tests import fakes

HERE = Path(__file__).parent
VARYING_ATTRIBUTES = frozenset(
    {"gen_ai.response.time_to_first_chunk", "llmmeter.time_to_first_chunk", "langchain.run_id"}
)
"""Span attributes whose value differs on every run (times, LangChain's run ids)."""
VARYING_EVENT_ATTRIBUTES = frozenset({"exception.stacktrace"})
TIMED_METRICS = ("duration", "time_to_first_chunk")
"""Metric names containing these record times: only their counts are kept."""


def golden_path() -> Path:
    """The golden file of the conventions this process writes."""
    return HERE / ("telemetry_latest.json" if conventions.latest else "telemetry.json")


def gpt54_body() -> dict[str, Any]:
    """A gpt-5.4 chat reply with cached and reasoning tokens."""
    return fakes.chat_completion(
        model="gpt-5.4-2026-03-05",
        prompt_tokens=2_000,
        completion_tokens=700,
        cached_tokens=1_500,
        reasoning_tokens=400,
    )


class Pipeline:
    """In-memory providers, and the clients of each call made on them."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def transport(self, handler: Callable[[Any], Any]) -> Any:
        return llmmeter.MeteredTransport(
            httpx2.MockTransport(handler),
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
        )

    def openai(self, reply: fakes.Reply) -> openai.OpenAI:
        return openai.OpenAI(
            api_key="sk-golden",
            base_url="https://api.openai.com/v1",
            max_retries=0,
            http_client=httpx2.Client(transport=self.transport(fakes.mock_handler(httpx2, reply))),
        )

    def anthropic(self, reply: fakes.Reply) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            api_key="sk-ant-golden",
            max_retries=0,
            http_client=httpx2.Client(transport=self.transport(fakes.mock_handler(httpx2, reply))),
        )


MESSAGES: Any = [{"role": "user", "content": "Say hi"}]


def make_calls(pipeline: Pipeline) -> dict[str, Any]:
    """Make every call of the set; returns what ``track()`` counted."""
    with llmmeter.track() as spend:
        pipeline.openai(fakes.Reply(fakes.chat_completion(cached_tokens=40))).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, temperature=0.5, max_tokens=64
        )
        stream = pipeline.openai(
            fakes.Reply(chunks=fakes.chat_stream(prompt_tokens=30))
        ).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        for _ in stream:
            pass
        pipeline.openai(fakes.Reply(fakes.embeddings_body())).embeddings.create(
            model="text-embedding-3-small", input="hello"
        )
        pipeline.openai(
            fakes.Reply(fakes.responses_body(cached_tokens=200, reasoning_tokens=100))
        ).responses.create(model="gpt-5.4", input="hello")
        claude = fakes.anthropic_message(cache_read=40, cache_write=30)
        pipeline.anthropic(fakes.Reply(claude)).messages.create(
            model="claude-sonnet-4-6", max_tokens=100, messages=MESSAGES
        )
        chunks = fakes.anthropic_stream(cache_read=10)
        with pipeline.anthropic(fakes.Reply(chunks=chunks)).messages.stream(
            model="claude-sonnet-4-6", max_tokens=100, messages=MESSAGES
        ) as claude_stream:
            for _ in claude_stream:
                pass
        pipeline.openai(fakes.Reply(gpt54_body())).chat.completions.create(
            model="gpt-5.4", messages=MESSAGES, service_tier="default"
        )
        unknown = fakes.chat_completion(model="my-private-model")
        pipeline.openai(fakes.Reply(unknown)).chat.completions.create(
            model="my-private-model", messages=MESSAGES
        )
        failing = pipeline.openai(
            fakes.Reply({"error": {"message": "boom", "type": "server_error"}}, status=500)
        )
        with suppress(openai.InternalServerError):
            failing.chat.completions.create(model="gpt-4o", messages=MESSAGES)

        def refuse(request: Any) -> Any:
            raise httpx2.ConnectError("refused", request=request)

        broken = openai.OpenAI(
            api_key="sk-golden",
            base_url="https://api.openai.com/v1",
            max_retries=0,
            http_client=httpx2.Client(transport=pipeline.transport(refuse)),
        )
        with suppress(openai.APIConnectionError):
            broken.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        chat_model = ChatOpenAI(
            model="gpt-5.4",
            api_key=SecretStr("sk-golden"),
            base_url="https://api.openai.com/v1",
            max_retries=0,
            http_client=httpx2.Client(
                transport=httpx2.MockTransport(fakes.mock_handler(httpx2, fakes.Reply(gpt54_body())))
            ),
        )
        handler = LLMMeterCallbackHandler(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider
        )
        chat_model.invoke("Say hi", config={"callbacks": [handler]})
        with user_attributes():
            pipeline.openai(fakes.Reply(fakes.chat_completion())).chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES
            )
    return {
        "cost_usd": str(spend.cost_usd),
        "input_tokens": spend.input_tokens,
        "output_tokens": spend.output_tokens,
        "calls": spend.calls,
        "by_model": {
            model: {"cost_usd": str(part.cost_usd), "calls": part.calls}
            for model, part in sorted(spend.by_model.items())
        },
    }


@contextmanager
def user_attributes() -> Iterator[None]:
    from llmmeter._settings import settings

    saved = settings.metric_attributes
    llmmeter.configure(metric_attributes=["tenant"])
    try:
        with llmmeter.attributes(tenant="acme", feature="search"):
            yield
    finally:
        settings.metric_attributes = saved


def _value(name: str, value: Any) -> Any:
    if name in VARYING_ATTRIBUTES:
        return f"<{type(value).__name__}>"
    return list(value) if isinstance(value, tuple) else value


def _spans(finished: tuple[ReadableSpan, ...]) -> list[dict[str, Any]]:
    ordered = sorted(finished, key=lambda span: span.start_time or 0)
    index = {span.context.span_id: i for i, span in enumerate(ordered) if span.context is not None}
    return [
        {
            "name": span.name,
            "kind": span.kind.name,
            "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
            "parent": index.get(span.parent.span_id) if span.parent is not None else None,
            "status": [span.status.status_code.name, span.status.description],
            "attributes": {key: _value(key, value) for key, value in sorted((span.attributes or {}).items())},
            "events": [
                {
                    "name": event.name,
                    "attributes": {
                        key: f"<{type(value).__name__}>"
                        if key in VARYING_EVENT_ATTRIBUTES
                        else _value(key, value)
                        for key, value in sorted((event.attributes or {}).items())
                    },
                }
                for event in span.events
            ],
        }
        for span in ordered
    ]


def _metrics(reader: InMemoryMetricReader) -> dict[str, Any]:
    found: dict[str, Any] = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data is not None else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                timed = any(part in metric.name for part in TIMED_METRICS)
                points = []
                for point in metric.data.data_points:
                    entry: dict[str, Any] = {"attributes": dict(sorted((point.attributes or {}).items()))}
                    if isinstance(point, HistogramDataPoint):
                        entry["count"] = point.count
                        if not timed:
                            entry["sum"] = point.sum
                            entry["bucket_counts"] = list(point.bucket_counts)
                    elif isinstance(point, NumberDataPoint):
                        entry["value"] = point.value
                    points.append(entry)
                points.sort(key=lambda entry: json.dumps(entry["attributes"], sort_keys=True))
                found[metric.name] = {"unit": metric.unit, "points": points}
    return dict(sorted(found.items()))


def capture() -> dict[str, Any]:
    """Make the calls on fresh in-memory providers; return everything they wrote."""
    pipeline = Pipeline()
    try:
        spend = make_calls(pipeline)
        return {
            "spans": _spans(pipeline.exporter.get_finished_spans()),
            "metrics": _metrics(pipeline.reader),
            "track": spend,
        }
    finally:
        pipeline.tracer_provider.shutdown()
        pipeline.meter_provider.shutdown()


def main() -> None:
    path = golden_path()
    path.write_text(json.dumps(capture(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
