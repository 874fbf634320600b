"""The real google-genai client, on the Gemini API and on Vertex AI, against loopback servers."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import httpx2
import pytest
from google import genai
from google.auth import credentials as google_credentials
from google.genai import errors, types

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans, metric_total
from tests.providers import wire

M = Decimal(1_000_000)
# Gemini 2.5 Flash, paid tier, per 1M tokens: input $0.30 (text, image, video) and $1.00 (audio);
# context-cache reads $0.03 (text) and $0.10 (audio); output $2.50, thinking tokens included.
# https://ai.google.dev/gemini-api/docs/pricing (Gemini 2.5 Flash); Vertex AI lists the same rates:
# https://cloud.google.com/vertex-ai/generative-ai/pricing (Gemini 2.5 Flash).
FLASH_IN, FLASH_AUDIO, FLASH_READ, FLASH_AUDIO_READ, FLASH_OUT = (
    Decimal("0.30"),
    Decimal("1.00"),
    Decimal("0.03"),
    Decimal("0.10"),
    Decimal("2.50"),
)
API_KEY = "AIzaSy-test-secret-key"
TOKEN = "ya29.vertex-secret-token"


class FixedToken(google_credentials.Credentials):  # type: ignore[misc]
    """Credentials holding a fixed access token, which never need the network."""

    def __init__(self) -> None:
        super().__init__()
        self.token = TOKEN

    def refresh(self, request: Any) -> None:
        self.token = TOKEN

    @property
    def expired(self) -> bool:
        return False

    @property
    def valid(self) -> bool:
        return True


@pytest.fixture
def instrumented(tracer_provider, meter_provider) -> Iterator[None]:
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    yield
    llmmeter.uninstrument()


def serve(reply: fakes.Reply | fakes.Handler) -> fakes.LoopbackServer:
    return fakes.LoopbackServer(reply if callable(reply) else lambda method, path, body: reply)


def gemini_client(url: str, async_client: httpx2.AsyncClient | None = None) -> genai.Client:
    """A Gemini API client; ``async_client`` makes ``client.aio`` use it (google-genai would pick
    aiohttp when it is installed)."""
    options = types.HttpOptions(base_url=url, httpx_async_client=async_client)
    return genai.Client(api_key=API_KEY, http_options=options)


def vertex_client(url: str, async_client: httpx2.AsyncClient | None = None) -> genai.Client:
    """A Vertex AI client with a fixed token (no network)."""
    return genai.Client(
        vertexai=True,
        project="my-project",
        location="us-central1",
        credentials=FixedToken(),
        http_options=types.HttpOptions(base_url=url, httpx_async_client=async_client),
    )


def test_generate_content_is_priced_with_cache_thinking_and_tool_prompt(instrumented, span_exporter):
    """Cached tokens are part of the prompt; thinking and tool-use prompt tokens are added to it."""
    body = wire.gemini_response(prompt=1200, cached=1000, candidates=50, thoughts=300, tool_prompt=40)
    with serve(fakes.Reply(body)) as server, llmmeter.track() as spend, record_calls() as calls:
        client = gemini_client(server.url)
        response = client.models.generate_content(
            model="gemini-2.5-flash",
            contents="hello",
            config=types.GenerateContentConfig(temperature=0.2, max_output_tokens=400, top_k=20),
        )

    assert response.text == "Hello from Gemini"
    expected = ((200 + 40) * FLASH_IN + 1000 * FLASH_READ + (50 + 300) * FLASH_OUT) / M
    (record,) = calls
    assert record.cost.total == expected
    assert record.cost.status == "ok"
    assert spend.cost_usd == expected
    assert spend.calls == 1
    assert (spend.input_tokens, spend.output_tokens) == (1240, 350)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    attributes = span.attributes
    assert span.name == "generate_content gemini-2.5-flash"
    assert attributes["gen_ai.operation.name"] == "generate_content"
    assert attributes["gen_ai.provider.name"] == "gcp.gemini"
    assert attributes["gen_ai.request.model"] == "gemini-2.5-flash"
    assert attributes["gen_ai.response.model"] == "gemini-2.5-flash"
    assert attributes["gen_ai.response.id"] == "resp-gem-1"
    assert attributes["gen_ai.response.finish_reasons"] == ("STOP",)
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.max_tokens"] == 400
    assert attributes["gen_ai.request.top_k"] == 20
    assert attributes["gen_ai.usage.input_tokens"] == 1240
    assert attributes["gen_ai.usage.output_tokens"] == 350
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 1000
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 300
    assert attributes["gen_ai.usage.cost.amount"] == float(expected)
    assert API_KEY not in span.to_json()


def test_audio_input_is_billed_at_its_own_rate(instrumented):
    """promptTokensDetails' AUDIO tokens (and their cached part) have Flash's audio rates."""
    body = wire.gemini_response(prompt=5000, audio=3000, cached=2000, cached_audio=1500, candidates=100)
    with serve(fakes.Reply(body)) as server, record_calls() as calls:
        client = gemini_client(server.url)
        client.models.generate_content(model="gemini-2.5-flash", contents="listen")

    (record,) = calls
    # Uncached: 1500 text + 1500 audio; cached: 500 text + 1500 audio.
    expected = (
        1500 * FLASH_IN + 1500 * FLASH_AUDIO + 500 * FLASH_READ + 1500 * FLASH_AUDIO_READ + 100 * FLASH_OUT
    ) / M
    assert record.cost.total == expected
    assert record.cost.status == "ok"


def test_vertex_ai_generate_content_is_gcp_vertex_ai(instrumented, span_exporter, metric_reader):
    """vertexai=True: provider gcp.vertex_ai, model from the URL, the Bearer token never recorded."""
    body = wire.gemini_response(model="gemini-2.5-flash", prompt=100, candidates=20)
    with serve(fakes.Reply(body)) as server, record_calls() as calls:
        client = vertex_client(server.url)
        client.models.generate_content(model="gemini-2.5-flash", contents="hi")
        path, headers = server.requests[-1][1], server.requests[-1][3]

    assert path.endswith(
        "/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    )
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    (record,) = calls
    assert record.provider == "gcp.vertex_ai"
    assert record.cost.total == (100 * FLASH_IN + 20 * FLASH_OUT) / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert TOKEN not in span.to_json()
    cost = metric_total(metric_reader, "llmmeter.cost", gen_ai__provider__name="gcp.vertex_ai")
    assert cost == pytest.approx(float(record.cost.total))


def test_stream_takes_the_last_cumulative_usage(instrumented, span_exporter):
    """Each SSE chunk repeats the usage so far: the last is the call's, never a sum."""
    chunks = wire.gemini_stream(("Hel", "lo", "!"), prompt=300, candidates=9, thoughts=40)
    with serve(fakes.Reply(chunks=chunks)) as server, record_calls() as calls:
        client = gemini_client(server.url)
        stream = client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
        text = "".join(chunk.text or "" for chunk in stream)
        assert server.requests[-1][1].endswith(":streamGenerateContent?alt=sse")

    assert text == "Hello!"
    (record,) = calls
    assert record.stream is True
    assert record.ending == "complete"
    assert record.usage is not None
    assert (record.usage.input_tokens, record.usage.output_tokens) == (300, 49)
    assert record.cost.total == (300 * FLASH_IN + 49 * FLASH_OUT) / M
    assert record.cost.status == "ok"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.finish_reasons"] == ("STOP",)


