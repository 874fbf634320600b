"""A very large non-streamed response: priced exactly, with llmmeter's extra memory a small fraction of it."""

from __future__ import annotations

import gc
import json
import tracemalloc
from decimal import Decimal
from typing import Any

import httpx2
import openai
import pytest

import llmmeter
from llmmeter._providers._anthropic import MESSAGES
from llmmeter._providers._base import RequestInfo
from llmmeter._providers._large import BodyWindow
from llmmeter._providers._openai import CHAT, RESPONSES
from llmmeter.testing import record_calls
from tests import fakes

BODY_MB = 20
# gpt-4o-2024-08-06: $2.50 input, $10.00 output per 1M tokens (openai.com/api/pricing).
COST = (1_000 * Decimal("2.50") + 5_000_000 * Decimal("10.00")) / 1_000_000


def large_completion() -> bytes:
    body = fakes.chat_completion(
        prompt_tokens=1_000, completion_tokens=5_000_000, content="x" * (BODY_MB << 20)
    )
    return json.dumps(body).encode()


class Chunks(httpx2.SyncByteStream):
    """The body in 64 KiB pieces, as a socket hands it over."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def __iter__(self) -> Any:
        for start in range(0, len(self._data), 64 << 10):
            yield self._data[start : start + (64 << 10)]


def client(body: bytes, metered: bool, tracer_provider: Any, meter_provider: Any) -> openai.OpenAI:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "application/json"}, stream=Chunks(body))

    transport: Any = httpx2.MockTransport(handler)
    if metered:
        transport = llmmeter.MeteredTransport(
            transport, tracer_provider=tracer_provider, meter_provider=meter_provider
        )
    return openai.OpenAI(api_key="sk-test", http_client=httpx2.Client(transport=transport), max_retries=0)


def peak_of(sdk: openai.OpenAI) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        reply = sdk.chat.completions.create(model="gpt-4o", messages=[])
        assert len(reply.choices[0].message.content or "") == BODY_MB << 20
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_body_is_priced_from_its_ends_with_little_extra_memory(tracer_provider, meter_provider):
    """A 20 MB completion through the openai SDK: priced exactly; llmmeter adds under 10% of the body
    to the peak heap (it keeps only the body's ends, and never parses it whole)."""
    body = large_completion()
    bare = peak_of(client(body, False, tracer_provider, meter_provider))
    with record_calls() as calls:
        metered = peak_of(client(body, True, tracer_provider, meter_provider))

    (record,) = calls
    assert (record.cost.total, record.response_model) == (COST, "gpt-4o-2024-08-06")
    assert record.usage.output_tokens == 5_000_000
    assert metered - bare < 0.10 * len(body), f"llmmeter added {(metered - bare) / 2**20:.1f} MiB"


@pytest.mark.parametrize(
    ("adapter", "body", "provider"),
    [
        (
            CHAT,
            fakes.chat_completion(prompt_tokens=700, completion_tokens=90, content="y" * (3 << 20)),
            "openai",
        ),
        (RESPONSES, fakes.responses_body(input_tokens=700, output_tokens=90), "openai"),
        (MESSAGES, fakes.anthropic_message(input_tokens=700, output_tokens=90), "anthropic"),
    ],
    ids=["chat", "responses", "anthropic"],
)
def test_the_ends_of_a_large_body_hold_what_is_priced(adapter, body, provider):
    """Each API's large body, read by its ends only, gives the same model, id and usage as parsed whole."""
    if adapter is not CHAT:  # pad the middle of the body, as a long output does
        key = "output" if adapter is RESPONSES else "content"
        body[key] = [*body[key], {"type": "text", "text": "z" * (3 << 20)}]
    data = json.dumps(body).encode()
    window = BodyWindow()
    for start in range(0, len(data), 50_000):
        window.add(data[start : start + 50_000])
    request = RequestInfo(provider=provider, operation="chat")

    from_ends = adapter.parse_response(request, window.value(), False)
    whole = adapter.parse_response(request, json.loads(data), False)

    assert (from_ends.model, from_ends.response_id, from_ends.usage) == (
        whole.model,
        whole.response_id,
        whole.usage,
    )
    assert from_ends.usage.output_tokens == 90
