"""Large request bodies decoded without their prompt's long strings agree with the full parse on
every key an adapter, a budget or the stream-usage rewrite reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from llmmeter._budgets._estimate import stated_output_limit
from llmmeter._capture._http import wants_stream_usage
from llmmeter._providers._anthropic import MESSAGES
from llmmeter._providers._audio import SPEECH, TRANSCRIPTIONS
from llmmeter._providers._base import Adapter, RequestInfo, loads_or_none
from llmmeter._providers._bedrock import CONVERSE, INVOKE
from llmmeter._providers._bedrock_invoke import BEDROCK_INVOKE
from llmmeter._providers._cohere import COHERE_CHAT, COHERE_EMBED
from llmmeter._providers._gemini import EMBED_CONTENT, GENERATE_CONTENT
from llmmeter._providers._images import IMAGES
from llmmeter._providers._ollama import OLLAMA_CHAT, OLLAMA_EMBED, OLLAMA_GENERATE
from llmmeter._providers._openai import CHAT, EMBEDDINGS, RESPONSES
from llmmeter._providers._request_body import (
    LARGE_REQUEST_BYTES,
    LONG_STRING_BYTES,
    decode_request,
    without_long_strings,
)
from llmmeter._providers._routing import Route
from llmmeter._providers._video import VIDEOS

ADAPTERS: dict[str, Adapter] = {
    "chat": CHAT,
    "responses": RESPONSES,
    "embeddings": EMBEDDINGS,
    "messages": MESSAGES,
    "converse": CONVERSE,
    "invoke (botocore)": INVOKE,
    "invoke (http)": BEDROCK_INVOKE,
    "generate_content": GENERATE_CONTENT,
    "embed_content": EMBED_CONTENT,
    "cohere chat": COHERE_CHAT,
    "cohere embed": COHERE_EMBED,
    "ollama chat": OLLAMA_CHAT,
    "ollama generate": OLLAMA_GENERATE,
    "ollama embed": OLLAMA_EMBED,
    "images": IMAGES,
    "videos": VIDEOS,
    "speech": SPEECH,
    "transcriptions": TRANSCRIPTIONS,
}
CONTENT_KEYS = sorted({key for adapter in ADAPTERS.values() for key in getattr(adapter, "content_keys", ())})
READ_KEYS = (
    "model",
    "modelId",
    "stream",
    "stream_format",
    "stream_options",
    "service_tier",
    "serviceTier",
    "temperature",
    "top_p",
    "top_k",
    "topP",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "max_gen_len",
    "maxTokens",
    "stop",
    "stop_sequences",
    "stopSequences",
    "seed",
    "n",
    "p",
    "k",
    "frequency_penalty",
    "presence_penalty",
    "generationConfig",
    "generation_config",
    "inferenceConfig",
    "options",
    "anthropic_version",
    "encoding_format",
    "embedding_types",
    "response_format",
    "size",
    "quality",
    "seconds",
    "input",
    "file",
    "prompt",
)
"""Keys some reader reads (with content capture off), so random bodies reach their code."""

# Strings: short ones, and long ones repeating a piece full of what JSON escapes.
pieces = st.text(alphabet=st.sampled_from('ab "\\/\n\t\x00é✓😀\u2028{}[],:'), min_size=1, max_size=8)
strings = st.one_of(
    st.text(max_size=10),
    st.builds(lambda piece, times: piece * times, pieces, st.integers(10, 120)),
    st.builds(lambda times: "lorem ipsum " * times, st.integers(10, 200)),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    strings,
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(CONTENT_KEYS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
key_texts = st.one_of(
    st.sampled_from([*CONTENT_KEYS, *READ_KEYS]).map(json.dumps),
    st.sampled_from(['"mess\\u0061ges"', '"in\\u0070ut"', '"\\u006dodel"']),  # spelled with escapes
    st.text(max_size=8).map(json.dumps),
)
spaces = st.sampled_from(["", " ", "\n  ", "\t"])


def encode(value: Any, style: int) -> str:
    """``value`` as JSON, in one of three styles (raw UTF-8, ASCII escapes, spaced)."""
    if style == 0:
        return orjson.dumps(value).decode()
    if style == 1:
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, indent=1)


@st.composite
def objects(draw: st.DrawFn, favoured: frozenset[str] = frozenset()) -> bytes:
    """A JSON object as text, duplicate keys included, in varied styles and spacing; keys in
    ``favoured`` come often, holding long strings often."""
    keys = st.sampled_from(sorted(favoured)).map(json.dumps) | key_texts if favoured else key_texts
    members = strings | values
    pairs = draw(st.lists(st.tuples(keys, members, st.integers(0, 2), spaces), max_size=8))
    outer = draw(spaces)
    inner = ",".join(
        f"{outer}{key}{space}:{space}{encode(value, style)}" for key, value, style, space in pairs
    )
    return f"{outer}{{{inner}{outer}}}".encode()


def emptied(value: Any) -> Any:
    """``value`` with every string emptied: what is left of a content key's value."""
    if isinstance(value, str):
        return ""
    if isinstance(value, list):
        return [emptied(item) for item in value]
    if isinstance(value, dict):
        return {key: emptied(item) for key, item in value.items()}
    return value


