"""Realtime sessions through the real openai SDK and raw websockets clients, against a loopback server.

Rates (USD per 1M tokens) of gpt-realtime, the entry gpt-realtime-1.5 and the dated snapshot
gpt-realtime-2025-08-28 share: OpenAI's pricing page (https://openai.com/api/pricing/, Realtime API;
https://developers.openai.com/api/docs/guides/realtime-costs for the per-response billing) and the
genai-prices entry ``gpt-realtime``; the seed document /work/shared/seeds/ gives the audio input
rate of gpt-realtime-1.5, $32.00.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import openai
import pytest
from opentelemetry.trace import SpanKind
from websockets.asyncio.client import connect as async_connect

# Imported before instrument() runs: the capture point must meter it all the same.
from websockets.sync.client import connect

import llmmeter
from tests.otel import llm_spans, metric_total
from tests.realtime.server import RealtimeServer, Turn

# websockets 17 warns when its sync connect() is not used as a context manager, as the openai SDK
# does (with or without llmmeter); that warning is not what these tests are about.
pytestmark = pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager")

M = Decimal(1_000_000)
TEXT_IN, TEXT_CACHED, TEXT_OUT = Decimal("4.00"), Decimal("0.40"), Decimal("16.00")
AUDIO_IN, AUDIO_CACHED, AUDIO_OUT = Decimal("32.00"), Decimal("0.40"), Decimal("64.00")
IMAGE_IN, IMAGE_CACHED = Decimal("5.00"), Decimal("0.50")


def usage(
    text: int, audio: int, image: int, cached: tuple[int, int, int], out: tuple[int, int]
) -> dict[str, Any]:
    """A ``response.done`` usage object with these counts, as the Realtime API reports it."""
    cached_text, cached_audio, cached_image = cached
    return {
        "total_tokens": text + audio + image + sum(out),
        "input_tokens": text + audio + image,
        "output_tokens": sum(out),
        "input_token_details": {
            "text_tokens": text,
            "audio_tokens": audio,
            "image_tokens": image,
            "cached_tokens": sum(cached),
            "cached_tokens_details": {
                "text_tokens": cached_text,
                "audio_tokens": cached_audio,
                "image_tokens": cached_image,
            },
        },
        "output_token_details": {"text_tokens": out[0], "audio_tokens": out[1]},
    }


FIRST = usage(200, 700, 100, (0, 0, 0), (100, 400))
SECOND = usage(400, 1400, 200, (256, 1152, 128), (60, 240))
FIRST_COST = (200 * TEXT_IN + 700 * AUDIO_IN + 100 * IMAGE_IN + 100 * TEXT_OUT + 400 * AUDIO_OUT) / M
SECOND_COST = (
    (400 - 256) * TEXT_IN
    + 256 * TEXT_CACHED
    + (1400 - 1152) * AUDIO_IN
    + 1152 * AUDIO_CACHED
    + (200 - 128) * IMAGE_IN
    + 128 * IMAGE_CACHED
    + 60 * TEXT_OUT
    + 240 * AUDIO_OUT
) / M


def sessions(span_exporter: Any) -> list[Any]:
    return [s for s in llm_spans(span_exporter.get_finished_spans()) if s.parent is None or _is_session(s)]


def _is_session(span: Any) -> bool:
    return span.attributes.get("llmmeter.counted_by") == "responses"


def responses(span_exporter: Any) -> list[Any]:
    return [s for s in llm_spans(span_exporter.get_finished_spans()) if not _is_session(s)]


def two_turns_sync(connection: Any) -> list[str]:
    """Send audio, ask for two responses, read until both are done; the event types read."""
    seen = []
    connection.input_audio_buffer.append(audio="AAAA")
    connection.input_audio_buffer.commit()
    for _ in range(2):
        connection.response.create()
        for event in connection:
            seen.append(event.type)
            if event.type == "response.done":
                break
    return seen


def test_openai_sdk_session_prices_each_response(
    instrumented: None, server: RealtimeServer, span_exporter: Any, metric_reader: Any
) -> None:
    """A sync SDK session: one span per response under one session span, each priced exactly."""
    server.turns += [Turn(FIRST), Turn(SECOND)]
    client = openai.OpenAI(api_key="sk-test-secret-key-123", base_url=server.http_url)
    with llmmeter.track() as spend, client.realtime.connect(model="gpt-realtime") as connection:
        seen = two_turns_sync(connection)
    assert seen.count("response.output_audio.delta") == 6
    assert spend.calls == 2
    assert spend.cost_usd == FIRST_COST + SECOND_COST
    assert spend.input_tokens == 1000 + 2000
    [session] = sessions(span_exporter)
    first, second = responses(span_exporter)
    assert session.name == "chat gpt-realtime"
    assert session.kind is SpanKind.CLIENT
    assert session.attributes["gen_ai.provider.name"] == "openai"
    assert session.attributes["server.address"] == "127.0.0.1"
    assert session.attributes["server.port"] == server.port
    assert session.attributes["gen_ai.conversation.id"] == "sess_test1"
    assert session.attributes["llmmeter.realtime.responses"] == 2
    assert session.attributes["llmmeter.realtime.cost.amount"] == pytest.approx(
        float(FIRST_COST + SECOND_COST)
    )
    assert "gen_ai.usage.cost.amount" not in session.attributes
    assert "gen_ai.usage.input_tokens" not in session.attributes
    for response, cost in ((first, FIRST_COST), (second, SECOND_COST)):
        assert response.parent.span_id == session.context.span_id
        assert response.name == "chat gpt-realtime"
        assert response.kind is SpanKind.CLIENT
        assert response.attributes["gen_ai.response.model"] == "gpt-realtime-2025-08-28"
        assert response.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(cost))
        assert response.attributes["llmmeter.cost.status"] == "ok"
    assert first.attributes["gen_ai.response.id"] == "resp_1"
    assert second.attributes["gen_ai.usage.cache_read.input_tokens"] == 256 + 1152 + 128
    assert second.attributes["llmmeter.cost.cache_read_image"] == pytest.approx(float(128 * IMAGE_CACHED / M))
    assert metric_total(metric_reader, "llmmeter.cost") == pytest.approx(float(FIRST_COST + SECOND_COST))
    assert metric_total(metric_reader, "llmmeter.tokens", gen_ai__token__type="input") == 3000


def test_async_openai_sdk_session(instrumented: None, server: RealtimeServer, span_exporter: Any) -> None:
    """An AsyncOpenAI session is metered the same way."""
    server.turns += [Turn(SECOND)]
    client = openai.AsyncOpenAI(api_key="sk-test-secret-key-123", base_url=server.http_url)

    async def session() -> None:
        async with client.realtime.connect(model="gpt-realtime") as connection:
            await connection.response.create()
            async for event in connection:
                if event.type == "response.done":
                    break

    with llmmeter.track() as spend:
        asyncio.run(session())
    assert spend.cost_usd == SECOND_COST
    [response] = responses(span_exporter)
    [session_span] = sessions(span_exporter)
    assert response.parent.span_id == session_span.context.span_id


def test_raw_sync_client_imported_before_instrument(instrumented: None, server: RealtimeServer) -> None:
    """A raw websockets sync client, whose connect was imported before instrument(), is metered."""
    server.turns += [Turn(FIRST)]
    with llmmeter.track() as spend, connect(server.ws_url("gpt-realtime-1.5")) as ws:
        ws.send('{"type":"response.create"}')
        for message in ws:
            if '"response.done"' in message:
                break
    assert spend.calls == 1
    assert spend.cost_usd == FIRST_COST
    assert (
        spend.by_model["gpt-realtime"].cost_usd == FIRST_COST
    )  # the price entry gpt-realtime-1.5 resolves to


def test_raw_asyncio_client(instrumented: None, server: RealtimeServer, span_exporter: Any) -> None:
    """A raw websockets asyncio client is metered, reading bytes or text."""
    server.turns += [Turn(FIRST), Turn(SECOND)]

    async def session() -> None:
        async with async_connect(server.ws_url()) as ws:
            for decode in (True, False):
                await ws.send('{"type": "response.create", "response": {}}')
                while True:
                    message = await ws.recv(decode=decode)
                    text = message if isinstance(message, str) else message.decode()
                    if '"response.done"' in text[:40]:
                        break

    with llmmeter.track() as spend:
        asyncio.run(session())
    assert spend.cost_usd == FIRST_COST + SECOND_COST
    [session_span] = sessions(span_exporter)
    assert session_span.attributes.get("llmmeter.stream.ending") is None


def test_a_spent_budget_refuses_response_create_before_it_leaves(
    instrumented: None, server: RealtimeServer
) -> None:
    """Once the budget is spent, the next response.create raises BudgetExceeded and is never sent."""
    server.turns += [Turn(FIRST), Turn(FIRST)]
    client = openai.OpenAI(api_key="sk-test-secret-key-123", base_url=server.http_url)
    with (
        llmmeter.budget(usd=FIRST_COST) as spend,
        client.realtime.connect(model="gpt-realtime") as connection,
    ):
        connection.response.create()
        for event in connection:
            if event.type == "response.done":
                break
        connection.input_audio_buffer.append(audio="AAAA")  # not a response: let through
        with pytest.raises(llmmeter.BudgetExceeded):
            connection.response.create()
    assert spend.calls == 1
    assert server.connections[0].ended.wait(5)
    sent = [event["type"] for event in server.connections[0].received]
    assert sent == ["response.create", "input_audio_buffer.append"]


def test_a_spent_budget_refuses_a_new_session(instrumented: None, server: RealtimeServer) -> None:
    """A new connection inside a spent budget is refused at its handshake."""
    server.turns += [Turn(FIRST)]
    with llmmeter.budget(usd=Decimal("0.000001")):
        with connect(server.ws_url()) as ws:
            ws.send('{"type":"response.create"}')
            while '"response.done"' not in ws.recv()[:40]:
                pass
        with pytest.raises(llmmeter.BudgetExceeded):
            connect(server.ws_url())


def test_server_dropping_the_connection_ends_the_session_once(
    instrumented: None, server: RealtimeServer, span_exporter: Any
) -> None:
    """An abrupt drop (no close frame) ends the session span once, as an error; the app's error passes."""
    from websockets.exceptions import ConnectionClosedError

    server.turns += [Turn(FIRST)]
    ws = connect(server.ws_url())
    ws.send('{"type":"test.drop"}')

    def read_all() -> None:
        while True:
            ws.recv()

    with pytest.raises(ConnectionClosedError):
        read_all()
    with pytest.raises(ConnectionClosedError):
        ws.recv()
    ws.close()
    [session] = sessions(span_exporter)
    assert session.attributes["error.type"] == "ConnectionClosedError"
    assert session.attributes["llmmeter.stream.ending"] == "error"
    assert session.status.is_ok is False