def test_stream_closed_early_is_recorded_once_as_estimated(instrumented):
    """A stream left after its first chunk is recorded once, with the usage seen so far, estimated."""
    chunks = wire.gemini_stream(("a", "b", "c", "d"), prompt=300, candidates=9)
    with serve(fakes.Reply(chunks=chunks)) as server, record_calls() as calls:
        client = gemini_client(server.url)
        stream = client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
        first = next(iter(stream))
        stream.close()

    assert first.text == "a"
    (record,) = calls
    assert record.ending == "closed_early"
    assert record.cost.status == "estimated"
    assert record.usage is not None
    assert record.usage.output_tokens == 1


async def test_async_client_over_httpx2(instrumented, span_exporter):
    """client.aio over an httpx2.AsyncClient: plain and streamed calls are metered."""
    with serve(lambda method, path, body: _answer(path)) as server, record_calls() as calls:
        async with httpx2.AsyncClient() as http:
            client = gemini_client(server.url, http)
            await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
            stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
            text = "".join([chunk.text or "" async for chunk in stream])

    assert text == "Hello!"
    plain, streamed = calls
    assert (plain.stream, streamed.stream) == (False, True)
    assert plain.cost.total == (100 * FLASH_IN + 20 * FLASH_OUT) / M
    assert streamed.cost.total == (100 * FLASH_IN + 7 * FLASH_OUT) / M
    assert len(llm_spans(span_exporter.get_finished_spans())) == 2


