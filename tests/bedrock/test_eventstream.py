"""The tests' event-stream encoder writes what botocore's own decoder reads."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from tests.bedrock import eventstream


def test_encoded_messages_round_trip_through_botocore():
    """Headers and payload come back unchanged from botocore's EventStreamBuffer, fed byte by byte."""
    frames = eventstream.event("metadata", {"usage": {"inputTokens": 3}}) + eventstream.exception(
        "throttlingException", "slow down"
    )
    buffer = EventStreamBuffer()
    messages = []
    for index in range(len(frames)):
        buffer.add_data(frames[index : index + 1])
        messages.extend(buffer)
    assert [m.headers[":event-type"] for m in messages[:1]] == ["metadata"]
    assert json.loads(messages[0].payload) == {"usage": {"inputTokens": 3}}
    assert messages[1].headers[":exception-type"] == "throttlingException"
    assert messages[1].headers[":message-type"] == "exception"


def test_a_broken_crc_is_refused_by_botocore():
    """The fault the tests inject is one botocore detects."""
    buffer = EventStreamBuffer()
    buffer.add_data(eventstream.bad_crc(eventstream.event("messageStop", {"stopReason": "end_turn"})))
    with pytest.raises(ChecksumMismatch):
        list(buffer)