def assert_agrees(body: Any, full: Any, keys: frozenset[str]) -> None:
    """``body`` is ``full`` (same keys, same order, same values and types) but for strings in the
    values of ``keys``."""
    assert isinstance(body, dict)
    assert isinstance(full, dict)
    assert list(body) == list(full)
    for key, value in full.items():
        if key in keys:
            assert orjson.dumps(emptied(body[key])) == orjson.dumps(emptied(value))
        else:
            assert orjson.dumps(body[key]) == orjson.dumps(value), key


@settings(max_examples=500, deadline=None)
@given(st.data(), st.sets(st.sampled_from(CONTENT_KEYS), min_size=1))
def test_walk_agrees_with_the_full_parse_on_every_key(data, keys):
    """The copy with long content strings emptied decodes to the full parse, but for those strings."""
    content = data.draw(objects(frozenset(keys)))
    shortened = without_long_strings(content, frozenset(key.encode() for key in keys))
    event("walked" if shortened is not None else "decoded whole")
    full = orjson.loads(content)
    if shortened is not None:
        assert len(shortened) < len(content)
        assert_agrees(orjson.loads(shortened), full, frozenset(keys))


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@settings(max_examples=25, deadline=None)
@given(st.data())
def test_large_bodies_agree_with_the_full_parse_for_every_adapter(name, data):
    """decode_request on a body past the threshold gives each adapter what the full parse gives,
    but for strings in its content keys."""
    adapter = ADAPTERS[name]
    keys = frozenset(getattr(adapter, "content_keys", ()))
    padding = "lorem ipsum " * (LARGE_REQUEST_BYTES // 12 + 1)
    bulky = st.sampled_from(sorted(keys or {"messages"}))
    prompt = f'{json.dumps(data.draw(bulky))}:[{{"role":"user","content":{json.dumps(padding)}}}]'
    head = data.draw(objects())[:-1].rstrip()  # without its closing brace
    comma = "," if head.rstrip(b" \t\n{") else ""
    content = head + f"{comma}{prompt}}}".encode()

    full = loads_or_none(content)
    assert decode_request(content, adapter, True) == full
    assert_agrees(decode_request(content, adapter, False), full, keys)


def request_info(adapter: Adapter, body: Mapping[str, Any], model: str | None) -> RequestInfo:
    info = RequestInfo(provider="p", operation="chat", model=model)
    adapter.parse_request(info, body, False)
    return info


MODELS = st.sampled_from(["gpt-4o", "tts-1", "anthropic.claude-sonnet-4-5", "meta.llama3", "sora-2"])


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(READ_KEYS), strings | values, max_size=10), st.data())
def test_adapters_never_read_their_content_keys_without_capture(name, params, data):
    """Whatever a content key holds, an adapter reading without capture, the budget's output limit
    and the stream-usage rewrite see the same request."""
    adapter = ADAPTERS[name]
    model = data.draw(st.none() | MODELS)
    if data.draw(st.booleans()):
        params["model"] = data.draw(MODELS)
    one = dict(params)
    other = dict(params)
    for key in sorted(getattr(adapter, "content_keys", ())):
        one[key] = data.draw(strings | values)
        if data.draw(st.booleans()):
            other[key] = data.draw(strings | values)
        else:
            other.pop(key, None)
    route = Route(adapter, "openai", "chat")

    assert request_info(adapter, one, model) == request_info(adapter, other, model)
    assert list(request_info(adapter, one, model).params) == list(request_info(adapter, other, model).params)
    assert stated_output_limit(one) == stated_output_limit(other)
    assert wants_stream_usage(route, one) == wants_stream_usage(route, other)