def _answer(path: str) -> fakes.Reply:
    if ":streamGenerateContent" in path:
        return fakes.Reply(chunks=wire.gemini_stream(prompt=100, candidates=7))
    return fakes.Reply(wire.gemini_response(prompt=100, candidates=20))


async def test_async_vertex_stream(instrumented):
    """The async Vertex AI client's streams are metered too."""
    chunks = wire.gemini_stream(("x", "y"), prompt=10, candidates=4)
    with serve(fakes.Reply(chunks=chunks)) as server, record_calls() as calls:
        async with httpx2.AsyncClient() as http:
            client = vertex_client(server.url, http)
            stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
            async for _ in stream:
                pass

    (record,) = calls
    assert record.provider == "gcp.vertex_ai"
    assert record.cost.total == (10 * FLASH_IN + 4 * FLASH_OUT) / M


def test_embed_content_without_usage_is_recorded_as_no_usage(instrumented, span_exporter):
    """The Gemini API's batchEmbedContents reports no tokens: one embeddings record saying so."""
    with serve(fakes.Reply(wire.gemini_embeddings())) as server, record_calls() as calls:
        client = gemini_client(server.url)
        result = client.models.embed_content(model="gemini-embedding-001", contents=["a", "b"])

    assert result.embeddings is not None
    assert len(result.embeddings) == 2
    (record,) = calls
    assert (record.operation, record.provider) == ("embeddings", "gcp.gemini")
    assert record.request_model == "gemini-embedding-001"
    assert record.cost.status == "no_usage"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.name == "embeddings gemini-embedding-001"


def test_vertex_predict_embeddings_count_statistics_tokens(instrumented):
    """Vertex AI's :predict for an embedding model: the token counts of each prediction, summed."""
    body = {
        "predictions": [
            {"embeddings": {"values": [0.1], "statistics": {"token_count": 3, "truncated": False}}},
            {"embeddings": {"values": [0.2], "statistics": {"token_count": 5, "truncated": False}}},
        ]
    }
    with serve(fakes.Reply(body)) as server, record_calls() as calls:
        client = vertex_client(server.url)
        client.models.embed_content(model="text-embedding-005", contents=["a", "b"])

    (record,) = calls
    assert record.operation == "embeddings"
    assert record.usage is not None
    assert record.usage.input_tokens == 8


def test_count_tokens_is_not_a_call(instrumented, span_exporter):
    """:countTokens is free and is not metered."""
    with serve(fakes.Reply({"totalTokens": 3})) as server, record_calls() as calls:
        client = gemini_client(server.url)
        client.models.count_tokens(model="gemini-2.5-flash", contents="hi")

    assert calls == []
    assert llm_spans(span_exporter.get_finished_spans()) == []


def test_gemini_429_reaches_the_caller_unchanged(instrumented, span_exporter):
    """A 429 raises google-genai's own ClientError; the span says error.type 429 and holds no key."""
    reply = wire.gemini_error(429, "RESOURCE_EXHAUSTED")
    with serve(reply) as server, record_calls() as calls:
        options = types.HttpOptions(base_url=server.url, retry_options=types.HttpRetryOptions(attempts=1))
        client = genai.Client(api_key=API_KEY, http_options=options)
        with pytest.raises(errors.ClientError) as raised:
            client.models.generate_content(model="gemini-2.5-flash", contents="hi")

    assert raised.value.code == 429
    assert raised.value.status == "RESOURCE_EXHAUSTED"
    (record,) = calls
    assert record.error_type == "429"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["error.type"] == "429"
    assert API_KEY not in span.to_json()


