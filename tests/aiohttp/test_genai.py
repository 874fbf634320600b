"""google-genai's async client, which sends through aiohttp when aiohttp is installed, under instrument()."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from google import genai
from google.genai import types

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.aiohttp.conftest import M
from tests.otel import llm_spans

pytestmark = [
    pytest.mark.usefixtures("instrumented"),
    # google-genai subclasses aiohttp.ClientSession, which aiohttp discourages with a warning.
    pytest.mark.filterwarnings("ignore:Inheritance class .* from ClientSession:DeprecationWarning"),
]

# Gemini 2.5 Flash, paid tier, per 1M tokens: input $0.30 (text), output $2.50, thinking included.
# https://ai.google.dev/gemini-api/docs/pricing (Gemini 2.5 Flash)
FLASH_IN, FLASH_OUT = Decimal("0.30"), Decimal("2.50")
API_KEY = "AIzaSy-aiohttp-secret-key"


def usage(prompt: int, candidates: int, thoughts: int) -> dict[str, Any]:
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "thoughtsTokenCount": thoughts,
        "totalTokenCount": prompt + candidates + thoughts,
    }


def response(text: str, *, finish: bool = True, **counts: int) -> dict[str, Any]:
    """A GenerateContentResponse."""
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = "STOP"
    return {
        "candidates": [candidate],
        "usageMetadata": usage(**counts),
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-aio-1",
    }


STREAM = [
    b"data: " + json.dumps(response("Hel", finish=False, prompt=1200, candidates=1, thoughts=300)).encode(),
    b"data: " + json.dumps(response("lo", finish=False, prompt=1200, candidates=2, thoughts=300)).encode(),
    b"data: " + json.dumps(response("!", prompt=1200, candidates=50, thoughts=300)).encode(),
]
COST = (1200 * FLASH_IN + (50 + 300) * FLASH_OUT) / M


def answer(method: str, path: str, body: bytes) -> fakes.Reply:
    if path.endswith(":streamGenerateContent"):
        return fakes.Reply(chunks=[chunk + b"\r\n\r\n" for chunk in STREAM])
    return fakes.Reply(response("Hello", prompt=1200, candidates=50, thoughts=300))


def client(url: str) -> genai.Client:
    return genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=url))


async def test_generate_content_through_aiohttp_is_priced(span_exporter):
    """client.aio.models.generate_content sends through aiohttp; the call is priced from usageMetadata."""
    with fakes.LoopbackServer(answer) as server, record_calls() as calls:
        gemini = client(server.url)
        reply = await gemini.aio.models.generate_content(model="gemini-2.5-flash", contents="hello")
        await gemini.aio.aclose()

    assert reply.text == "Hello"
    (call,) = calls
    assert (call.provider, call.request_model, call.ending) == ("gcp.gemini", "gemini-2.5-flash", "complete")
    assert call.cost.total == COST
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.usage.input_tokens"] == 1200
    assert span.attributes["gen_ai.usage.output_tokens"] == 350
    assert API_KEY not in span.to_json()


async def test_generate_content_stream_through_aiohttp_takes_the_last_usage(span_exporter):
    """A streamed answer read through aiohttp is priced once, from the last chunk's cumulative usage."""
    with fakes.LoopbackServer(answer) as server, llmmeter.track() as spend:
        gemini = client(server.url)
        pieces = [
            chunk.text
            async for chunk in await gemini.aio.models.generate_content_stream(
                model="gemini-2.5-flash", contents="hello"
            )
        ]
        await gemini.aio.aclose()

    assert "".join(pieces) == "Hello!"
    assert (spend.calls, spend.cost_usd) == (1, COST)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.usage.cost.amount"] == float(COST)
