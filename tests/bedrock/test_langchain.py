"""LangChain's ChatBedrockConverse (langchain-aws) under instrument(): each call counted once.

The run's span (LangChain capture) and the Bedrock call's span (botocore capture) both exist; the
cost and usage sit on the botocore span only, and the run's span says ``counted_by = http``.
Prices: Claude Sonnet 4.5 global profile, $3.00 input / $15.00 output / $0.30 cache read per 1M
(aws.amazon.com/bedrock/pricing).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import llmmeter
from llmmeter.testing import record_calls
from tests.bedrock.server import Reply, converse_body, converse_stream_frames
from tests.otel import llm_spans, metric_total

langchain_aws = pytest.importorskip("langchain_aws")

MODEL = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
COST = (100 * Decimal("3.00") + 50 * Decimal("15.00") + 400 * Decimal("0.30")) / 1_000_000


@pytest.fixture
def instrumented_with_langchain(tracer_provider: Any, meter_provider: Any) -> Iterator[None]:
    """``llmmeter.instrument()`` with its integrations (the LangChain hook) on."""
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield
    llmmeter.uninstrument()


def assert_counted_once(calls: Any, span_exporter: Any, metric_reader: Any, expected_calls: int) -> None:
    counted = calls.counted
    assert len(counted) == expected_calls
    assert all(call.cost.total == COST for call in counted)
    spans = llm_spans(span_exporter.get_finished_spans())
    with_cost = [span for span in spans if "gen_ai.usage.cost.amount" in span.attributes]
    assert [span.attributes["llmmeter.capture"] for span in with_cost] == ["botocore"] * expected_calls
    runs = [span for span in spans if span.attributes.get("llmmeter.capture") == "langchain"]
    assert len(runs) == expected_calls
    assert all(run.attributes["llmmeter.counted_by"] == "http" for run in runs)
    assert all("gen_ai.usage.input_tokens" not in run.attributes for run in runs)
    assert metric_total(metric_reader, "llmmeter.cost") == pytest.approx(
        float(COST * expected_calls), rel=1e-12
    )


def test_chat_bedrock_converse_is_counted_once(
    server, client, instrumented_with_langchain, span_exporter, metric_reader
):
    """invoke and stream: one cost each, on the botocore span."""
    model = langchain_aws.ChatBedrockConverse(model=MODEL, client=client, region_name="us-east-1")

    def reply(request: Any) -> Reply:
        if request.path.endswith("/converse-stream"):
            return Reply(frames=converse_stream_frames(cache_read=400))
        return Reply(body=converse_body(cache_read=400))

    server.reply = reply
    with record_calls() as calls:
        message = model.invoke("hi")
        for _ in model.stream("hi"):
            pass
    assert message.usage_metadata["input_tokens"] == 500
    assert_counted_once(calls, span_exporter, metric_reader, expected_calls=2)
