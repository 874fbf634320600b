"""Budgets over LangChain runs: a run whose HTTP call is not metered reserves, and can be refused."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx2
import pytest

import llmmeter
from tests import fakes
from tests.langchain.conftest import chat_openai

M = Decimal(1_000_000)
# gpt-4o-2024-08-06: $2.50 input, $10.00 output per 1M tokens (openai.com/api/pricing).
ONE_CALL = (100 * Decimal("2.50") + 20 * Decimal("10.00")) / M
PROMPT = "Tell me about otters"
# What the run reserves: the prompt's bytes plus 8 per message as input, max_tokens=200 as output.
WORST_CASE = ((len(PROMPT) + 8) * Decimal("2.50") + 200 * Decimal("10.00")) / M


def test_a_run_whose_http_call_is_not_metered_is_refused_before_it_starts(handler, transport, openai_api):
    """ChatOpenAI over an unmetered client: the run reserves its worst case and is refused (the
    request never sent) when that would pass the limit; the refusal reaches the caller."""
    model = chat_openai(transport, max_tokens=200)
    config = {"callbacks": [handler]}

    with llmmeter.budget(usd=ONE_CALL + WORST_CASE - Decimal("0.000000001"), name="chain") as spend:
        model.invoke(PROMPT, config=config)
        with pytest.raises(llmmeter.BudgetExceeded) as refused:
            model.invoke(PROMPT, config=config)

    assert len(openai_api.requests) == 1
    assert spend.cost_usd == ONE_CALL
    assert refused.value.request_usd == WORST_CASE
    status = llmmeter.budget_status("chain")
    assert (status.spent_usd, status.reserved_usd) == (ONE_CALL, 0)


def test_a_metered_http_call_takes_over_its_runs_reservation(
    handler, openai_api, tracer_provider, meter_provider
):
    """Over a metered client only the HTTP call's reservation (from its body) holds while it is in
    flight: the run's is given back, never counted twice."""
    answer = fakes.mock_handler(httpx2, openai_api)
    in_flight: list[Decimal] = []

    def looking(request: httpx2.Request) -> httpx2.Response:
        in_flight.append(llmmeter.budget_status("metered").reserved_usd)
        body_size = len(request.content)
        in_flight.append((body_size * Decimal("2.50") + 200 * Decimal("10.00")) / M)
        return answer(request)

    model = chat_openai(
        httpx2.MockTransport(looking),
        metered=True,
        providers={"tracer_provider": tracer_provider, "meter_provider": meter_provider},
        max_tokens=200,
    )
    with llmmeter.budget(usd="1", name="metered"):
        model.invoke(PROMPT, config={"callbacks": [handler]})

    reserved, http_worst_case = in_flight
    assert reserved == http_worst_case
    status = llmmeter.budget_status("metered")
    assert (status.spent_usd, status.reserved_usd) == (ONE_CALL, 0)


@pytest.fixture(autouse=True)
def _fresh_budget_store() -> Iterator[None]:
    """Named budgets start empty in each test."""
    yield
    from llmmeter._budgets import _stores

    _stores._memory = None
    _stores._store = None
    _stores._configured = False
