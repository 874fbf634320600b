"""The real cohere ClientV2 against a loopback server speaking Cohere's v2 API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from typing import Any

import cohere
import httpx
import pytest

import llmmeter
from llmmeter._providers._base import RequestInfo
from llmmeter._providers._cohere import COHERE_CHAT
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans
from tests.providers import wire

M = Decimal(1_000_000)
# Command A: $2.50 input, $10.00 output per 1M tokens; Embed 4: $0.12 per 1M text tokens.
# https://cohere.com/pricing
COMMAND_A_IN, COMMAND_A_OUT, EMBED_4_IN = Decimal("2.50"), Decimal("10.00"), Decimal("0.12")
API_KEY = "co-test-secret-key"


@pytest.fixture
def instrumented(tracer_provider, meter_provider) -> Iterator[None]:
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    yield
    llmmeter.uninstrument()


def serve(reply: fakes.Reply) -> fakes.LoopbackServer:
    return fakes.LoopbackServer(lambda method, path, body: reply)


@contextmanager
def client_of(server: fakes.LoopbackServer) -> Iterator[cohere.ClientV2]:
    with httpx.Client() as http:
        yield cohere.ClientV2(api_key=API_KEY, base_url=server.url, httpx_client=http)


@asynccontextmanager
async def async_client_of(server: fakes.LoopbackServer) -> AsyncIterator[cohere.AsyncClientV2]:
    async with httpx.AsyncClient() as http:
        yield cohere.AsyncClientV2(api_key=API_KEY, base_url=server.url, httpx_client=http)


def test_chat_bills_billed_units_not_processed_tokens(instrumented, span_exporter):
    """usage.billed_units is what is billed; usage.tokens (larger) is not."""
    reply = fakes.Reply(wire.cohere_chat(billed_in=20, billed_out=9, tokens_in=80, tokens_out=12))
    with (
        serve(reply) as server,
        llmmeter.track() as spend,
        record_calls() as calls,
        client_of(server) as client,
    ):
        response = client.chat(
            model="command-a-03-2025",
            messages=[{"role": "user", "content": "hi"}],
            temperature=0.3,
            max_tokens=50,
        )
        assert server.requests[-1][1] == "/v2/chat"

    assert response.message.content[0].text == "Hello from Command"
    expected = (20 * COMMAND_A_IN + 9 * COMMAND_A_OUT) / M
    (record,) = calls
    assert record.cost.total == expected
    assert record.cost.status == "ok"
    assert spend.cost_usd == expected
    assert (spend.calls, spend.input_tokens, spend.output_tokens) == (1, 20, 9)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.name == "chat command-a-03-2025"
    assert span.attributes["gen_ai.provider.name"] == "cohere"
    assert span.attributes["gen_ai.response.id"] == "cohere-chat-1"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("COMPLETE",)
    assert span.attributes["gen_ai.request.temperature"] == 0.3
    assert span.attributes["gen_ai.request.max_tokens"] == 50
    assert API_KEY not in span.to_json()


def test_chat_stream_reads_usage_from_message_end(instrumented, span_exporter):
    """A stream's message-end event carries the billed usage and the finish reason."""
    reply = fakes.Reply(chunks=wire.cohere_stream(("Hel", "lo"), billed_in=30, billed_out=4))
    with serve(reply) as server, record_calls() as calls, client_of(server) as client:
        events = list(
            client.chat_stream(model="command-a-03-2025", messages=[{"role": "user", "content": "hi"}])
        )

    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert text == "Hello"
    (record,) = calls
    assert record.stream is True
    assert record.ending == "complete"
    assert record.cost.total == (30 * COMMAND_A_IN + 4 * COMMAND_A_OUT) / M
    assert record.cost.status == "ok"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.response.id"] == "cohere-chat-1"


async def test_async_chat_stream(instrumented):
    """AsyncClientV2 streams are metered too."""
    reply = fakes.Reply(chunks=wire.cohere_stream(billed_in=10, billed_out=2))
    with serve(reply) as server, record_calls() as calls:
        async with async_client_of(server) as client:
            async for _ in client.chat_stream(
                model="command-a-03-2025", messages=[{"role": "user", "content": "hi"}]
            ):
                pass

    (record,) = calls
    assert record.cost.total == (10 * COMMAND_A_IN + 2 * COMMAND_A_OUT) / M


