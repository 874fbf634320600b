"""Gemini's usage and response reading: the direct read of wire objects agrees with the general
reader, and a stream's fields come from the last chunk that states them."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from llmmeter._providers._base import RequestInfo
from llmmeter._providers._gemini import GENERATE_CONTENT, _any_usage, from_gemini
from llmmeter._providers._sse import SSEParser
from tests.providers import wire
from tests.reliability.strategies import json_values, mutated

WIRE_USAGE = [
    wire.gemini_usage(),
    wire.gemini_usage(prompt=50, cached=20, cached_audio=5, audio=10, thoughts=7, tool_prompt=3),
    {**wire.gemini_usage(audio=4), "candidatesTokensDetails": [{"modality": "IMAGE", "tokenCount": 9}]},
    {"promptTokenCount": 2**63 - 1, "toolUsePromptTokenCount": 1, "candidatesTokenCount": 1},
]
COUNTS = st.one_of(
    st.integers(min_value=-3, max_value=2**64),
    st.sampled_from([None, True, 0, 1.0, 2.5, float("nan"), "7", 2**63 - 1, 2**63]),
)
KEYS = ("promptTokenCount", "toolUsePromptTokenCount", "cachedContentTokenCount", "candidatesTokenCount")


@settings(max_examples=300, deadline=None)
@given(usage=st.sampled_from(WIRE_USAGE).flatmap(mutated))
def test_direct_read_equals_the_general_reader_on_mutated_wire_usage(usage):
    """A wire usageMetadata with parts of it replaced by any JSON reads as the general reader reads it."""
    assert from_gemini(usage) == _any_usage(usage)


@settings(max_examples=300, deadline=None)
@given(counts=st.fixed_dictionaries(dict.fromkeys(KEYS, COUNTS)), audio=COUNTS, snake=st.booleans())
def test_direct_read_equals_the_general_reader_on_any_counts(counts, audio, snake):
    """Counts of every type and range (negative, fractional, beyond int64, bools) read alike."""
    usage: dict[str, Any] = {**counts, "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": audio}]}
    if snake:
        usage["thoughts_token_count"] = 5
    assert from_gemini(usage) == _any_usage(usage)


@settings(max_examples=200, deadline=None)
@given(usage=json_values)
def test_direct_read_equals_the_general_reader_on_any_json(usage):
    """Any JSON value reads as the general reader reads it."""
    assert from_gemini(usage) == _any_usage(usage)


def _chunk(**fields: Any) -> bytes:
    return b"data: " + json.dumps(fields).encode() + b"\r\n\r\n"


def _stream_result(chunks: list[bytes]) -> Any:
    request = RequestInfo(provider="gcp.gemini", operation="generate_content", stream=True)
    state = GENERATE_CONTENT.new_stream(request, capture_content=False)
    parser = SSEParser(state.record_event)
    for chunk in chunks:
        if not state.skips(chunk):
            parser.feed(chunk)
    return state.result()


def test_stream_fields_come_from_the_last_chunk_that_states_them():
    """Model, id and error from the last kept chunk that has them; usage and finish reasons likewise."""
    usage = {"promptTokenCount": 10, "candidatesTokenCount": 1}
    final = {"promptTokenCount": 10, "candidatesTokenCount": 3}
    chunks = [
        _chunk(modelVersion="gemini-a", responseId="r-1", error={"status": "FIRST"}, usageMetadata=usage),
        _chunk(modelVersion="gemini-b", usageMetadata=usage),
        _chunk(usageMetadata=final),
        _chunk(candidates=[{"finishReason": "STOP"}, {"finishReason": ""}, {"index": 2}]),
    ]
    result = _stream_result(chunks)
    assert (result.model, result.response_id, result.error_type) == ("gemini-a", "r-1", "FIRST")
    assert (result.usage.input_tokens, result.usage.output_tokens) == (10, 3)
    assert (result.finish_reasons, result.complete) == (["STOP"], True)


def test_json_array_stream_reads_the_last_chunk_that_states_each_field():
    """A :streamGenerateContent answer without alt=sse (a JSON array) reads each field from its last chunk."""
    request = RequestInfo(provider="gcp.gemini", operation="generate_content")
    body = [
        {"modelVersion": "gemini-a", "responseId": "r-1", "usageMetadata": {"promptTokenCount": 4}},
        {"modelVersion": "gemini-b", "candidates": [{"finishReason": "MAX_TOKENS"}]},
        {"usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 8}, "candidates": [{}]},
    ]
    result = GENERATE_CONTENT.parse_response(request, body, capture_content=False)
    assert (result.model, result.response_id, result.finish_reasons) == ("gemini-b", "r-1", ["MAX_TOKENS"])
    assert (result.usage.input_tokens, result.usage.output_tokens) == (4, 8)