def test_a_response_open_at_close_ends_with_the_session(
    instrumented: None, server: RealtimeServer, span_exporter: Any
) -> None:
    """A response still streaming when the app closes ends, unpriced, as closed early."""
    server.turns += [Turn(FIRST)]
    with connect(server.ws_url()) as ws:
        ws.send('{"type":"response.create"}')
        while '"response.created"' not in ws.recv()[:40]:
            pass
    [response] = responses(span_exporter)
    assert response.attributes["llmmeter.stream.ending"] == "closed_early"
    assert response.attributes["llmmeter.cost.status"] == "no_usage"
    [session] = sessions(span_exporter)
    assert session.attributes["llmmeter.realtime.responses"] == 1


def test_an_unclosed_collected_connection_ends_its_session(
    instrumented: None, server: RealtimeServer, span_exporter: Any
) -> None:
    """A connection the app drops without closing ends its session as abandoned when collected."""
    import gc

    ws = connect(server.ws_url())
    ws.recv()  # session.created
    ws.send('{"type":"test.close"}')
    # The connection's own threads hold it while they run: wait until both have ended.
    for thread in (ws.recv_events_thread, ws.keepalive_thread):
        if thread is not None:
            thread.join(5)
    del ws
    gc.collect()
    [session] = sessions(span_exporter)
    assert session.attributes["llmmeter.stream.ending"] == "abandoned"


