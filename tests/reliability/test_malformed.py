"""Property tests: arbitrary bytes, truncated or wrong-typed JSON never raise out of llmmeter.

The suite runs in strict mode (``LLMMETER_STRICT=1``), where an internal error that llmmeter would
log and swallow in production is raised instead, so "never raises" here also means "never hits the
safety net".
"""

from __future__ import annotations

import gzip
import json
from dataclasses import fields

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llmmeter
from llmmeter import Usage
from llmmeter._capture._body import BodyMeter
from llmmeter._providers._anthropic import MESSAGES
from llmmeter._providers._base import RequestInfo, ResponseInfo
from llmmeter._providers._cohere import COHERE_CHAT, COHERE_EMBED, from_cohere
from llmmeter._providers._decoding import make_decoder
from llmmeter._providers._gemini import EMBED_CONTENT, GENERATE_CONTENT, from_gemini
from llmmeter._providers._openai import CHAT, EMBEDDINGS, RESPONSES
from llmmeter._providers._sse import SSEParser
from llmmeter._telemetry._call import Call, Telemetry
from llmmeter._usage import from_anthropic, from_langchain, from_openai_chat, from_openai_responses
from llmmeter.testing import record_calls
from tests import fakes
from tests.providers import wire as native
from tests.reliability.strategies import json_objects, json_values, mutated, namespaces, truncated_json
from tests.reliability.wire import KINDS, split

