"""A prompt of more than 1 MiB through the real openai SDK and MeteredTransport: recorded, priced and
budgeted exactly as a short prompt is (its text is never decoded when content is not captured)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx2
import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmmeter
from llmmeter._providers._request_body import without_long_strings
from tests import fakes
from tests.otel import llm_spans, points

M = Decimal(1_000_000)
# gpt-4o: $2.50 input, $10.00 output per 1M tokens (openai.com/api/pricing).
GPT4O_IN, GPT4O_OUT = Decimal("2.50") / M, Decimal("10.00") / M
BIG = "Summarise this: lorem ipsum dolor\n" * 32_000  # 1.1 MiB with newlines: its text is left out
QUOTED = 'Summarise this: "lorem ipsum" dolor\n' * 32_000  # escaped quotes: the body is decoded whole
PARAMS: dict[str, Any] = {
    "temperature": 0.3,
    "top_p": 0.9,
    "max_tokens": 1_000,
    "seed": 7,
    "stop": ["END"],
    "service_tier": "default",
}
METRICS = (
    "gen_ai.client.token.usage",
    "gen_ai.client.operation.duration",
    "llmmeter.cost",
    "llmmeter.tokens",
)


class Recorded:
    """One chat call's span and metric points, on providers of its own, and the requests sent."""

    def __init__(self, prompt: str, reply: fakes.Reply, **params: Any) -> None:
        exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[reader])
        self.sent: list[httpx2.Request] = []
        transport = llmmeter.MeteredTransport(
            httpx2.MockTransport(fakes.mock_handler(httpx2, reply, self.sent)),
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        client = openai.OpenAI(
            api_key="sk-test",
            base_url="https://api.openai.com/v1",
            http_client=httpx2.Client(transport=transport),
        )
        result = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": prompt}], **params
        )
        if params.get("stream"):
            self.chunks = list(result)
        (self.span,) = llm_spans(exporter.get_finished_spans())
        self.attributes = dict(self.span.attributes or {})
        self.points = {
            name: sorted((sorted(attrs.items()), value) for attrs, value in points(reader, name))
            for name in METRICS
        }
        self.points["gen_ai.client.operation.duration"] = [
            (attrs, count) for attrs, (count, _) in self.points["gen_ai.client.operation.duration"]
        ]
        tracer_provider.shutdown()
        meter_provider.shutdown()


def reply() -> fakes.Reply:
    return fakes.Reply(fakes.chat_completion(prompt_tokens=300_000, completion_tokens=40))


@pytest.mark.parametrize("prompt", [BIG, QUOTED], ids=["left out", "decoded whole"])
def test_a_large_prompt_is_recorded_as_a_short_one(prompt):
    """Span name, attributes (parameters, tokens, cost, model) and metric points of a 1.1 MiB prompt
    are those of a short prompt answered alike; the body sent is the SDK's own."""
    big = Recorded(prompt, reply(), **PARAMS)
    small = Recorded("hi", reply(), **PARAMS)

    content = big.sent[0].content
    assert len(content) > 1 << 20
    assert json.loads(content)["messages"][0]["content"] == prompt
    assert (without_long_strings(content, {b"messages"}) is None) == (prompt is QUOTED)
    assert big.span.name == small.span.name == "chat gpt-4o"
    assert big.attributes == small.attributes
    assert big.points == small.points
    expected = 300_000 * GPT4O_IN + 40 * GPT4O_OUT
    assert big.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(expected))
    assert big.attributes["gen_ai.usage.input_tokens"] == 300_000
    assert big.attributes["gen_ai.usage.output_tokens"] == 40
    assert big.attributes["gen_ai.request.model"] == "gpt-4o"
    assert big.attributes["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert big.attributes["gen_ai.request.max_tokens"] == 1_000
    assert big.attributes["gen_ai.request.stop_sequences"] == ("END",)


def test_a_large_streamed_prompt_is_sent_whole_asking_for_its_usage():
    """With include_stream_usage on, a streamed 1.1 MiB prompt is rewritten only to ask for the
    stream's usage: the prompt is sent as the caller gave it, and the usage is recorded."""
    llmmeter.configure(include_stream_usage=True)
    chunks = fakes.chat_stream(words=3, prompt_tokens=300_000, completion_tokens=40)

    big = Recorded(BIG, fakes.Reply(chunks=chunks), stream=True, max_tokens=100)

    sent = json.loads(big.sent[0].content)
    assert sent["messages"] == [{"role": "user", "content": BIG}]
    assert sent["stream_options"] == {"include_usage": True}
    assert big.attributes["gen_ai.request.stream"] is True
    assert big.attributes["gen_ai.usage.input_tokens"] == 300_000
    assert big.attributes["gen_ai.usage.cost.amount"] == pytest.approx(
        float(300_000 * GPT4O_IN + 40 * GPT4O_OUT)
    )


def test_a_large_prompt_is_recorded_alike_with_content_captured():
    """With content captured the prompt is decoded whole and reported; the rest is as without."""
    without = Recorded(BIG, reply(), **PARAMS)
    llmmeter.configure(capture_content=True)

    captured = Recorded(BIG, reply(), **PARAMS)

    messages = json.loads(captured.attributes.pop("gen_ai.input.messages"))
    assert messages[0]["parts"][0]["content"] == BIG
    assert {k: v for k, v in captured.attributes.items() if "messages" not in k} == {
        k: v for k, v in without.attributes.items() if "messages" not in k
    }


def test_a_budget_reserves_the_large_body_and_its_output_limit_exactly():
    """A budget of exactly the worst case (every byte of the 1.1 MiB body an input token, plus
    max_tokens of output) lets the call through; one a nano-dollar short refuses it unsent."""
    size = len(Recorded(BIG, reply(), **PARAMS).sent[0].content)
    worst = size * GPT4O_IN + PARAMS["max_tokens"] * GPT4O_OUT

    with llmmeter.budget(usd=worst):
        Recorded(BIG, reply(), **PARAMS)
    with llmmeter.budget(usd=worst - Decimal("0.000000001")), pytest.raises(llmmeter.BudgetExceeded):
        Recorded(BIG, reply(), **PARAMS)