def test_error_events_are_recorded_without_their_message(
    instrumented: None, server: RealtimeServer, span_exporter: Any
) -> None:
    """A server error event becomes an event on the session span, with its type and code only."""
    with connect(server.ws_url()) as ws:
        ws.send('{"type":"test.error"}')
        while '"error"' not in ws.recv()[:40]:
            pass
    [session] = sessions(span_exporter)
    [event] = session.events
    assert event.name == "llmmeter.realtime.error"
    assert event.attributes == {
        "error.type": "invalid_request_error",
        "llmmeter.realtime.error.code": "unknown_parameter",
    }
    assert session.attributes["llmmeter.realtime.errors"] == 1


def test_a_failed_response_is_an_error(
    instrumented: None, server: RealtimeServer, span_exporter: Any
) -> None:
    """A response.done whose status is failed marks its span with the error's type."""
    server.turns += [Turn(FIRST, status="failed")]
    with connect(server.ws_url()) as ws:
        ws.send('{"type":"response.create"}')
        while '"response.done"' not in ws.recv()[:40]:
            pass
    [response] = responses(span_exporter)
    assert response.attributes["error.type"] == "server_error"
    assert response.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(FIRST_COST))


def test_malformed_events_pass_through_untouched(instrumented: None, server: RealtimeServer) -> None:
    """Messages that are not JSON, or events of the wrong shape, reach the app unchanged."""
    with connect(server.ws_url()) as ws:
        ws.recv()
        ws.send('{"type":"test.garbage"}')
        assert ws.recv() == "this is {not json"
        assert '"response":"not an object"' in ws.recv()