CONVERTERS = [
    from_openai_chat,
    from_openai_responses,
    from_anthropic,
    from_langchain,
    from_gemini,
    from_cohere,
]
ADAPTERS = [CHAT, RESPONSES, EMBEDDINGS, MESSAGES, GENERATE_CONTENT, EMBED_CONTENT, COHERE_CHAT, COHERE_EMBED]
VALID_USAGE = [
    fakes.chat_completion(cached_tokens=10, reasoning_tokens=5)["usage"],
    fakes.responses_body(cached_tokens=10, reasoning_tokens=5)["usage"],
    {
        **fakes.anthropic_message(cache_read=3, cache_write=4)["usage"],
        "cache_creation": {"ephemeral_1h_input_tokens": 2},
    },
    {
        "input_tokens": 9,
        "output_tokens": 4,
        "input_token_details": {"cache_read": 2, "priority_cache_creation": 1},
    },
    native.gemini_usage(prompt=50, cached=20, cached_audio=5, audio=10, thoughts=7, tool_prompt=3),
    native.cohere_chat()["usage"],
]
VALID_BODIES = [
    fakes.chat_completion(),
    fakes.responses_body(),
    fakes.embeddings_body(),
    fakes.anthropic_message(),
    {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
    native.gemini_response(prompt=50, cached=20, thoughts=7),
    native.cohere_chat(),
    native.cohere_embed(),
    {"predictions": [{"embeddings": {"statistics": {"token_count": 3}}}]},
]
VALID_EVENTS = [(name, payload) for kind in KINDS for name, payload in kind.events if payload != "[DONE]"]


def assert_is_usage(usage: Usage) -> None:
    """Every count of a converted usage is a non-negative int within int64 (seconds a non-negative
    float); an invalid usage names its field and counts nothing."""
    if usage.invalid is not None:
        assert isinstance(usage.invalid, str)
        assert usage.is_empty
    for field in fields(Usage):
        if field.name == "invalid":
            continue
        value = getattr(usage, field.name)
        assert value <= 2**63 - 1
        assert value >= 0
        assert type(value) is (float if field.name == "seconds" else int)


@settings(max_examples=300, deadline=None)
@given(convert=st.sampled_from(CONVERTERS), usage=json_values)
def test_usage_converters_never_raise_on_any_json(convert, usage):
    """Any JSON value, of any shape, converts to a well-formed Usage."""
    assert_is_usage(convert(usage))


@settings(max_examples=300, deadline=None)
@given(convert=st.sampled_from(CONVERTERS), usage=st.sampled_from(VALID_USAGE).flatmap(mutated))
def test_usage_converters_never_raise_on_wrong_typed_fields(convert, usage):
    """A real usage object with some of its fields replaced by wrong types still converts."""
    assert_is_usage(convert(usage))


@settings(max_examples=200, deadline=None)
@given(
    convert=st.sampled_from(CONVERTERS),
    usage=st.one_of(json_objects, st.sampled_from(VALID_USAGE).flatmap(mutated)),
)
def test_usage_converters_never_raise_on_sdk_like_objects(convert, usage):
    """SDK objects (attributes instead of keys) holding wrong types convert too."""
    assert_is_usage(convert(namespaces(usage)))


counts = st.integers(min_value=0, max_value=10**9)


@settings(max_examples=200, deadline=None)
@given(uncached=counts, read=counts, write_5m=counts, write_1h=counts, output=counts)
def test_anthropic_input_is_the_sum_of_its_parts_and_writes_split_exactly(
    uncached, read, write_5m, write_1h, output
):
    """Anthropic input = uncached + cache reads + cache writes; the write durations add up to the writes."""
    usage = from_anthropic(
        {
            "input_tokens": uncached,
            "output_tokens": output,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write_5m + write_1h,
            "cache_creation": {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h},
        }
    )

    assert usage.input_tokens == uncached + read + write_5m + write_1h
    assert (usage.cache_read_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (
        read,
        write_5m,
        write_1h,
    )
    assert usage.output_tokens == output


@settings(max_examples=200, deadline=None)
@given(prompt=counts, completion=counts, cached=counts, reasoning=counts)
def test_openai_counts_are_taken_as_parts_never_added(prompt, completion, cached, reasoning):
    """OpenAI's cached and reasoning tokens are parts of prompt and completion tokens, never added to them."""
    chat = from_openai_chat(
        {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }
    )
    responses = from_openai_responses(
        {
            "input_tokens": prompt,
            "output_tokens": completion,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens_details": {"reasoning_tokens": reasoning},
        }
    )

    assert chat == responses
    assert (chat.input_tokens, chat.output_tokens, chat.cache_read_tokens, chat.reasoning_tokens) == (
        prompt,
        completion,
        cached,
        reasoning,
    )


event_data = st.one_of(
    st.text(max_size=60),
    json_values.map(json.dumps),
    st.sampled_from(VALID_EVENTS).flatmap(lambda event: mutated(event[1]).map(json.dumps)),
    st.sampled_from(VALID_EVENTS).flatmap(lambda event: truncated_json(event[1])),
)
event_names = st.one_of(
    st.just(""), st.sampled_from([name for name, _ in VALID_EVENTS]), st.text(max_size=10)
)


@settings(max_examples=200, deadline=None)
@given(
    adapter=st.sampled_from(ADAPTERS),
    capture=st.booleans(),
    events=st.lists(st.tuples(event_names, event_data), max_size=12),
)
def test_stream_states_never_raise_on_any_events(adapter, capture, events):
    """Any sequence of events, valid, wrong-typed, truncated or garbage, is taken without raising."""
    state = adapter.new_stream(RequestInfo(provider="openai", operation="chat"), capture)

    for name, data in events:
        state.record_event(name, data)

    assert isinstance(state.result(), ResponseInfo)


bodies = st.one_of(json_values, st.sampled_from(VALID_BODIES).flatmap(mutated))


@settings(max_examples=300, deadline=None)
@given(adapter=st.sampled_from(ADAPTERS), capture=st.booleans(), body=bodies)
def test_adapters_never_raise_on_any_response_body(adapter, capture, body):
    """Any decoded response body, including real ones with wrong-typed fields, is read without raising."""
    result = adapter.parse_response(RequestInfo(provider="openai", operation="chat"), body, capture)

    assert isinstance(result, ResponseInfo)
    assert result.usage is None or isinstance(result.usage, Usage)


ATTRIBUTE_TYPES = (str, bool, int, float)


@settings(max_examples=200, deadline=None)
@given(adapter=st.sampled_from(ADAPTERS), capture=st.booleans(), body=json_objects)
def test_adapters_never_raise_on_any_request_body_and_keep_only_attribute_values(adapter, capture, body):
    """Any request object is read without raising, and only valid attribute values become parameters."""
    request = RequestInfo(provider="openai", operation="chat")

    adapter.parse_request(request, body, capture)

    assert request.model is None or isinstance(request.model, str)
    for value in request.params.values():
        assert isinstance(value, ATTRIBUTE_TYPES) or all(isinstance(item, str) for item in value)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.binary(max_size=80), max_size=12))
def test_sse_parser_never_raises_on_any_bytes(pieces):
    """Arbitrary bytes in arbitrary pieces are parsed without raising; every event is text."""
    seen: list[tuple[str, str]] = []
    parser = SSEParser(lambda name, data: seen.append((name, data)))

    for piece in pieces:
        parser.feed(piece)
    parser.close()

    assert all(isinstance(name, str) and isinstance(data, str) for name, data in seen)


ENCODINGS = [None, "gzip", "deflate", "br", "zstd", "compress", "gzip, br", "identity"]
ENDINGS = ["complete", "closed_early", "abandoned", "error", "cancelled"]
body_bytes = st.one_of(
    st.binary(max_size=400),
    st.sampled_from(VALID_BODIES).flatmap(truncated_json).map(str.encode),
    st.sampled_from(VALID_BODIES)
    .map(lambda body: gzip.compress(json.dumps(body).encode()))
    .flatmap(lambda data: st.integers(0, len(data)).map(lambda n: data[:n])),
)


