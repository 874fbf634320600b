"""aiohttp sessions under instrument(): bodies metered as the caller reads them, passed on unchanged."""

from __future__ import annotations

import gzip
import json
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from opentelemetry import trace

import llmmeter
from llmmeter._providers._request_body import without_long_strings
from llmmeter._settings import settings
from llmmeter.testing import record_calls
from tests import fakes
from tests.aiohttp.conftest import gpt4o, sonnet
from tests.otel import llm_spans

pytestmark = pytest.mark.usefixtures("instrumented")

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
CHAT_STREAM = {**CHAT, "stream": True}
MESSAGES = {"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
STREAM = fakes.chat_stream(words=5, prompt_tokens=300, completion_tokens=40)


def answer(method: str, path: str, body: bytes) -> fakes.Reply:
    """OpenAI- and Anthropic-shaped answers, streamed when the request asks for a stream."""
    if not path.endswith(("/chat/completions", "/v1/messages")):
        return fakes.Reply({"data": []})
    streamed = json.loads(body).get("stream") is True
    if path.endswith("/v1/messages"):
        if streamed:
            return fakes.Reply(chunks=fakes.anthropic_stream(input_tokens=120, output_tokens=60))
        return fakes.Reply(fakes.anthropic_message(input_tokens=120, output_tokens=60))
    if streamed:
        return fakes.Reply(chunks=STREAM)
    return fakes.Reply(fakes.chat_completion(prompt_tokens=300, completion_tokens=40))


@pytest.fixture
def server() -> Iterator[fakes.LoopbackServer]:
    """An OpenAI- and Anthropic-shaped provider on loopback."""
    with fakes.LoopbackServer(answer) as running:
        yield running


async def read_all(response: aiohttp.ClientResponse) -> bytes:
    return await response.read()


async def text(response: aiohttp.ClientResponse) -> bytes:
    return (await response.text()).encode()


async def iter_any(response: aiohttp.ClientResponse) -> bytes:
    return b"".join([chunk async for chunk in response.content.iter_any()])


async def iter_chunked(response: aiohttp.ClientResponse) -> bytes:
    return b"".join([chunk async for chunk in response.content.iter_chunked(7)])


async def iter_chunks(response: aiohttp.ClientResponse) -> bytes:
    return b"".join([chunk async for chunk, _ in response.content.iter_chunks()])


async def lines(response: aiohttp.ClientResponse) -> bytes:
    return b"".join([line async for line in response.content])


async def readline(response: aiohttp.ClientResponse) -> bytes:
    parts = []
    while line := await response.content.readline():
        parts.append(line)
    return b"".join(parts)


async def read_some(response: aiohttp.ClientResponse) -> bytes:
    parts = []
    while part := await response.content.read(5):
        parts.append(part)
    return b"".join(parts)


READERS: dict[str, Callable[[aiohttp.ClientResponse], Awaitable[bytes]]] = {
    "read": read_all,
    "text": text,
    "iter_any": iter_any,
    "iter_chunked": iter_chunked,
    "iter_chunks": iter_chunks,
    "async for line": lines,
    "readline": readline,
    "read(n)": read_some,
}


@pytest.mark.parametrize("reader", list(READERS))
async def test_chat_json_read_any_way_is_priced_and_unchanged(reader, server):
    """A chat completion read with any of aiohttp's readers gives the caller the body as sent, priced once."""
    async with aiohttp.ClientSession() as session:
        with record_calls() as calls:
            async with session.post(f"{server.url}/v1/chat/completions", json=CHAT) as response:
                body = await READERS[reader](response)
    assert json.loads(body) == fakes.chat_completion(prompt_tokens=300, completion_tokens=40)
    (call,) = calls
    assert (call.provider, call.request_model, call.ending) == ("openai", "gpt-4o", "complete")
    assert call.cost.total == gpt4o(300, 40)


@pytest.mark.parametrize("reader", list(READERS))
async def test_chat_stream_read_any_way_is_priced_from_its_last_chunk(reader, server, span_exporter):
    """An SSE chat stream read with any reader yields the events as sent, one span priced from its usage."""
    async with aiohttp.ClientSession() as session:
        with record_calls() as calls:
            async with session.post(f"{server.url}/v1/chat/completions", json=CHAT_STREAM) as response:
                body = await READERS[reader](response)
    assert body == b"".join(STREAM)
    (call,) = calls
    assert (call.stream, call.ending) == (True, "complete")
    assert call.time_to_first_chunk_s is not None
    assert call.cost.total == gpt4o(300, 40)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.usage.cost.amount"] == float(gpt4o(300, 40))


@pytest.mark.parametrize("reader", ["async for line", "iter_chunked", "iter_any"])
async def test_a_stream_with_crlf_line_ends_is_priced(reader):
    """Events ended by CRLF pairs (as Gemini sends them) are read line by line or in chunks, and priced."""
    crlf = [chunk.replace(b"\n", b"\r\n") for chunk in STREAM]
    with fakes.LoopbackServer(lambda method, path, body: fakes.Reply(chunks=crlf)) as server:
        async with aiohttp.ClientSession() as session:
            with record_calls() as calls:
                async with session.post(f"{server.url}/v1/chat/completions", json=CHAT_STREAM) as response:
                    body = await READERS[reader](response)
    assert body == b"".join(crlf)
    (call,) = calls
    assert (call.ending, call.cost.total) == ("complete", gpt4o(300, 40))


@pytest.mark.parametrize("reader", ["async for line", "readline", "iter_chunked"])
async def test_a_pretty_printed_json_body_read_line_by_line_is_priced(reader):
    """A JSON answer spread over many lines, read a line at a time, is priced from the whole of it."""
    body = fakes.chat_completion(prompt_tokens=300, completion_tokens=40)
    pretty = json.dumps(body, indent=2).encode() + b"\n"
    reply = fakes.Reply(chunks=[pretty], headers={"content-type": "application/json"})
    with fakes.LoopbackServer(lambda method, path, sent: reply) as server:
        async with aiohttp.ClientSession() as session:
            with record_calls() as calls:
                async with session.post(f"{server.url}/v1/chat/completions", json=CHAT) as response:
                    assert await READERS[reader](response) == pretty
    assert [(call.ending, call.cost.total) for call in calls] == [("complete", gpt4o(300, 40))]


async def test_json_helper_reads_the_chat_completion(server, span_exporter):
    """response.json() returns the provider's object; the span carries its usage and cost."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.url}/v1/chat/completions", json=CHAT) as response:
            reply = await response.json()
    assert reply["usage"]["prompt_tokens"] == 300
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.name == "chat gpt-4o"
    assert span.attributes["gen_ai.usage.input_tokens"] == 300
    assert span.attributes["gen_ai.usage.output_tokens"] == 40
    assert span.attributes["server.address"] == "127.0.0.1"


@pytest.mark.parametrize("streamed", [False, True], ids=["message", "stream"])
async def test_anthropic_messages_are_priced(streamed, server):
    """Anthropic's Messages API, answered whole or as a stream, is priced from its own usage."""
    async with aiohttp.ClientSession() as session:
        with record_calls() as calls:
            body = {**MESSAGES, "stream": True} if streamed else MESSAGES
            async with session.post(f"{server.url}/v1/messages", json=body) as response:
                async for _ in response.content:
                    pass
    (call,) = calls
    assert (call.provider, call.stream, call.ending) == ("anthropic", streamed, "complete")
    assert call.cost.total == sonnet(120, 60)


def gzipped(method: str, path: str, body: bytes) -> fakes.Reply:
    reply = answer(method, path, body)
    reply.gzip = True
    return reply


@pytest.mark.parametrize("decompress", [True, False], ids=["aiohttp-decodes", "caller-gets-gzip"])
@pytest.mark.parametrize("request_body", [CHAT, CHAT_STREAM], ids=["json", "stream"])
async def test_gzip_bodies_are_read_as_the_caller_reads_them(decompress, request_body):
    """A gzip body is metered whether aiohttp decodes it for the caller or hands the caller gzip bytes."""
    with fakes.LoopbackServer(gzipped) as server:
        async with aiohttp.ClientSession(auto_decompress=decompress) as session:
            with record_calls() as calls:
                async with session.post(f"{server.url}/v1/chat/completions", json=request_body) as response:
                    body = await response.read()
    sent = json.dumps(request_body).encode()
    plain = b"".join(answer("POST", "/v1/chat/completions", sent).encoded_chunks())
    assert (body if decompress else gzip.decompress(body)) == plain
    (call,) = calls
    assert call.ending == "complete"
    assert call.cost.total == gpt4o(300, 40)


async def test_sessions_made_before_instrument_and_with_a_base_url_are_metered(
    server, tracer_provider, meter_provider
):
    """A session made before instrument(), and one whose requests name only a path, are both metered."""
    llmmeter.uninstrument()
    early = aiohttp.ClientSession()
    based = aiohttp.ClientSession(base_url=server.url)
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    try:
        with record_calls() as calls:
            async with early.post(f"{server.url}/v1/chat/completions", json=CHAT) as response:
                await response.read()
            async with based.post("/v1/chat/completions", json=CHAT) as response:
                await response.read()
            response = await based.request("POST", "/v1/chat/completions", json=CHAT)
            await response.json()
    finally:
        await early.close()
        await based.close()
    assert [call.cost.total for call in calls] == [gpt4o(300, 40)] * 3


async def test_the_module_level_request_function_is_metered(server):
    """aiohttp.request(), which makes a session of its own for one request, is metered too."""
    with record_calls() as calls:
        async with aiohttp.request("POST", f"{server.url}/v1/chat/completions", json=CHAT) as response:
            await response.read()
    assert [call.cost.total for call in calls] == [gpt4o(300, 40)]


async def test_a_session_subclass_is_metered(server):
    """Subclasses of ClientSession (google-genai makes one) go through the same path."""

    with pytest.warns(DeprecationWarning, match="discouraged"):

        class AppSession(aiohttp.ClientSession):
            pass

    async with AppSession() as session:
        with record_calls() as calls:
            async with session.post(f"{server.url}/v1/chat/completions", json=CHAT) as response:
                await response.read()
    assert len(calls) == 1


async def test_a_body_read_by_a_client_middleware_is_metered(server):
    """A client middleware that reads the answer before the caller does (to decide on a retry) leaves
    the call metered from the body it read."""

    async def reading(request: aiohttp.ClientRequest, handler: Any) -> aiohttp.ClientResponse:
        response = await handler(request)
        await response.read()
        return response

    async with aiohttp.ClientSession(middlewares=(reading,)) as session:
        with record_calls() as calls:
            async with session.post(f"{server.url}/v1/chat/completions", json=CHAT) as response:
                assert (await response.json())["usage"]["prompt_tokens"] == 300
    assert [(call.ending, call.cost.total) for call in calls] == [("complete", gpt4o(300, 40))]


async def test_data_given_as_bytes_or_text_is_read(server):
    """A JSON body passed as ``data=`` bytes or str is read for the request's model and stream choice."""
    async with aiohttp.ClientSession() as session:
        with record_calls() as calls:
            for data in (json.dumps(CHAT).encode(), json.dumps(CHAT_STREAM)):
                headers = {"content-type": "application/json"}
                async with session.post(f"{server.url}/v1/chat/completions", data=data, headers=headers) as r:
                    await r.read()
    assert [(call.request_model, call.stream) for call in calls] == [("gpt-4o", False), ("gpt-4o", True)]
    assert [call.cost.total for call in calls] == [gpt4o(300, 40)] * 2


async def test_a_large_data_body_is_read_for_its_parameters(server, span_exporter):
    """A 900 KiB chat body passed as ``data=`` (its prompt left out when decoded; aiohttp warns from
    1 MiB) is sent as given and recorded with its model, stream choice, parameters and cost."""
    prompt = "lorem ipsum dolor sit amet\n" * 33_000
    request = {**CHAT, "messages": [{"role": "user", "content": prompt}], "max_tokens": 77, "top_p": 0.5}
    data = json.dumps(request).encode()
    assert without_long_strings(data, {b"messages"}) is not None
    async with aiohttp.ClientSession() as session:
        with record_calls() as calls:
            headers = {"content-type": "application/json"}
            async with session.post(f"{server.url}/v1/chat/completions", data=data, headers=headers) as r:
                await r.read()
    assert [(call.request_model, call.stream, call.cost.total) for call in calls] == [
        ("gpt-4o", False, gpt4o(300, 40))
    ]
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.request.max_tokens"] == 77
    assert span.attributes["gen_ai.request.top_p"] == 0.5
    assert server.requests[-1][2] == data


async def test_other_requests_pass_untouched_without_a_span(server, span_exporter):
    """A request that is no LLM call keeps aiohttp's own content reader and makes no span."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{server.url}/v1/models") as response:
            await response.read()
            assert type(response.content) is aiohttp.StreamReader
        async with session.post(f"{server.url}/v1/chat/completions", json=CHAT) as response:
            content = response.content
            assert isinstance(content, aiohttp.StreamReader)
            assert (content.exception(), content.is_eof() or not content.at_eof()) == (None, True)
            await response.read()
            assert (content.at_eof(), content.total_bytes) == (True, len(await response.read()))
    assert len(span_exporter.get_finished_spans()) == 1


async def test_the_calls_span_is_current_while_the_request_is_sent(server, span_exporter):
    """What aiohttp runs while sending (trace hooks, other instrumentations) has llmmeter's span current."""
    seen: list[int] = []

    async def on_request_start(session: Any, context: Any, params: Any) -> None:
        seen.append(trace.get_current_span().get_span_context().span_id)

    hooks = aiohttp.TraceConfig()
    hooks.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[hooks]) as session:
        async with session.post(f"{server.url}/v1/chat/completions", json=CHAT) as response:
            await response.read()
        assert trace.get_current_span() is trace.INVALID_SPAN
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert seen == [span.context.span_id]


