"""The stream framings as parsers: AWS event-stream messages and NDJSON lines, cut anywhere."""

from __future__ import annotations

import json
import struct
import zlib

import pytest
from botocore.eventstream import EventStreamBuffer

from llmmeter._providers._eventstream import EventStreamParser
from llmmeter._providers._framing import framing_of_content_type, stream_framing
from llmmeter._providers._ndjson import NDJSONParser
from llmmeter._providers._ollama import OLLAMA_CHAT
from llmmeter._providers._openai import CHAT
from llmmeter._providers._sse import COLLECT_BYTES, SSEParser
from tests.providers import wire

EVENTS = [
    {"type": "message_start", "n": 1},
    {"type": "content_block_delta", "n": 2},
    {"type": "message_stop"},
]


def stream() -> bytes:
    """Three chunk events and a throttling exception, as Bedrock sends them."""
    return b"".join([*(wire.chunk(event) for event in EVENTS), wire.exception("throttlingException", "slow")])


def parse(parser_class, pieces: list[bytes], close: bool = True) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    parser = parser_class(lambda name, data: seen.append((name, data)))
    for piece in pieces:
        parser.feed(piece)
    if close:
        parser.close()
    return seen


def test_test_encoder_writes_what_botocore_decodes():
    """The tests' event-stream messages are valid: botocore's own decoder reads them back."""
    buffer = EventStreamBuffer()
    buffer.add_data(stream())
    messages = list(buffer)

    assert [m.headers[":message-type"] for m in messages] == ["event", "event", "event", "exception"]
    assert json.loads(messages[0].payload)["bytes"]
    assert messages[3].headers[":exception-type"] == "throttlingException"


def test_event_stream_gives_each_message_by_its_event_or_exception_type():
    """Events by ``:event-type``, exceptions by ``:exception-type``, payloads as text."""
    seen = parse(EventStreamParser, [stream()])

    assert [name for name, _ in seen] == ["chunk", "chunk", "chunk", "throttlingException"]
    assert json.loads(seen[3][1]) == {"message": "slow"}


def test_event_stream_cut_after_every_byte_gives_the_same_messages():
    """Bytes one at a time: the same messages, in order."""
    data = stream()

    assert parse(EventStreamParser, [data[i : i + 1] for i in range(len(data))]) == parse(
        EventStreamParser, [data]
    )


def test_event_stream_bad_prelude_checksum_ends_parsing_quietly():
    """A corrupt prelude: the messages before it are read, nothing after, and nothing is raised."""
    second = bytearray(wire.chunk(EVENTS[1]))
    second[9] ^= 0xFF  # inside the prelude CRC

    assert len(parse(EventStreamParser, [wire.chunk(EVENTS[0]) + bytes(second) + wire.chunk(EVENTS[2])])) == 1


def test_event_stream_bad_message_checksum_ends_parsing_quietly():
    """A payload byte flipped: that message fails its CRC and the stream is read no further."""
    corrupt = bytearray(wire.chunk(EVENTS[1]))
    corrupt[-10] ^= 0x01

    assert len(parse(EventStreamParser, [wire.chunk(EVENTS[0]), bytes(corrupt), wire.chunk(EVENTS[2])])) == 1


def test_event_stream_truncated_message_is_dropped_at_close():
    """A body that ends inside a message: the whole messages are read, the partial one dropped."""
    seen = parse(EventStreamParser, [stream()[:-7]])

    assert [name for name, _ in seen] == ["chunk", "chunk", "chunk"]


def test_event_stream_impossible_lengths_end_parsing():
    """A prelude whose CRC holds but whose lengths cannot be true (headers longer than the message)."""
    prelude = struct.pack(">II", 20, 400)
    bogus = prelude + struct.pack(">I", zlib.crc32(prelude)) + b"\x00" * 8

    assert parse(EventStreamParser, [bogus + wire.chunk(EVENTS[0])]) == []


def test_event_stream_large_message_in_many_pieces():
    """A message larger than the collection threshold, fed in small pieces, comes out whole once."""
    payload = json.dumps({"bytes": "A" * (COLLECT_BYTES * 3)}).encode()
    data = wire.message({":event-type": "chunk", ":message-type": "event"}, payload)
    pieces = [data[i : i + 4096] for i in range(0, len(data), 4096)]

    assert parse(EventStreamParser, pieces) == [("chunk", payload.decode())]


def test_ndjson_lines_cut_anywhere_with_any_line_ending():
    """Lines split across pieces, ``\\r\\n`` endings, blank lines and a last line without newline."""
    body = b'{"a":1}\r\n\n{"b":2}\n{"c":3}'
    expected = [("", '{"a":1}'), ("", '{"b":2}'), ("", '{"c":3}')]

    for cut in range(len(body) + 1):
        assert parse(NDJSONParser, [body[:cut], body[cut:]]) == expected


def test_ndjson_long_line_collected_in_pieces():
    """A line longer than the collection threshold arrives in many pieces and comes out whole."""
    line = b'{"x":"' + b"y" * (COLLECT_BYTES * 2) + b'"}'
    body = line + b"\n" + b'{"done":true}\n'
    pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]

    assert parse(NDJSONParser, pieces) == [("", line.decode()), ("", '{"done":true}')]


@pytest.mark.parametrize(
    ("content_type", "framing"),
    [
        ("text/event-stream; charset=utf-8", SSEParser),
        ("application/x-ndjson", NDJSONParser),
        ("application/vnd.amazon.eventstream", EventStreamParser),
        ("application/json", None),
        (None, None),
    ],
)
def test_content_type_names_the_framing(content_type, framing):
    """The content-type names a framing, or none for a body read whole."""
    assert framing_of_content_type(content_type) is framing


def test_the_request_decides_and_the_adapter_names_the_framing():
    """A streamed request: the adapter's framing whatever the content-type; unread: the content-type."""
    assert stream_framing(OLLAMA_CHAT, True, "application/json") is NDJSONParser
    assert stream_framing(CHAT, True, None) is SSEParser
    assert stream_framing(OLLAMA_CHAT, False, "application/x-ndjson") is None
    assert stream_framing(CHAT, None, "application/x-ndjson") is NDJSONParser


def test_event_stream_prelude_checksum_is_checked_before_waiting_for_its_length():
    """A prelude whose CRC fails is not trusted for the length to wait for: parsing ends at once."""
    prelude = struct.pack(">II", 1 << 20, 0)
    parser = EventStreamParser(lambda name, data: None)
    parser.feed(prelude + struct.pack(">I", zlib.crc32(prelude) ^ 1))

    assert parser.broken
    assert parser.between_events