@settings(max_examples=300, deadline=None)
@given(
    adapter=st.sampled_from(ADAPTERS),
    event_stream=st.booleans(),
    capture=st.booleans(),
    encoding=st.sampled_from(ENCODINGS),
    body=body_bytes,
    cut=st.lists(st.integers(0, 400), max_size=6),
    ending=st.sampled_from(ENDINGS),
)
def test_body_meter_never_raises_and_records_once(
    quiet, adapter, event_stream, capture, encoding, body, cut, ending
):
    """A BodyMeter fed any bytes, in any encoding, ended any way, records the call exactly once."""
    llmmeter.configure(capture_content=capture)
    request = RequestInfo(provider="openai", operation="chat", model="gpt-4o", stream=event_stream)

    with record_calls() as calls:
        meter = BodyMeter(
            Call(Telemetry(**quiet), request),
            adapter,
            make_decoder(encoding),
            SSEParser if event_stream else None,
        )
        for piece in split(body, cut):
            meter.chunk(piece)
        meter.end(ending)
        meter.end("complete")

    assert len(calls) == 1


def _outcome(client: httpx2.Client, url: str) -> tuple:
    try:
        response = client.post(url, json={"model": "gpt-4o", "messages": []})
    except Exception as exc:
        return ("raised", type(exc), str(exc))
    return ("ok", response.status_code, dict(response.headers), response.content)


@settings(max_examples=150, deadline=None)
@given(
    path=st.sampled_from(["/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/messages"]),
    content_type=st.sampled_from(["application/json", "text/event-stream", "text/plain", ""]),
    encoding=st.sampled_from(ENCODINGS),
    body=body_bytes,
    cut=st.lists(st.integers(0, 400), max_size=6),
)
def test_any_response_reaches_the_caller_as_without_llmmeter(quiet, path, content_type, encoding, body, cut):
    """Whatever a server answers, the caller gets the same response or exception, and one record is made."""
    headers = {"content-type": content_type} | ({"content-encoding": encoding} if encoding else {})

    def handler(request):
        return httpx2.Response(
            200, headers=headers, stream=httpx2.ByteStream(b"") if not body else _Pieces(split(body, cut))
        )

    url = "https://api.openai.com" + path
    with httpx2.Client(transport=httpx2.MockTransport(handler)) as bare:
        expected = _outcome(bare, url)
    transport = llmmeter.MeteredTransport(httpx2.MockTransport(handler), **quiet)
    with record_calls() as calls, httpx2.Client(transport=transport) as client:
        received = _outcome(client, url)

    assert received == expected
    assert len(calls) == 1


class _Pieces(httpx2.SyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = pieces

    def __iter__(self):
        yield from self._pieces


@settings(max_examples=150, deadline=None)
@given(content=st.one_of(st.binary(max_size=200), json_values.map(lambda value: json.dumps(value).encode())))
def test_any_request_body_is_sent_unchanged(quiet, content):
    """Whatever the caller sends to an LLM endpoint reaches the server byte for byte."""
    sent: list[bytes] = []

    def handler(request):
        sent.append(request.read())
        return httpx2.Response(200, json=fakes.chat_completion())

    transport = llmmeter.MeteredTransport(httpx2.MockTransport(handler), **quiet)
    with record_calls() as calls, httpx2.Client(transport=transport) as client:
        client.post("https://api.openai.com/v1/chat/completions", content=content)

    assert sent == [content]
    assert len(calls) == 1


@pytest.mark.parametrize("depth", [50, 900])
def test_deeply_nested_request_with_content_capture_is_recorded(quiet, depth):
    """A request nested as deep as JSON allows is recorded with its content, without raising."""
    llmmeter.configure(capture_content=True)
    messages: list = []
    for _ in range(depth):
        messages = [messages]
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(lambda request: httpx2.Response(200, json=fakes.chat_completion())), **quiet
    )

    with record_calls() as calls, httpx2.Client(transport=transport) as client:
        client.post(
            "https://api.openai.com/v1/chat/completions", json={"model": "gpt-4o", "messages": messages}
        )

    assert calls[0].cost.status == "ok"


@settings(max_examples=100, deadline=None)
@given(extra=json_objects)
def test_stream_usage_option_adds_only_include_usage(quiet, extra):
    """With include_stream_usage on, a streamed chat request reaches the server changed only by the option."""
    llmmeter.configure(include_stream_usage=True)
    body = {**extra, "model": "gpt-4o", "stream": True}
    options = body.get("stream_options")
    if isinstance(options, dict) and "include_usage" in options:
        expected = body
    else:
        expected = {
            **body,
            "stream_options": {**(options if isinstance(options, dict) else {}), "include_usage": True},
        }
    sent: list[bytes] = []

    def handler(request):
        sent.append(request.read())
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=b"".join(fakes.chat_stream())
        )

    transport = llmmeter.MeteredTransport(httpx2.MockTransport(handler), **quiet)
    with record_calls(), httpx2.Client(transport=transport) as client:
        client.post("https://api.openai.com/v1/chat/completions", content=json.dumps(body).encode())

    assert json.dumps(json.loads(sent[0]), sort_keys=True) == json.dumps(expected, sort_keys=True)