async def test_an_error_status_is_recorded_and_its_body_passed_on(tracer_provider):
    """A 429 answer reaches the caller with its body; the call is recorded with error.type 429."""
    error = {"error": {"message": "slow down", "type": "rate_limit"}}
    with fakes.LoopbackServer(lambda m, p, b: fakes.Reply(error, status=429)) as server:
        async with aiohttp.ClientSession() as session:
            with record_calls() as calls:
                async with session.post(f"{server.url}/v1/chat/completions", json=CHAT) as response:
                    assert response.status == 429
                    assert await response.json() == error
    assert [(call.error_type, call.ending) for call in calls] == [("429", "error")]


async def test_raise_for_status_reaches_the_caller_unchanged():
    """With raise_for_status, aiohttp's ClientResponseError reaches the caller; the record says 500."""
    with fakes.LoopbackServer(lambda m, p, b: fakes.Reply({"error": {}}, status=500)) as server:
        async with aiohttp.ClientSession(raise_for_status=True) as session:
            with record_calls() as calls, pytest.raises(aiohttp.ClientResponseError) as raised:
                await session.post(f"{server.url}/v1/chat/completions", json=CHAT)
    assert raised.value.status == 500
    assert [(call.error_type, call.ending) for call in calls] == [("500", "error")]


