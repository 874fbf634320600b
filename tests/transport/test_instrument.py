"""instrument(): every client in the process, with the SDKs' own default clients, over a loopback server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import anthropic
import httpx
import httpx2
import openai
import pytest

import llmmeter
from llmmeter._capture._instrument import is_instrumented
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans

M = Decimal(1_000_000)


def provider_reply(method: str, path: str, body: bytes) -> fakes.Reply:
    if path.endswith("/v1/messages"):
        return fakes.Reply(fakes.anthropic_message(input_tokens=70, output_tokens=30))
    if b'"stream":true' in body.replace(b" ", b""):
        return fakes.Reply(chunks=fakes.chat_stream(prompt_tokens=300, completion_tokens=30))
    return fakes.Reply(fakes.chat_completion(prompt_tokens=200, completion_tokens=40))


@pytest.fixture
def server() -> Iterator[fakes.LoopbackServer]:
    with fakes.LoopbackServer(provider_reply) as running:
        yield running


@pytest.fixture
def instrumented(tracer_provider, meter_provider) -> Iterator[None]:
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    yield
    llmmeter.uninstrument()


def test_sdk_default_clients_are_metered(server, instrumented, span_exporter):
    """The openai SDK's own httpx2 client, made after instrument(), is metered over a real socket."""
    client = openai.OpenAI(api_key="sk-test", base_url=server.url + "/v1", max_retries=0)

    with record_calls() as calls:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        stream = client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in stream:
            pass
    client.close()

    assert [record.cost.total for record in calls] == [
        (200 * Decimal("2.50") + 40 * Decimal("10.00")) / M,
        (300 * Decimal("2.50") + 30 * Decimal("10.00")) / M,
    ]
    spans = llm_spans(span_exporter.get_finished_spans())
    assert [span.attributes["server.address"] for span in spans] == ["127.0.0.1", "127.0.0.1"]
    assert calls[1].ending == "complete"


async def test_async_sdk_default_clients_are_metered(server, instrumented):
    """AsyncOpenAI and AsyncAnthropic default clients are metered too."""
    openai_client = openai.AsyncOpenAI(api_key="sk-test", base_url=server.url + "/v1", max_retries=0)
    anthropic_client = anthropic.AsyncAnthropic(
        api_key="sk-ant", base_url=server.url, max_retries=0, open_telemetry={"traces": False}
    )

    with record_calls() as calls:
        await openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        await anthropic_client.messages.create(
            model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    await openai_client.close()
    await anthropic_client.close()

    assert [record.provider for record in calls] == ["openai", "anthropic"]
    assert calls[1].cost.total == (70 * Decimal("3") + 30 * Decimal("15")) / M


def test_clients_created_before_instrument_are_metered(server, tracer_provider, meter_provider):
    """A client built before instrument() is metered afterwards, and no longer after uninstrument()."""
    client = httpx.Client(base_url=server.url)
    body = {"model": "gpt-4o", "messages": []}

    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    try:
        with record_calls() as during:
            client.post("/v1/chat/completions", json=body)
    finally:
        llmmeter.uninstrument()
    with record_calls() as after:
        client.post("/v1/chat/completions", json=body)
    client.close()

    assert len(during) == 1
    assert after == []


def test_instrument_is_idempotent_and_uninstrument_restores_exactly(tracer_provider, meter_provider):
    """Two instrument() calls patch once; uninstrument() puts back the very same functions."""
    before = {
        (cls, name): cls.__dict__[name]
        for library in (httpx, httpx2)
        for cls, name in ((library.Client, "send"), (library.AsyncClient, "send"))
    }

    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    patched = {key: key[0].__dict__[key[1]] for key in before}
    llmmeter.instrument(integrations=False)
    again = {key: key[0].__dict__[key[1]] for key in before}
    llmmeter.uninstrument()
    llmmeter.uninstrument()
    after = {key: key[0].__dict__[key[1]] for key in before}

    assert all(patched[key] is not before[key] for key in before)
    assert again == patched
    assert after == before
    assert not is_instrumented()


def test_instrumented_transport_inside_metered_transport_counts_once(
    server, instrumented, tracer_provider, meter_provider
):
    """meter_client on a client whose default transport is also instrumented still records one call."""
    client = llmmeter.meter_client(httpx2.Client(base_url=server.url), tracer_provider=tracer_provider)

    with record_calls() as calls:
        client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": []})
    client.close()

    assert len(calls) == 1


class _OwnAsyncTransport(httpx2.AsyncBaseTransport):
    """A transport of the app's own (as litellm's aiohttp one): it never calls httpx2's transports."""

    def __init__(self) -> None:
        self.sent = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent += 1
        body = json.dumps(fakes.chat_completion(prompt_tokens=300, completion_tokens=30)).encode()
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=body)


class _OwnSyncTransport(httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.dumps(fakes.chat_completion(prompt_tokens=300, completion_tokens=30)).encode()
        return httpx.Response(200, headers={"content-type": "application/json"}, content=body)


async def test_clients_with_a_transport_of_their_own_are_metered(instrumented):
    """instrument() meters at the client's send path, so a custom transport is metered too, once."""
    transport = _OwnAsyncTransport()
    with record_calls() as calls:
        async with httpx2.AsyncClient(transport=transport) as client:
            response = await client.post(
                "https://api.openai.com/v1/chat/completions", json={"model": "gpt-4o", "messages": []}
            )
        with httpx.Client(transport=_OwnSyncTransport()) as client:
            client.post(
                "https://api.openai.com/v1/chat/completions", json={"model": "gpt-4o", "messages": []}
            )

    assert response.json()["usage"]["prompt_tokens"] == 300
    assert transport.sent == 1
    assert [(record.usage.input_tokens, record.cost.status) for record in calls] == [(300, "ok")] * 2


class _Chunks(httpx2.AsyncByteStream):
    def __init__(self, data: bytes) -> None:
        self._data = data

    async def __aiter__(self):  # type: ignore[override]
        for start in range(0, len(self._data), 64):
            yield self._data[start : start + 64]


class _OwnStreamingTransport(httpx2.AsyncBaseTransport):
    """A transport of the app's own whose bodies arrive as they are read, like a socket's."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = json.dumps(fakes.chat_completion()).encode()
        return httpx2.Response(200, headers={"content-type": "application/json"}, stream=_Chunks(body))


async def test_a_streamed_send_is_metered_when_the_caller_reads_it(instrumented):
    """client.send(stream=True) leaves the body to the caller; the call ends when it is read."""
    with record_calls() as calls:
        async with httpx2.AsyncClient(transport=_OwnStreamingTransport()) as client:
            request = client.build_request(
                "POST", "https://api.openai.com/v1/chat/completions", json={"model": "gpt-4o", "messages": []}
            )
            response = await client.send(request, stream=True)
            assert calls == []
            await response.aread()
            await response.aclose()

    assert [record.ending for record in calls] == ["complete"]