def test_embed_bills_meta_billed_units(instrumented):
    """/v2/embed reports its usage under meta.billed_units."""
    reply = fakes.Reply(wire.cohere_embed(billed_in=6, tokens_in=8))
    with serve(reply) as server, record_calls() as calls, client_of(server) as client:
        client.embed(
            model="embed-v4.0", texts=["a", "b"], input_type="search_document", embedding_types=["float"]
        )

    (record,) = calls
    assert (record.operation, record.provider) == ("embeddings", "cohere")
    assert record.cost.total == 6 * EMBED_4_IN / M
    assert record.cost.status == "ok"


def test_missing_billed_units_fall_back_to_processed_tokens_as_an_estimate():
    """With no billed_units, the processed tokens are used and the cost is marked estimated."""
    body = wire.cohere_chat()
    del body["usage"]["billed_units"]
    request = RequestInfo(provider="cohere", operation="chat", model="command-a-03-2025")

    result = COHERE_CHAT.parse_response(request, body, capture_content=False)

    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (80, 12)
    assert result.estimated is True


def test_stream_events_without_event_lines_are_read():
    """Events named only by their data's type field are read like named ones."""
    state = COHERE_CHAT.new_stream(RequestInfo(provider="cohere", operation="chat"), capture_content=True)
    for chunk in wire.cohere_stream(("a", "b"), billed_in=3, billed_out=2):
        data = chunk.decode().split("data: ", 1)[1].strip()
        state.record_event("", data)

    result = state.result()
    assert result.complete is True
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (3, 2)
    assert result.output_messages == [
        {"role": "assistant", "parts": [{"type": "text", "content": "ab"}], "finish_reason": "stop"}
    ]


def test_cohere_429_reaches_the_caller_unchanged(instrumented, span_exporter):
    """A 429 raises cohere's own TooManyRequestsError; the span says error.type 429."""
    reply = fakes.Reply({"message": "slow down"}, status=429)
    with serve(reply) as server, client_of(server) as client, pytest.raises(cohere.TooManyRequestsError):
        client.chat(model="command-a-03-2025", messages=[{"role": "user", "content": "hi"}])

    spans = llm_spans(span_exporter.get_finished_spans())
    assert spans
    assert all(span.attributes["error.type"] == "429" for span in spans)
    assert all(API_KEY not in span.to_json() for span in spans)


def metered_post(tracer_provider: Any, url: str, reply: fakes.Reply, **kwargs: Any) -> httpx.Response:
    """POST through a metered httpx client to an in-memory server answering ``reply``."""
    inner = httpx.MockTransport(fakes.mock_handler(httpx, reply))
    transport = llmmeter.MeteredTransport(inner, tracer_provider=tracer_provider)
    with httpx.Client(transport=transport) as client:
        return client.post(url, **kwargs)


def test_v1_chat_on_cohere_hosts_reads_meta_billed_units(tracer_provider):
    """The v1 API's /v1/chat answer reports billed units under meta."""
    body = {
        "text": "hi",
        "generation_id": "gen-1",
        "response_id": "resp-1",
        "finish_reason": "COMPLETE",
        "meta": {"billed_units": {"input_tokens": 40, "output_tokens": 5}, "tokens": {"input_tokens": 90}},
    }
    with record_calls() as calls:
        metered_post(
            tracer_provider,
            "https://api.cohere.com/v1/chat",
            fakes.Reply(body),
            json={"model": "command-r-08-2024", "message": "hi"},
        )

    (record,) = calls
    # Command R: $0.15 input, $0.60 output per 1M tokens. https://cohere.com/pricing
    assert record.cost.total == (40 * Decimal("0.15") + 5 * Decimal("0.60")) / M


def test_unreadable_chat_bodies_still_yield_a_record(tracer_provider, span_exporter):
    """A /v2/chat call whose request and answer llmmeter cannot read is recorded, saying no_usage."""
    reply = fakes.Reply(chunks=[b"<html>gateway</html>"], headers={"content-type": "text/html"})
    with record_calls() as calls:
        response = metered_post(tracer_provider, "https://api.cohere.com/v2/chat", reply, content=b"\x1f\x8b")

    assert response.text == "<html>gateway</html>"
    (record,) = calls
    assert (record.provider, record.operation) == ("cohere", "chat")
    assert record.cost.status == "no_usage"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["llmmeter.cost.status"] == "no_usage"
