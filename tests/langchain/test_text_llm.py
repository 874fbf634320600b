"""Legacy text LLMs: langchain-openai's OpenAI (Completions API) over an httpx2 MockTransport."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx2
import pytest
from langchain_openai import OpenAI

import llmmeter
from llmmeter.testing import record_calls
from tests.otel import points

M = Decimal(1_000_000)
INSTRUCT = (Decimal("1.50") * 100 + Decimal("2.00") * 20) / M
"""gpt-3.5-turbo-instruct, 100 input and 20 output tokens, at $1.50 / $2.00 per 1M."""


def text_llm(transport: Any, *, metered: bool = False, providers: dict[str, Any] | None = None) -> OpenAI:
    """A real langchain-openai OpenAI (text completions) whose clients go through ``transport``."""
    client = httpx2.Client(transport=transport)
    async_client = httpx2.AsyncClient(transport=transport)
    if metered:
        client = llmmeter.meter_client(client, **(providers or {}))
        async_client = llmmeter.meter_client(async_client, **(providers or {}))
    return OpenAI(
        model="gpt-3.5-turbo-instruct",
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        http_client=client,
        http_async_client=async_client,
        max_retries=0,
    )


def test_text_completion_is_recorded(transport, handler, span_exporter):
    """invoke on a text LLM makes one text_completion span, priced from the response's usage."""
    with record_calls() as calls:
        text_llm(transport).invoke("hi", config={"callbacks": [handler]})

    assert [(c.operation, c.provider, c.cost.total) for c in calls] == [
        ("text_completion", "openai", INSTRUCT)
    ]
    (span,) = span_exporter.get_finished_spans()
    assert span.name == "text_completion gpt-3.5-turbo-instruct"


async def test_async_text_completion_is_recorded(transport, handler):
    """ainvoke on a text LLM is recorded too."""
    with record_calls() as calls:
        await text_llm(transport).ainvoke("hi", config={"callbacks": [handler]})

    assert [c.cost.total for c in calls] == [INSTRUCT]


def test_batched_prompts_share_one_request_counted_once(
    transport, openai_api, handler, tracer_provider, meter_provider, metric_reader
):
    """batch() sends three prompts in ONE request: three runs, one HTTP call, its cost counted once."""
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}

    with record_calls() as calls:
        text_llm(transport, metered=True, providers=providers).batch(
            ["a", "b", "c"], config={"callbacks": [handler]}
        )

    assert len(openai_api.requests) == 1
    assert sorted((c.capture, c.counted) for c in calls) == [("http", True)] + [("langchain", False)] * 3
    ((_, total),) = points(metric_reader, "llmmeter.cost")
    assert total == pytest.approx(float(INSTRUCT))


@pytest.mark.xfail(
    strict=True,
    reason="LangChain starts a text LLM's async callbacks in tasks of their own (asyncio.gather), so the "
    "handler cannot reach the caller's context: over a metered client such a call is counted twice",
)
async def test_async_text_completion_over_a_metered_client_is_counted_once(
    transport, handler, tracer_provider, meter_provider
):
    """(Known limitation) ainvoke on a text LLM over a metered client."""
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}

    with record_calls() as calls:
        await text_llm(transport, metered=True, providers=providers).ainvoke(
            "hi", config={"callbacks": [handler]}
        )

    assert calls.total_cost == INSTRUCT
