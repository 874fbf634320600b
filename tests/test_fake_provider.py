"""llmmeter.testing.fake_provider(), used the way a user's own test would: real SDK clients, no key,
no network, and exact costs to assert."""

from __future__ import annotations

from decimal import Decimal

import anthropic
import openai
import pytest

import llmmeter
from llmmeter.testing import fake_provider, record_calls

M = Decimal(1_000_000)
# gpt-4o-mini: $0.15 input, $0.60 output per 1M tokens (OpenAI's price list, as quoted by
# https://www.promptunit.ai/blog/gpt-4o-mini-pricing-guide).
GPT4O_MINI_IN, GPT4O_MINI_OUT = Decimal("0.15"), Decimal("0.60")
# claude-haiku-4-5: $1.00 input, $5.00 output per 1M tokens (Anthropic's pricing page, as quoted by
# https://hivebook.wiki/wiki/claude-haiku-4-5-anthropic-s-fast-tier).
HAIKU_IN, HAIKU_OUT = Decimal("1.00"), Decimal("5.00")


def test_openai_calls_against_the_fake_provider_are_priced():
    """A metered openai client pointed at the fake provider gets an answer, and the call's cost is
    its usage at gpt-4o-mini's rates."""
    with fake_provider() as provider, record_calls() as calls:
        client = llmmeter.meter_client(openai.OpenAI(api_key="test", base_url=provider.openai_base_url))
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "What do otters eat?"}]
        )

    assert reply.choices[0].message.content
    assert reply.model == "gpt-4o-mini-2024-07-18"
    (call,) = calls
    assert call.usage is not None
    assert call.usage.input_tokens == reply.usage.prompt_tokens
    assert call.usage.output_tokens == reply.usage.completion_tokens
    expected = (call.usage.input_tokens * GPT4O_MINI_IN + call.usage.output_tokens * GPT4O_MINI_OUT) / M
    assert call.cost.total == expected
    assert calls.total_cost == expected
    (request,) = provider.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["messages"] == [{"role": "user", "content": "What do otters eat?"}]


def test_the_same_request_always_costs_the_same():
    """Usage is a pure function of the request, so a user's test can pin a cost."""
    costs = []
    for _ in range(2):
        with fake_provider() as provider, record_calls() as calls:
            client = llmmeter.meter_client(openai.OpenAI(api_key="test", base_url=provider.openai_base_url))
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
        costs.append(calls.total_cost)
    assert costs[0] == costs[1] > 0


def test_anthropic_calls_against_the_fake_provider_are_priced():
    """The anthropic SDK takes provider.anthropic_base_url; its call is priced at claude-haiku-4-5's rates."""
    with fake_provider() as provider, record_calls() as calls:
        client = llmmeter.meter_client(
            anthropic.Anthropic(api_key="test", base_url=provider.anthropic_base_url)
        )
        message = client.messages.create(
            model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "Hello"}]
        )

    (call,) = calls.counted
    assert call.usage is not None
    assert call.usage.input_tokens == message.usage.input_tokens
    expected = (call.usage.input_tokens * HAIKU_IN + call.usage.output_tokens * HAIKU_OUT) / M
    assert call.cost.total == expected


def test_a_requested_error_status_reaches_the_sdk():
    """The x-fake-status header makes the fake provider answer with that error, as the API would."""
    with fake_provider() as provider, record_calls() as calls:
        client = openai.OpenAI(api_key="test", base_url=provider.openai_base_url, max_retries=0)
        client = llmmeter.meter_client(client)
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "Hi"}],
                extra_headers={"x-fake-status": "500"},
            )
    (call,) = calls
    assert call.error_type is not None
