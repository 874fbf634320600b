"""The same adapters and framings whatever carries the bytes: Ollama's NDJSON and Bedrock's
event-stream read through aiohttp under ``llmmeter.instrument()``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import aiohttp
import pytest

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.providers import wire

MODEL = "claude-sonnet-4-5-20250929"


@pytest.fixture
def instrumented(tracer_provider, meter_provider) -> Iterator[None]:
    """``llmmeter.instrument()`` for the test, undone after it."""
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    yield
    llmmeter.uninstrument()


def handler(method: str, path: str, body: bytes) -> fakes.Reply:
    """Ollama's NDJSON stream, or Bedrock's event-stream, by path."""
    if path == "/api/chat":
        lines = wire.ollama_lines(model="llama3.2", prompt_eval_count=21, eval_count=8)
        return fakes.Reply(chunks=lines, headers={"content-type": wire.NDJSON})
    chunks = wire.bedrock_stream(model=MODEL, input_tokens=300, output_tokens=60)
    return fakes.Reply(chunks=chunks, headers={"content-type": wire.EVENT_STREAM})


@pytest.mark.usefixtures("instrumented")
async def test_ollama_stream_through_aiohttp():
    """An Ollama chat stream read line by line through aiohttp: its counts are recorded."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        async with aiohttp.ClientSession() as session:
            body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
            async with session.post(f"{server.url}/api/chat", json=body) as response:
                lines = [json.loads(line) async for line in response.content if line.strip()]

    assert lines[-1]["done"] is True
    (record,) = calls
    assert (record.provider, record.stream, record.usage.input_tokens, record.usage.output_tokens) == (
        "ollama",
        True,
        21,
        8,
    )


@pytest.mark.usefixtures("instrumented")
async def test_bedrock_event_stream_through_aiohttp():
    """Bedrock's event-stream read in arbitrary pieces through aiohttp: priced at the ``us.`` rates."""
    url = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke-with-response-stream"
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        async with aiohttp.ClientSession() as session:
            async with session.post(server.url + url, json={"max_tokens": 10, "messages": []}) as response:
                received = b"".join([piece async for piece in response.content.iter_chunked(7)])

    assert received == b"".join(wire.bedrock_stream(model=MODEL, input_tokens=300, output_tokens=60))
    (record,) = calls
    # Regional Claude Sonnet 4.5 on Bedrock: $3.30 input, $16.50 output per 1M (global + 10%).
    # https://platform.claude.com/docs/en/about-claude/pricing (Third-party platform pricing)
    assert record.cost.total == (300 * Decimal("3.30") + 60 * Decimal("16.50")) / 10**6
