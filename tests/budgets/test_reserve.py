"""Reserve, then settle, on the in-process store: requests that state an output limit never overshoot."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llmmeter
from llmmeter._budgets._estimate import stated_output_limit
from llmmeter.testing import fake_provider, record_calls
from tests.budgets.billing import INPUT_RATE, URL, Provider, body, size, worst_case
from tests.otel import llm_spans, points


def metered(handler: Any, tracer_provider: Any = None, meter_provider: Any = None) -> httpx2.Client:
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(handler), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    return httpx2.Client(transport=transport)


async def test_500_concurrent_calls_that_state_max_tokens_never_pass_the_limit():
    """500 calls started together under a budget worth 10 worst cases: the limit is never passed, the
    budget's spend is what the provider billed, and nothing stays reserved."""
    provider = Provider()
    answer = provider.handler()

    async def slow(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(0.01)
        return answer(request)

    http = httpx2.AsyncClient(transport=llmmeter.AsyncMeteredTransport(httpx2.MockTransport(slow)))
    limit = 10 * worst_case(body())
    outcomes: list[str] = []

    async def one() -> None:
        try:
            async with llmmeter.budget(usd=limit, name="tenant:acme", per="day"):
                await http.post(URL, json=body())
            outcomes.append("sent")
        except llmmeter.BudgetExceeded:
            outcomes.append("refused")

    await asyncio.gather(*(one() for _ in range(500)))

    status = llmmeter.budget_status("tenant:acme", per="day")
    assert provider.total <= limit
    assert outcomes.count("sent") == len(provider.billed) == 10  # the first 10 fit, in flight together
    assert status.spent_usd == provider.total
    assert status.reserved_usd == 0


def test_blocks_with_one_name_and_window_share_one_spend():
    """Two blocks named alike share their spend; each enforces its own limit against it."""
    provider = Provider()
    http = metered(provider.handler())
    one = worst_case(body())

    with llmmeter.budget(usd=3 * one, name="shared", per="month") as first:
        http.post(URL, json=body())
    with llmmeter.budget(usd=3 * one, name="shared", per="month") as second:
        http.post(URL, json=body())
        with llmmeter.budget(usd=provider.total + one / 2, name="shared", per="month"):
            with pytest.raises(llmmeter.BudgetExceeded) as refused:
                http.post(URL, json=body())

    assert first.calls == second.calls == 1
    assert len(provider.billed) == 2
    assert refused.value.spent_usd == provider.total
    assert llmmeter.budget_status("shared", per="month").spent_usd == provider.total
    assert llmmeter.budget_status("shared").spent_usd == 0  # another window: per=None


def test_unnamed_blocks_keep_their_own_spend():
    """Unnamed budgets never share: each block starts at zero."""
    provider = Provider()
    http = metered(provider.handler())
    one = worst_case(body())

    for _ in range(3):
        with llmmeter.budget(usd=one):
            http.post(URL, json=body())

    assert len(provider.billed) == 3


def test_the_actual_cost_replaces_the_reservation():
    """While a call is in flight its worst case is reserved; when it ends its billed cost is spent."""
    provider = Provider()
    answer = provider.handler()
    in_flight: list[llmmeter._budgets._status.BudgetStatus] = []

    def looking(request: httpx2.Request) -> httpx2.Response:
        in_flight.append(llmmeter.budget_status("watched"))
        return answer(request)

    http = metered(looking)
    with llmmeter.budget(usd="1", name="watched"):
        http.post(URL, json=body(max_tokens=300))

    after = llmmeter.budget_status("watched")
    assert in_flight[0].reserved_usd == worst_case(body(max_tokens=300))
    assert in_flight[0].spent_usd == 0
    assert (after.spent_usd, after.reserved_usd) == (provider.total, 0)


def test_a_failed_call_releases_its_reservation():
    """A call answered with an error costs nothing and gives its reservation back."""
    http = metered(lambda request: httpx2.Response(500, json={"error": {"message": "boom"}}))

    with llmmeter.budget(usd="1", name="failing"):
        http.post(URL, json=body())

    status = llmmeter.budget_status("failing")
    assert (status.spent_usd, status.reserved_usd) == (0, 0)


async def test_a_cancelled_call_releases_its_reservation():
    """A call cancelled in flight gives its reservation back."""
    started = asyncio.Event()

    async def hang(request: httpx2.Request) -> httpx2.Response:
        started.set()
        await asyncio.sleep(60)
        raise AssertionError("not reached")

    http = httpx2.AsyncClient(transport=llmmeter.AsyncMeteredTransport(httpx2.MockTransport(hang)))

    async def call() -> None:
        async with llmmeter.budget(usd="1", name="cancelled"):
            await http.post(URL, json=body())

    task = asyncio.create_task(call())
    await started.wait()
    reserved_in_flight = llmmeter.budget_status("cancelled").reserved_usd
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert reserved_in_flight == worst_case(body())
    assert llmmeter.budget_status("cancelled").reserved_usd == 0


def test_a_request_without_an_output_limit_reserves_its_input_only():
    """With no max_tokens the reservation is the body's bytes at the input rate; the refusal says so."""
    request = body(max_tokens=None, text="x" * 400)
    http = metered(Provider().handler())

    with llmmeter.budget(usd=size(request) * INPUT_RATE - Decimal("0.000000001")):
        with pytest.raises(llmmeter.BudgetExceeded) as refused:
            http.post(URL, json=request)

    assert refused.value.request_usd == size(request) * INPUT_RATE
    assert refused.value.spent_usd == refused.value.reserved_usd == 0


def test_a_refused_request_has_a_span_with_the_refusal_event(tracer_provider, meter_provider, span_exporter):
    """The refused request's span ends in error with a llmmeter.budget.refused event saying why."""
    seen: list[Any] = []
    http = metered(
        lambda request: seen.append(request) or httpx2.Response(200), tracer_provider, meter_provider
    )

    with llmmeter.budget(usd="0.00001", name="tiny"), pytest.raises(llmmeter.BudgetExceeded):
        http.post(URL, json=body(max_tokens=1000))

    (span,) = llm_spans(span_exporter.get_finished_spans())
    (event,) = span.events
    assert seen == []
    assert span.attributes["error.type"] == "BudgetExceeded"
    assert event.name == "llmmeter.budget.refused"
    assert event.attributes["llmmeter.budget.name"] == "tiny"
    assert event.attributes["llmmeter.budget.limit"] == pytest.approx(0.00001)
    assert event.attributes["llmmeter.budget.request_cost"] == pytest.approx(float(worst_case(body(1000))))


def test_budget_gauges_report_spent_and_reserved_per_name(tracer_provider, meter_provider, metric_reader):
    """llmmeter.budget.spent and .reserved report each named budget's current window."""
    provider = Provider()
    http = metered(provider.handler(), tracer_provider, meter_provider)

    with llmmeter.budget(usd="1", name="gauged", per="hour"):
        http.post(URL, json=body())

    spent = points(metric_reader, "llmmeter.budget.spent")
    reserved = points(metric_reader, "llmmeter.budget.reserved")
    labels = {"llmmeter.budget.name": "gauged", "llmmeter.budget.period": "hour"}
    assert (labels, pytest.approx(float(provider.total))) in spent
    assert (labels, 0.0) in reserved


def test_warn_mode_reserves_but_never_refuses():
    """mode="warn" lets a request through that would pass the limit, and still counts it."""
    provider = Provider()
    http = metered(provider.handler())

    with llmmeter.budget(usd="0.000001", name="lenient", mode="warn"):
        http.post(URL, json=body())
        http.post(URL, json=body())

    assert llmmeter.budget_status("lenient").spent_usd == provider.total
    assert len(provider.billed) == 2


@pytest.mark.parametrize(
    ("request_body", "limit"),
    [
        ({"max_tokens": 10}, 10),
        ({"max_completion_tokens": 20, "max_tokens": 99}, 20),
        ({"max_output_tokens": 30}, 30),
        ({"generationConfig": {"maxOutputTokens": 40}}, 40),
        ({"inferenceConfig": {"maxTokens": 50}}, 50),
        ({"max_tokens": "many"}, None),
        ({}, None),
    ],
)
def test_stated_output_limit_reads_every_form(request_body, limit):
    """The output limit of OpenAI, Anthropic, Responses, Gemini and Bedrock Converse bodies."""
    assert stated_output_limit(request_body) == limit


@pytest.mark.parametrize(
    "prompt",
    ["Hi", "Summarize the plot of Hamlet in three sentences.", "Ünïcödé ✓ 日本語のテキスト 🦦" * 20],
)
def test_the_input_estimate_is_never_below_what_the_fake_provider_bills(prompt):
    """Through the openai and anthropic SDKs against the fake provider, each request's body size is at
    least the input tokens it was billed."""
    llmmeter.instrument(integrations=False)
    try:
        with fake_provider() as server, record_calls() as calls:
            oa = openai.OpenAI(api_key="test", base_url=server.openai_base_url)
            oa.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
            oa.responses.create(model="gpt-4o-mini", input=prompt)
            claude = anthropic.Anthropic(api_key="test", base_url=server.anthropic_base_url)
            claude.messages.create(
                model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": prompt}]
            )
            headers = [{k.lower(): v for k, v in r.headers.items()} for r in server.requests]
            bodies = [int(h["content-length"]) for h in headers]
    finally:
        llmmeter.uninstrument()
    billed = [call.usage.input_tokens for call in calls]
    assert len(billed) == len(bodies) == 3
    assert all(size >= tokens for size, tokens in zip(bodies, billed, strict=True)), (bodies, billed)


_TOKENS_PER_MESSAGE = 4
"""What OpenAI bills per chat message beyond its text (``<|start|>{role}\\n{content}<|end|>\\n``), at most."""


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=200), min_size=1, max_size=8))
def test_a_chat_body_has_a_byte_for_every_byte_level_token(texts):
    """A chat body's size covers its texts' UTF-8 bytes (a byte-level BPE token is at least one byte)
    plus the few tokens billed per message, for any text."""
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": text} for text in texts]}
    content = httpx2.Request("POST", URL, json=request).content
    billable = sum(len(text.encode()) for text in texts) + _TOKENS_PER_MESSAGE * len(texts) + 3
    assert len(content) >= billable
    assert json.loads(content) == request
