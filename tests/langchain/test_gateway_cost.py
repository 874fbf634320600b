"""LangChain's ChatOpenAI through OpenRouter: the cost OpenRouter states is the call's, counted once.

OpenRouter's ``usage.cost`` (openrouter.ai/docs/use-cases/usage-accounting) reaches llmmeter through
the HTTP capture point (the metered client, or ``instrument()``) and, when only the callback
handler sees the run, through the raw usage ChatOpenAI keeps in ``llm_output["token_usage"]``.
Local estimates: openai/gpt-4o-mini at $0.15 input / $0.60 output per 1M tokens
(openrouter.ai/openai/gpt-4o-mini).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from langchain_openai import ChatOpenAI

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.langchain.conftest import FakeOpenAI, chat_openai
from tests.otel import points

M = Decimal(1_000_000)
REPORTED = Decimal("0.0000305")
LOCAL = (194 * Decimal("0.15") + 2 * Decimal("0.60")) / M


def openrouter_completion() -> dict[str, Any]:
    body = fakes.chat_completion(
        model="openai/gpt-4o-mini", prompt_tokens=194, completion_tokens=2, service_tier=None
    )
    body["provider"] = "OpenAI"
    body["usage"].update(
        {"cost": 0.0000305, "is_byok": False, "cost_details": {"upstream_inference_cost": None}}
    )
    return body


@pytest.fixture
def openrouter() -> FakeOpenAI:
    """A fake OpenRouter: OpenAI's chat shape, with the call's cost in ``usage.cost``."""
    return FakeOpenAI(replies=[openrouter_completion() for _ in range(4)])


@pytest.fixture
def server(openrouter: FakeOpenAI) -> Iterator[fakes.LoopbackServer]:
    """OpenRouter on a loopback port."""
    with fakes.LoopbackServer(openrouter) as running:
        yield running


def test_chat_openai_over_a_metered_client_counts_the_reported_cost_once(
    server, handler, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """The HTTP span carries OpenRouter's cost; the LangChain span defers to it; the sums hold it once."""
    client = llmmeter.meter_client(
        httpx2.Client(), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    model = ChatOpenAI(
        model="openai/gpt-4o-mini",
        api_key="sk-or-test",
        base_url=server.url + "/api/v1",
        http_client=client,
        max_retries=0,
    )

    with record_calls() as calls, llmmeter.track() as spend, client:
        model.invoke("hi", config={"callbacks": [handler]})

    assert sorted((c.capture, c.counted) for c in calls) == [("http", True), ("langchain", False)]
    assert spend.cost_usd == REPORTED
    spans = {s.attributes["llmmeter.capture"]: s for s in span_exporter.get_finished_spans()}
    assert spans["http"].attributes["gen_ai.usage.cost.amount"] == float(REPORTED)
    assert spans["http"].attributes["gen_ai.usage.cost.source"] == "provider"
    assert spans["http"].attributes["llmmeter.cost.local_amount"] == float(LOCAL)
    assert spans["langchain"].attributes["llmmeter.counted_by"] == "http"
    assert "gen_ai.usage.cost.amount" not in spans["langchain"].attributes
    ((_, total),) = points(metric_reader, "llmmeter.cost")
    assert total == float(REPORTED)


def test_instrumented_chat_openai_counts_the_reported_cost_once(server, instrumented, metric_reader):
    """Under instrument(), a ChatOpenAI on its own default clients is counted once, at OpenRouter's figure."""
    model = ChatOpenAI(
        model="openai/gpt-4o-mini", api_key="sk-or-test", base_url=server.url + "/api/v1", max_retries=0
    )

    with record_calls() as calls, llmmeter.track() as spend:
        model.invoke("hi")

    assert [c.cost.total for c in calls if c.counted] == [REPORTED]
    assert spend.cost_usd == REPORTED
    ((_, total),) = points(metric_reader, "llmmeter.cost")
    assert total == float(REPORTED)


def test_handler_alone_reads_the_cost_chat_openai_kept(openrouter, handler, span_exporter):
    """With only the callback handler, the cost is read from the raw usage ChatOpenAI keeps."""
    model = chat_openai(
        httpx2.MockTransport(fakes.mock_handler(httpx2, openrouter)), model="openai/gpt-4o-mini"
    )

    with record_calls() as calls:
        model.invoke("hi", config={"callbacks": [handler]})

    (record,) = calls
    assert record.cost.total == REPORTED
    assert record.cost.local_total == LOCAL
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.cost.source"] == "provider"