async def test_track_attributes_and_budget_hold(server, span_exporter):
    """track() sums aiohttp calls, attributes() labels their spans, a spent budget refuses before sending."""
    async with aiohttp.ClientSession() as session:

        async def chat() -> None:
            async with session.post(f"{server.url}/v1/chat/completions", json=CHAT) as response:
                await response.read()

        with llmmeter.track() as spend, llmmeter.attributes(tenant="acme"):
            await chat()
            await chat()
        # Above the first request's worst case (its input, as it states no output limit), below its cost.
        with llmmeter.budget(usd=Decimal("0.0002")):
            await chat()
            sent = len(server.requests)
            with pytest.raises(llmmeter.BudgetExceeded):
                await chat()
    assert (spend.calls, spend.cost_usd) == (2, 2 * gpt4o(300, 40))
    assert len(server.requests) == sent
    spans = llm_spans(span_exporter.get_finished_spans())
    assert [span.attributes.get("tenant") for span in spans] == ["acme", "acme", None, None]
    assert spans[-1].attributes["error.type"] == "BudgetExceeded"
    assert [event.name for event in spans[-1].events] == ["llmmeter.budget.refused"]  # never sent


@pytest.mark.parametrize("given", ["json", "bytes", "str"])
async def test_a_chat_stream_is_asked_for_its_usage_when_configured(given, server):
    """With include_stream_usage, the request body says include_usage, however the caller gave it."""
    settings.include_stream_usage = True
    payload: dict[str, Any] = {"json": CHAT_STREAM}
    if given != "json":
        text = json.dumps(CHAT_STREAM)
        payload = {"data": text if given == "str" else text.encode()}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.url}/v1/chat/completions", **payload) as response:
            await response.read()
    sent = json.loads(server.requests[-1][2])
    assert sent == {**CHAT_STREAM, "stream_options": {"include_usage": True}}
    assert "stream_options" not in CHAT_STREAM


SECRETS = ("sk-aiohttp-SECRET-1", "goog-SECRET-2", "azure-SECRET-3", "query-SECRET-4")


async def test_secrets_never_reach_telemetry(span_exporter):
    """Credential headers and a ?key= query never appear on a span, also when an exception is recorded."""
    with fakes.LoopbackServer(lambda m, p, b: fakes.Reply({"error": {}}, status=401)) as server:
        headers = {
            "Authorization": f"Bearer {SECRETS[0]}",
            "x-goog-api-key": SECRETS[1],
            "api-key": SECRETS[2],
        }
        async with aiohttp.ClientSession(headers={"x-goog-api-key": SECRETS[1]}) as session:
            url = f"{server.url}/v1/chat/completions?key={SECRETS[3]}"
            async with session.post(url, json=CHAT, headers=headers) as response:
                await response.read()
            with pytest.raises(aiohttp.ClientResponseError):
                await session.post(url, json=CHAT, headers=headers, raise_for_status=True)
    spans = llm_spans(span_exporter.get_finished_spans())
    assert len(spans) == 2
    assert spans[1].events  # the exception was recorded
    dumped = "".join(span.to_json() for span in spans)
    assert not [secret for secret in SECRETS if secret in dumped]
