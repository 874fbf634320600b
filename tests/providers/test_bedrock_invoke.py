"""The InvokeModel stream state: Anthropic events unwrapped from Bedrock's ``chunk`` messages."""

from __future__ import annotations

import base64
import json

from llmmeter._providers._base import RequestInfo
from llmmeter._providers._bedrock_invoke import BEDROCK_INVOKE


def chunk_payload(event: dict, spaced: bool = False) -> str:
    """A ``chunk`` message's payload, compact as Bedrock writes it or spaced."""
    inner = base64.b64encode(json.dumps(event, separators=(",", ":")).encode()).decode()
    return json.dumps({"bytes": inner, "p": "abcdefgh"}, separators=(", ", ": ") if spaced else (",", ":"))


def state(capture: bool = False):
    return BEDROCK_INVOKE.new_stream(RequestInfo(provider="aws.bedrock", operation="chat"), capture)


def test_invocation_metrics_give_the_usage_when_the_events_carry_none():
    """Events without usage: the final ``amazon-bedrock-invocationMetrics`` counts are used, cache
    reads and writes added to the input (Bedrock's input count excludes them)."""
    stream = state()
    stream.record_event(
        "chunk", chunk_payload({"type": "message_start", "message": {"id": "m", "model": "x"}})
    )
    metrics = {"inputTokenCount": 10, "outputTokenCount": 4, "cacheReadInputTokenCount": 100}
    stream.record_event(
        "chunk", chunk_payload({"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics})
    )

    result = stream.result()
    assert (result.usage.input_tokens, result.usage.cache_read_tokens, result.usage.output_tokens) == (
        110,
        100,
        4,
    )
    assert result.complete


def test_content_deltas_are_passed_over_however_their_json_is_spaced():
    """A content delta is skipped undecoded; captured content still reads it."""
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}
    for spaced in (False, True):
        stream = state(capture=True)
        stream.record_event("chunk", chunk_payload(delta, spaced))
        stream.record_event("chunk", chunk_payload({"type": "message_stop"}, spaced))
        assert stream.result().output_messages[0]["parts"][0]["content"] == "Hi"


def test_undecodable_chunks_are_ignored_and_exceptions_name_the_error():
    """Bad base64, JSON that is not an object, no ``bytes``: ignored; an exception message: its type."""
    stream = state()
    for payload in ('{"bytes":"!!!"}', "[1,2]", '{"other":1}', "not json"):
        stream.record_event("chunk", payload)
    stream.record_event("modelStreamErrorException", '{"message":"boom"}')

    result = stream.result()
    assert (result.usage, result.error_type, result.complete) == (None, "modelStreamErrorException", False)
