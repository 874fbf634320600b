"""The real anthropic SDK (2.x, on httpx2) through MeteredTransport."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import pytest

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans, metric_total

M = Decimal(1_000_000)
# claude-sonnet-4-6: $3 input, $0.30 cache read, $3.75 5-minute cache write, $15 output per 1M tokens.
IN, READ, WRITE, OUT = Decimal("3"), Decimal("0.30"), Decimal("3.75"), Decimal("15")


def client(reply: fakes.Reply, tracer_provider: Any, meter_provider: Any, *, sdk_traces: bool = False):
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, reply)),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    telemetry: Any = {"tracer_provider": tracer_provider} if sdk_traces else {"traces": False}
    return anthropic.Anthropic(
        api_key="sk-ant-secret",
        base_url="https://api.anthropic.com",
        http_client=httpx2.Client(transport=transport),
        open_telemetry=telemetry,
    )


def test_message_adds_cache_reads_and_writes_to_input(tracer_provider, meter_provider, span_exporter):
    """Anthropic's input excludes cache tokens; the span's input includes them, each at its own rate."""
    reply = fakes.Reply(
        fakes.anthropic_message(input_tokens=100, output_tokens=50, cache_read=2000, cache_write=500)
    )
    sdk = client(reply, tracer_provider, meter_provider)

    with record_calls() as calls:
        message = sdk.messages.create(
            model="claude-sonnet-4-6", max_tokens=256, messages=[{"role": "user", "content": "hi"}]
        )

    assert message.content[0].text == "Hello from Claude"
    (record,) = calls
    expected = (100 * IN + 2000 * READ + 500 * WRITE + 50 * OUT) / M
    assert record.cost.total == expected
    assert record.cost.components["cache_write"] == 500 * WRITE / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.name == "chat claude-sonnet-4-6"
    assert span.attributes["gen_ai.provider.name"] == "anthropic"
    assert span.attributes["gen_ai.usage.input_tokens"] == 2600
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 2000
    assert span.attributes["gen_ai.usage.cache_creation.input_tokens"] == 500
    assert span.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert span.attributes["gen_ai.request.max_tokens"] == 256
    assert "sk-ant-secret" not in repr(dict(span.attributes))


def test_stream_takes_cumulative_message_delta_usage(tracer_provider, meter_provider, metric_reader):
    """message_delta usage is cumulative: the last value is used, not a sum of deltas."""
    reply = fakes.Reply(chunks=fakes.anthropic_stream(input_tokens=40, output_tokens=25, cache_read=1000))
    sdk = client(reply, tracer_provider, meter_provider)

    with (
        record_calls() as calls,
        sdk.messages.stream(
            model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        ) as stream,
    ):
        text = "".join(stream.text_stream)

    assert text == "Hello"
    (record,) = calls
    assert record.ending == "complete"
    assert record.usage.output_tokens == 25
    expected = (40 * IN + 1000 * READ + 25 * OUT) / M
    assert record.cost.total == expected
    assert metric_total(metric_reader, "llmmeter.cost") == pytest.approx(float(expected), rel=1e-12)


async def test_async_client_is_metered(tracer_provider, meter_provider):
    """AsyncAnthropic over AsyncMeteredTransport prices the call."""
    transport = llmmeter.AsyncMeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, fakes.Reply(fakes.anthropic_message()))),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    sdk = anthropic.AsyncAnthropic(
        api_key="k", http_client=httpx2.AsyncClient(transport=transport), open_telemetry={"traces": False}
    )

    with record_calls() as calls:
        await sdk.messages.create(
            model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )

    (record,) = calls
    assert record.cost.total == (100 * IN + 50 * OUT) / M


def test_sdk_span_is_parent_and_carries_the_cost_once(tracer_provider, meter_provider, span_exporter):
    """The anthropic SDK's own call span is the parent of llmmeter's span; it carries the usage, so
    llmmeter puts the cost there and leaves both off its own span: summed over the trace, once."""
    sdk = client(fakes.Reply(fakes.anthropic_message()), tracer_provider, meter_provider, sdk_traces=True)

    sdk.messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "x"}])

    spans = span_exporter.get_finished_spans()
    (ours,) = llm_spans(spans)
    (theirs,) = [s for s in spans if s.instrumentation_scope.name == "com.anthropic.sdk.python"]
    assert ours.parent is not None
    assert ours.parent.span_id == theirs.context.span_id
    expected = float((100 * IN + 50 * OUT) / M)
    assert theirs.attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected)
    assert theirs.attributes["gen_ai.usage.input_tokens"] == 100
    assert ours.attributes["llmmeter.counted_by"] == "parent"
    assert "gen_ai.usage.cost.amount" not in ours.attributes
    assert "gen_ai.usage.input_tokens" not in ours.attributes


def test_stream_read_up_to_its_final_message_delta_is_complete(tracer_provider, meter_provider):
    """A client that stops after the message_delta carrying the stop reason and final usage (before
    message_stop) has everything: the record is complete and priced ok, not estimated."""
    calls = _read_stream_until(b"message_delta", tracer_provider, meter_provider)

    (record,) = calls
    assert (record.ending, record.cost.status) == ("complete", "ok")
    assert record.cost.total == (40 * IN + 25 * OUT) / M


def test_stream_cut_before_its_final_message_delta_is_estimated(tracer_provider, meter_provider):
    """Closed before the final usage came, the same stream stays closed_early and estimated."""
    calls = _read_stream_until(b"content_block_delta", tracer_provider, meter_provider)

    (record,) = calls
    assert (record.ending, record.cost.status) == ("closed_early", "estimated")
    assert record.cost.reason == "the response did not finish: its usage may be partial"


def _read_stream_until(marker: bytes, tracer_provider: Any, meter_provider: Any) -> list[Any]:
    """Stream an Anthropic message over a metered raw client, closing it at the chunk holding ``marker``."""
    chunks = fakes.anthropic_stream(input_tokens=40, output_tokens=25)
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, fakes.Reply(chunks=chunks))),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    body = {"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": [], "stream": True}
    with record_calls() as calls, httpx2.Client(transport=transport) as http:
        with http.stream("POST", "https://api.anthropic.com/v1/messages", json=body) as response:
            for chunk in response.iter_raw():
                if marker in chunk:
                    break
    return calls