def test_vertex_403_reaches_the_caller_unchanged(instrumented, span_exporter):
    """A 403 from Vertex AI raises ClientError(403); the span says error.type 403 and holds no token."""
    reply = wire.gemini_error(403, "PERMISSION_DENIED", "denied")
    with serve(reply) as server:
        client = vertex_client(server.url)
        with pytest.raises(errors.ClientError) as raised:
            client.models.generate_content(model="gemini-2.5-pro", contents="hi")

    assert raised.value.code == 403
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["error.type"] == "403"
    assert span.attributes["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert TOKEN not in span.to_json()


def test_unreadable_bodies_still_yield_a_record(tracer_provider, span_exporter):
    """A model method whose request and response llmmeter cannot read is recorded, saying no_usage."""
    handler = fakes.mock_handler(
        httpx, fakes.Reply(chunks=[b"\x00not json"], headers={"content-type": "application/octet-stream"})
    )
    transport = llmmeter.MeteredTransport(httpx.MockTransport(handler), tracer_provider=tracer_provider)
    url = f"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent?key={API_KEY}"
    with httpx.Client(transport=transport) as client, record_calls() as calls:
        response = client.post(
            url, content=gzip.compress(b'{"contents": []}'), headers={"content-encoding": "gzip"}
        )

    assert response.content == b"\x00not json"
    (record,) = calls
    assert (record.provider, record.request_model) == ("gcp.gemini", "gemini-2.5-flash")
    assert record.cost.status == "no_usage"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["llmmeter.cost.status"] == "no_usage"
    assert API_KEY not in span.to_json()


def test_key_in_the_query_never_reaches_an_exception_event(tracer_provider, span_exporter):
    """An inner error quoting a ?key= URL reaches the caller intact; the span's copy has no key."""

    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    transport = llmmeter.MeteredTransport(httpx.MockTransport(fail), tracer_provider=tracer_provider)
    url = f"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent?key={API_KEY}"
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.ConnectError) as raised:
        client.post(url, json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})

    assert API_KEY in str(raised.value)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["error.type"] == "ConnectError"
    assert API_KEY not in span.to_json()


async def test_httpx_clients_given_to_the_sdk_are_metered(instrumented):
    """google-genai picks httpx2 when installed; clients of httpx passed explicitly are metered as well."""
    with serve(lambda method, path, body: _answer(path)) as server, record_calls() as calls:
        sync_client, async_client = httpx.Client(), httpx.AsyncClient()
        options = types.HttpOptions(
            base_url=server.url, httpx_client=sync_client, httpx_async_client=async_client
        )
        client = genai.Client(api_key=API_KEY, http_options=options)
        client.models.generate_content(model="gemini-2.5-flash", contents="hi")
        stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
        async for _ in stream:
            pass
        sync_client.close()
        await async_client.aclose()

    plain, streamed = calls
    assert plain.cost.total == (100 * FLASH_IN + 20 * FLASH_OUT) / M
    assert streamed.cost.total == (100 * FLASH_IN + 7 * FLASH_OUT) / M


def content(span: Any, name: str) -> Any:
    return json.loads(span.attributes[name])


def test_captured_content_follows_the_conventions_schema(instrumented, span_exporter):
    """With capture on: systemInstruction, function calls and responses, and candidates in the schema."""
    llmmeter.configure(capture_content=True)
    call = types.Part.from_function_call(name="get_weather", args={"city": "Paris"})
    answer = types.Part.from_function_response(name="get_weather", response={"sky": "sunny"})
    with serve(fakes.Reply(wire.gemini_response("It is sunny."))) as server:
        client = gemini_client(server.url)
        client.models.generate_content(
            model="gemini-2.5-flash",
            contents=[
                types.Content(role="user", parts=[types.Part.from_text(text="Weather in Paris?")]),
                types.Content(role="model", parts=[call]),
                types.Content(role="user", parts=[answer]),
            ],
            config=types.GenerateContentConfig(system_instruction="Be brief."),
        )

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert content(span, "gen_ai.system_instructions") == [{"type": "text", "content": "Be brief."}]
    assert content(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": None, "name": "get_weather", "arguments": {"city": "Paris"}}
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": None, "response": {"sky": "sunny"}}]},
    ]
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [{"type": "text", "content": "It is sunny."}], "finish_reason": "stop"}
    ]


def test_captured_stream_text_is_assembled_from_chunks(instrumented, span_exporter):
    """A streamed answer's text is joined from its chunks, with the finish reason of the last."""
    llmmeter.configure(capture_content=True)
    with serve(fakes.Reply(chunks=wire.gemini_stream(("Hel", "lo", "!")))) as server:
        client = gemini_client(server.url)
        for _ in client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"):
            pass

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hello!"}], "finish_reason": "stop"}
    ]


# google-genai subclasses aiohttp's ClientSession, which aiohttp warns about.
@pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")
async def test_async_client_on_its_default_aiohttp_stack(instrumented):
    """With aiohttp installed, client.aio's default stack is aiohttp: the same adapter meters it."""
    pytest.importorskip("aiohttp")
    with serve(lambda method, path, body: _answer(path)) as server, record_calls() as calls:
        client = gemini_client(server.url)
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
        stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
        async for _ in stream:
            pass
        await client.aio.aclose()

    plain, streamed = calls
    assert plain.cost.total == (100 * FLASH_IN + 20 * FLASH_OUT) / M
    assert streamed.cost.total == (100 * FLASH_IN + 7 * FLASH_OUT) / M
