"""Known calls for the export tests: the real openai and anthropic SDKs over httpx2.MockTransport.

``run_known_calls()`` runs inside a subprocess whose global providers ``llmmeter.configure()``
installed; the constants below are what those calls must add up to, computed by hand.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import TYPE_CHECKING

import httpx2

import llmmeter
from tests import fakes

if TYPE_CHECKING:
    import anthropic
    import openai

M = Decimal(1_000_000)

# Per 1M tokens. gpt-4o: $2.50 input, $1.25 cached, $10 output. gpt-4o-mini: $0.15 / $0.60.
# gpt-5.4: $2.50 input, $0.25 cached, $15 output. claude-sonnet-4-6: $3 input, $0.30 cache read,
# $3.75 (5-minute) cache write, $15 output. OpenAI's prompt tokens include the cached ones;
# Anthropic's input tokens exclude cache reads and writes.
EXPECTED_COST_BY_MODEL = {
    # two calls: 1000 prompt tokens of which 200 cached, 500 output
    "gpt-4o-2024-08-06": 2 * (800 * Decimal("2.50") + 200 * Decimal("1.25") + 500 * Decimal("10.00")) / M,
    # one plain call (10,000 in, 2,000 out) and one streamed call (1,000 in, 500 out)
    "gpt-4o-mini-2024-07-18": (11_000 * Decimal("0.15") + 2500 * Decimal("0.60")) / M,
    # 20,000 input of which 5,000 cached; 3,000 output of which 1,000 reasoning (billed as output)
    "gpt-5.4-2026-03-05": (15_000 * Decimal("2.50") + 5000 * Decimal("0.25") + 3000 * Decimal("15.00")) / M,
    "claude-sonnet-4-6": (
        1000 * Decimal("3") + 4000 * Decimal("0.30") + 2000 * Decimal("3.75") + 300 * Decimal("15")
    )
    / M,
}
EXPECTED_COST_BY_PROVIDER = {
    "openai": EXPECTED_COST_BY_MODEL["gpt-4o-2024-08-06"]
    + EXPECTED_COST_BY_MODEL["gpt-4o-mini-2024-07-18"]
    + EXPECTED_COST_BY_MODEL["gpt-5.4-2026-03-05"],
    "anthropic": EXPECTED_COST_BY_MODEL["claude-sonnet-4-6"],
}
EXPECTED_COST_BY_TENANT = {
    "acme": EXPECTED_COST_BY_MODEL["gpt-4o-2024-08-06"] + EXPECTED_COST_BY_MODEL["gpt-4o-mini-2024-07-18"],
    "globex": EXPECTED_COST_BY_MODEL["gpt-5.4-2026-03-05"] + EXPECTED_COST_BY_MODEL["claude-sonnet-4-6"],
}
# llmmeter.tokens by gen_ai.token.type; Anthropic's input counts 1000 + 4000 read + 2000 written.
EXPECTED_TOKENS = {
    "input": 2 * 1000 + 10_000 + 1000 + 20_000 + 7000,
    "output": 2 * 500 + 2000 + 500 + 3000 + 300,
    "cache_read": 2 * 200 + 5000 + 4000,
    "cache_write": 2000,
    "reasoning": 1000,
}
PRICED_CALLS = 6
STREAMED_CALLS = 1
FAILED_CALLS = 1


def _http_client(reply: fakes.Reply) -> httpx2.Client:
    transport = llmmeter.MeteredTransport(httpx2.MockTransport(fakes.mock_handler(httpx2, reply)))
    return httpx2.Client(transport=transport)


def raw_chat_call(model: str = "gpt-4o", **usage: int) -> None:
    """One chat completion over a bare httpx2 client (no SDK to import), metered on the global providers."""
    reply = fakes.Reply(fakes.chat_completion(model=model, **usage))
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    _http_client(reply).post("https://api.openai.com/v1/chat/completions", json=body).raise_for_status()


def openai_client(reply: fakes.Reply) -> openai.OpenAI:
    """An openai client whose every request gets ``reply``, metered on the global providers."""
    import openai

    return openai.OpenAI(
        api_key="sk-test",
        base_url="https://api.openai.com/v1",
        http_client=_http_client(reply),
        max_retries=0,
    )


def anthropic_client(reply: fakes.Reply) -> anthropic.Anthropic:
    """An anthropic client whose every request gets ``reply``, metered on the global providers."""
    import anthropic

    return anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="https://api.anthropic.com",
        http_client=_http_client(reply),
        max_retries=0,
    )


def _chat(reply: fakes.Reply, model: str) -> None:
    openai_client(reply).chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])


def run_known_calls() -> None:
    """Six priced calls (one streamed) and one failing call, for two tenants."""
    import openai

    with llmmeter.attributes(tenant="acme"):
        gpt_4o = fakes.chat_completion(
            model="gpt-4o-2024-08-06", prompt_tokens=1000, cached_tokens=200, completion_tokens=500
        )
        _chat(fakes.Reply(gpt_4o), "gpt-4o")
        _chat(fakes.Reply(gpt_4o), "gpt-4o")
        mini = fakes.chat_completion(
            model="gpt-4o-mini-2024-07-18", prompt_tokens=10_000, completion_tokens=2000
        )
        _chat(fakes.Reply(mini), "gpt-4o-mini")
        stream = fakes.chat_stream(model="gpt-4o-mini-2024-07-18", prompt_tokens=1000, completion_tokens=500)
        chunks = openai_client(fakes.Reply(chunks=stream)).chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in chunks:
            pass
        failing = fakes.Reply({"error": {"message": "boom", "type": "server_error"}}, status=500)
        with contextlib.suppress(openai.InternalServerError):
            _chat(failing, "gpt-4o-mini")
    with llmmeter.attributes(tenant="globex"):
        body = fakes.responses_body(
            model="gpt-5.4-2026-03-05",
            input_tokens=20_000,
            cached_tokens=5000,
            output_tokens=3000,
            reasoning_tokens=1000,
        )
        openai_client(fakes.Reply(body)).responses.create(model="gpt-5.4", input="hi")
        message = fakes.anthropic_message(
            model="claude-sonnet-4-6", input_tokens=1000, cache_read=4000, cache_write=2000, output_tokens=300
        )
        anthropic_client(fakes.Reply(message)).messages.create(
            model="claude-sonnet-4-6", max_tokens=512, messages=[{"role": "user", "content": "hi"}]
        )