def test_secrets_never_reach_telemetry(instrumented: None, span_exporter: Any) -> None:
    """A key in the URL query or in the headers is on no span, also when the handshake is refused."""
    from websockets.exceptions import InvalidStatus

    with RealtimeServer(reject_status=401) as rejecting:
        with pytest.raises(InvalidStatus):
            connect(
                rejecting.ws_url(query="api-key=sk-url-secret-999"),
                additional_headers={
                    "Authorization": "Bearer sk-header-secret-888",
                    "api-key": "sk-azure-777",
                },
            )
    [session] = sessions(span_exporter)
    assert session.attributes["error.type"] == "401"
    written = repr([dict(s.attributes) for s in span_exporter.get_finished_spans()])
    written += repr([dict(e.attributes) for s in span_exporter.get_finished_spans() for e in s.events])
    for secret in ("sk-url-secret-999", "sk-header-secret-888", "sk-azure-777"):
        assert secret not in written


def test_other_websocket_connections_are_untouched(instrumented: None, span_exporter: Any) -> None:
    """A connection to any other path is neither wrapped nor recorded."""
    with RealtimeServer() as other:
        with connect(f"ws://127.0.0.1:{other.port}/v1/chat-stream") as ws:
            assert "recv" not in vars(ws)
            ws.recv()
    assert llm_spans(span_exporter.get_finished_spans()) == []


def test_user_attributes_reach_the_session_and_its_responses(
    instrumented: None, server: RealtimeServer, span_exporter: Any
) -> None:
    """attributes() around a session lands on its span and on every response span."""
    server.turns += [Turn(FIRST)]
    with llmmeter.attributes(tenant="acme"), connect(server.ws_url()) as ws:
        ws.send('{"type":"response.create"}')
        while '"response.done"' not in ws.recv()[:40]:
            pass
    spans = llm_spans(span_exporter.get_finished_spans())
    assert len(spans) == 2
    assert all(span.attributes["tenant"] == "acme" for span in spans)