def test_content_keys_hold_no_key_read_outside_the_adapters():
    """No content key is one a budget, the stream-usage rewrite or Bedrock's family check reads."""
    outside = {"stream", "stream_options", "max_tokens", "max_completion_tokens", "max_output_tokens"}
    outside |= {"generationConfig", "inferenceConfig", "anthropic_version", "model", "modelId"}
    assert CONTENT_KEYS
    assert not outside & set(CONTENT_KEYS)


def chat_body(content: str, **params: Any) -> bytes:
    return orjson.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": content}], **params})


def test_a_one_mib_prompt_is_left_out():
    """A 1 MiB chat prompt is emptied, and every parameter is read as the full parse reads it."""
    content = chat_body("lorem ipsum " * 90_000, max_tokens=5, temperature=0.5, stream=True)

    body = decode_request(content, CHAT, False)

    assert body == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": ""}],
        "max_tokens": 5,
        "temperature": 0.5,
        "stream": True,
    }
    assert len(without_long_strings(content, {b"messages"}) or b"") < 200


def test_short_strings_of_content_keys_are_kept():
    """Strings under LONG_STRING_BYTES in a content value are decoded, not emptied."""
    short = "x" * (LONG_STRING_BYTES - 3)  # with its quotes, one byte short
    content = orjson.dumps({"messages": [{"role": "user", "content": short}, {"content": short + "yy"}]})

    shortened = without_long_strings(content, {b"messages"})

    assert shortened is not None
    assert orjson.loads(shortened) == {"messages": [{"role": "user", "content": short}, {"content": ""}]}


def test_duplicate_keys_keep_the_last_value():
    """A key written twice holds its last value, in the place of its first, as in orjson."""
    prompt = json.dumps("p" * 100_000)
    content = f'{{"max_tokens":1,"messages":{prompt},"model":"a","max_tokens":7,"messages":[]}}'.encode()

    body = decode_request(content, CHAT, False)

    assert list(body.items()) == [("max_tokens", 7), ("messages", []), ("model", "a")]


def test_a_prompt_of_many_escaped_quotes_is_decoded_whole():
    """When the walk would stop at too many escaped quotes, the body is decoded whole."""
    content = chat_body('say "hi" ' * 20_000, max_tokens=5)

    assert without_long_strings(content, {b"messages"}) is None
    assert decode_request(content, CHAT, False) == orjson.loads(content)


def test_a_conversation_of_many_short_strings_is_decoded_whole():
    """Thousands of short messages are not worth walking: the body is decoded whole."""
    messages = [{"role": "user", "content": "short message"}] * 5_000
    content = orjson.dumps({"model": "gpt-4o", "messages": messages, "max_tokens": 5})

    assert len(content) >= LARGE_REQUEST_BYTES
    assert without_long_strings(content, {b"messages"}) is None


def test_invalid_or_unusual_bodies_read_as_the_full_parse():
    """Anything the full parse reads otherwise (not JSON, NaN, not an object, a long backslash run,
    UTF-16) comes out as the full parse."""
    prompt = json.dumps("lorem " * 20_000)
    backslashes = "\\" * 40
    bodies = [
        f'{{"model":"a","messages":{prompt},"max_tokens":5}} trailing'.encode(),
        f'{{"model":"a","messages":{prompt},"temperature":NaN}}'.encode(),
        f'{{"model":"a","messages":{prompt},"max_tokens":5'.encode(),
        f'{{"model":"a","messages":{prompt},,"max_tokens":5}}'.encode(),
        f' [{prompt}, {{"model":"a"}}]'.encode(),
        f'{{"model":"a","messages":"{backslashes}","x":{prompt}}}'.encode(),
        f'{{"model":"a","messages":{prompt},"max_tokens":5}}'.encode("utf-16-le"),
        f'{{"model":"a","messages":{prompt},"max_tokens":123456789012345678901234567890}}'.encode(),
    ]
    for content in bodies:
        assert len(content) >= LARGE_REQUEST_BYTES
        full = loads_or_none(content)
        body = decode_request(content, CHAT, False)
        if isinstance(full, dict):
            assert_agrees(body, full, frozenset({"messages"}))
        else:
            assert body == full
