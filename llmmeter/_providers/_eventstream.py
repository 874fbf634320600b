"""An incremental parser for AWS event-stream bodies (``application/vnd.amazon.eventstream``).

Bedrock's streams are binary messages: a 12-byte prelude (total length, headers length, CRC32 of
those 8 bytes), headers (name, type, value), a payload, and a CRC32 of everything before it. Bytes
arrive in arbitrary pieces; each message comes out once all of it has arrived and both checksums
hold (the message's CRC is computed on from the prelude's CRC as written, so one check of a whole
message covers both; the prelude's alone is checked before waiting for the length it states). A
message that fails a check, or whose lengths cannot be true, ends parsing: nothing after it can be
framed with confidence, and nothing is raised to the caller.

Each message reaches the sink as ``(name, payload)``: an ``event`` message by its ``:event-type``,
an ``exception`` message by its ``:exception-type`` (AWS names them ``...Exception``), an ``error``
message by its ``:error-code``. The payload is decoded as UTF-8 text (JSON, for Bedrock).
"""

from __future__ import annotations

import struct
from zlib import crc32

from llmmeter._providers._sse import COLLECT_BYTES, ChunkFilter, EventFilter, EventSink

__all__ = ["MAX_MESSAGE_BYTES", "EventStreamParser"]

MAX_MESSAGE_BYTES = 24 << 20
"""The largest message accepted (botocore's limit on a payload): a larger length means a corrupt prelude."""

_PRELUDE = struct.Struct(">III")
_CRC = struct.Struct(">I")
_PRELUDE_BYTES = 12
_MINIMUM_MESSAGE_BYTES = 16  # a prelude and the message CRC

# Header value types -> the fixed size of their value; byte arrays (6) and strings (7) carry a
# 2-byte length instead.
_FIXED_SIZES = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
_NAME_HEADERS = {"event": ":event-type", "exception": ":exception-type", "error": ":error-code"}


class CorruptStream(ValueError):
    """A message that cannot be framed: the stream is read no further."""


class EventStreamParser:
    """Feed it bytes; it calls ``sink(name, payload)`` once per complete, intact message.

    ``ignores(name)``, when given, is asked about each message first: one it returns True for is
    dropped undecoded.
    """

    __slots__ = ("_broken", "_buffer", "_ignores", "_last_headers", "_last_name", "_need", "_pieces", "_sink")

    def __init__(
        self, sink: EventSink, ignores: EventFilter | None = None, skips: ChunkFilter | None = None
    ) -> None:
        """``skips`` is accepted (every framing takes one) and never asked: a chunk of binary
        messages cannot be seen to hold whole ones without reading their preludes."""
        self._sink = sink
        self._ignores = ignores
        self._buffer = b""
        self._pieces: list[bytes] | None = None
        """The pieces of a large unfinished message, collected until ``_need`` bytes have come."""
        self._need = 0
        self._broken = False
        self._last_headers = b""
        self._last_name: str | None = None
        """The name read from ``_last_headers``: a stream's messages mostly repeat their headers."""

    @property
    def between_events(self) -> bool:
        """True when no partial message is waiting for more bytes."""
        return not self._buffer and self._pieces is None

    @property
    def broken(self) -> bool:
        """True once a message failed its checks: nothing more is read."""
        return self._broken

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body."""
        if self._broken or not chunk:
            return
        pieces = self._pieces
        if pieces is not None:
            pieces.append(chunk)
            self._need -= len(chunk)
            if self._need > 0:
                return
            self._pieces = None
            data = b"".join(pieces)
        else:
            data = self._buffer + chunk if self._buffer else chunk
        self._buffer = b""
        try:
            self._parse(data)
        except CorruptStream:
            self._broken, self._buffer, self._pieces = True, b"", None

    def close(self) -> None:
        """The body is over: a partial message left waiting is truncated, and dropped."""
        self._buffer, self._pieces = b"", None

    def _parse(self, data: bytes) -> None:
        start = 0
        size = len(data)
        unpack = _PRELUDE.unpack_from
        ignores = self._ignores
        while size - start >= _PRELUDE_BYTES:
            total, headers_length, prelude_crc = unpack(data, start)
            if (
                not _MINIMUM_MESSAGE_BYTES <= total <= MAX_MESSAGE_BYTES
                or headers_length > total - _MINIMUM_MESSAGE_BYTES
            ):
                raise CorruptStream("impossible lengths")
            end = start + total
            if end > size:
                # Check the prelude before waiting for as many bytes as it says.
                if crc32(data[start : start + 8]) != prelude_crc:
                    raise CorruptStream("bad prelude checksum")
                if total > COLLECT_BYTES:  # a large message: collect its pieces, join once
                    self._pieces, self._need = [data[start:]], end - size
                    return
                break
            # The message's CRC continues from the prelude's as written: it holds only if both do.
            payload_end = end - 4
            if crc32(data[start + 8 : payload_end], prelude_crc) != _CRC.unpack_from(data, payload_end)[0]:
                raise CorruptStream("bad checksum")
            headers_start = start + _PRELUDE_BYTES
            headers_end = headers_start + headers_length
            last = self._last_headers
            if len(last) == headers_length and data.startswith(last, headers_start):
                name = self._last_name  # a stream's messages mostly repeat their headers
            else:
                last = data[headers_start:headers_end]
                name = _name(_headers(last))
                self._last_headers, self._last_name = last, name
            if name is not None and (ignores is None or not ignores(name)):
                self._sink(name, data[headers_end:payload_end].decode("utf-8", "replace"))
            start = end
        self._buffer = data[start:] if start else data


def _name(headers: dict[str, object]) -> str | None:
    """The name a message reaches the sink by (see the module docstring); None for other messages."""
    kind = headers.get(":message-type", "event")
    header = _NAME_HEADERS.get(kind) if isinstance(kind, str) else None
    name = headers.get(header) if header is not None else None
    return name if isinstance(name, str) else None


def _headers(raw: bytes) -> dict[str, object]:
    """Decode a message's headers (only string values are kept whole; others as raw bytes)."""
    headers: dict[str, object] = {}
    position, size = 0, len(raw)
    try:
        while position < size:
            name_length = raw[position]
            name = raw[position + 1 : position + 1 + name_length].decode("utf-8")
            position += 1 + name_length
            kind = raw[position]
            position += 1
            fixed = _FIXED_SIZES.get(kind)
            if fixed is not None:
                value: object = raw[position : position + fixed]
                position += fixed
            elif kind in (6, 7):
                length = int.from_bytes(raw[position : position + 2], "big")
                value = raw[position + 2 : position + 2 + length]
                if kind == 7:
                    value = value.decode("utf-8")
                position += 2 + length
            else:
                raise CorruptStream(f"unknown header type {kind}")
            if position > size:
                raise CorruptStream("header runs past the headers")
            headers[name] = value
    except (IndexError, UnicodeDecodeError) as exc:
        raise CorruptStream("malformed headers") from exc
    return headers
