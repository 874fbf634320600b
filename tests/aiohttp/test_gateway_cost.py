"""aiohttp sessions through gateways that state costs: the same seam as httpx's (``_http.body_meter``).

LiteLLM proxy's ``x-litellm-response-cost`` header (docs.litellm.ai, "Response headers") and
OpenRouter's ``usage.cost`` in the last chunk of a stream (openrouter.ai/docs/use-cases/usage-accounting).
Local estimates: gpt-4o-mini at $0.15 input / $0.60 output per 1M tokens (openai.com/api/pricing).
"""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest

from llmmeter.testing import record_calls
from tests import fakes
from tests.transport.test_reported_cost import openrouter_stream, openrouter_usage

pytestmark = pytest.mark.usefixtures("instrumented")

LOCAL = (194 * Decimal("0.15") + 2 * Decimal("0.60")) / Decimal(1_000_000)
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def test_litellm_header_cost_through_aiohttp():
    """A session's non-streamed call through LiteLLM proxy costs what its header says."""
    reply = fakes.Reply(
        fakes.chat_completion(model="gpt-4o-mini-2024-07-18", prompt_tokens=194, completion_tokens=2),
        headers={"x-litellm-response-cost": "0.000031", "x-litellm-call-id": "c1"},
    )
    with fakes.LoopbackServer(lambda method, path, body: reply) as server, record_calls() as calls:
        async with aiohttp.ClientSession() as session:
            async with session.post(server.url + "/v1/chat/completions", json=CHAT) as response:
                await response.json()

    (record,) = calls
    assert record.cost.total == Decimal("0.000031")
    assert record.cost.origin == "provider"
    assert record.cost.local_total == LOCAL


async def test_openrouter_stream_cost_through_aiohttp():
    """A session reading OpenRouter's stream line by line gets the cost of its last chunk."""
    reply = fakes.Reply(chunks=openrouter_stream(openrouter_usage(0.0000303)))
    with fakes.LoopbackServer(lambda method, path, body: reply) as server, record_calls() as calls:
        async with aiohttp.ClientSession() as session:
            body = {**CHAT, "model": "openai/gpt-4o-mini", "stream": True}
            async with session.post(server.url + "/api/v1/chat/completions", json=body) as response:
                async for _ in response.content:
                    pass

    (record,) = calls
    assert record.cost.total == Decimal("0.0000303")
    assert record.cost.origin == "provider"
