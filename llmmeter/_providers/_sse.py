"""An incremental parser for ``text/event-stream`` bodies.

Bytes arrive in arbitrary pieces; events come out as soon as their blank line arrives. Nothing is
kept beyond the event being read. Line endings may be ``\\n``, ``\\r\\n`` or ``\\r``. It works on
bytes and decodes one event at a time, since it runs for every chunk the caller reads. An event
larger than :data:`COLLECT_BYTES` (a base64 image or audio payload of megabytes, read in many
chunks) is collected as a list of its pieces and joined once, when it ends, so reading it costs
time linear in its size.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["COLLECT_BYTES", "SSEParser"]

COLLECT_BYTES = 64 << 10
"""An unfinished event longer than this is collected piece by piece rather than re-copied per chunk."""

EventSink = Callable[[str, str], None]


class SSEParser:
    """Feed it bytes; it calls ``sink(event_name, data)`` once per complete event."""

    __slots__ = ("_buffer", "_pieces", "_sink")

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._buffer = b""
        self._pieces: list[bytes] | None = None
        """The pieces of a large unfinished event (newlines already normalized), when there is one."""

    @property
    def between_events(self) -> bool:
        """True when no partial event is waiting for more bytes."""
        return not self._buffer and self._pieces is None

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body."""
        pieces = self._pieces
        if pieces is not None:
            if not (b"\r" in chunk or b"\n\n" in chunk or (chunk[:1] == b"\n" and pieces[-1][-1:] == b"\n")):
                pieces.append(chunk)  # the large event goes on: nothing to parse yet
                return
            self._pieces = None
            pieces.append(chunk)
            chunk = b"".join(pieces)
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            buffer = _normalize_newlines(buffer)
        start = 0
        find = buffer.find
        while (end := find(b"\n\n", start)) != -1:
            if end > start:
                self._event(buffer[start:end])
            start = end + 2
        rest = buffer[start:] if start else buffer
        if len(rest) > COLLECT_BYTES and rest[-1:] != b"\r":
            self._pieces, self._buffer = [rest], b""
        else:
            self._buffer = rest

    def close(self) -> None:
        """Flush an event the body ended without a blank line after."""
        pending = self._buffer if self._pieces is None else b"".join(self._pieces)
        self._pieces = None
        tail, self._buffer = pending.rstrip(b"\r\n"), b""
        if tail:
            self._event(tail)

    def _event(self, block: bytes) -> None:
        if block.startswith(b"data: ") and b"\n" not in block:  # the common case: one data line
            self._sink("", block[6:].decode("utf-8", "replace"))
            return
        event = ""
        data: list[str] = []
        for raw in block.split(b"\n"):
            if not raw or raw[:1] == b":":
                continue
            line = raw.decode("utf-8", "replace")
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
        if data:
            self._sink(event, "\n".join(data))


def _normalize_newlines(buffer: bytes) -> bytes:
    """Turn ``\\r\\n`` and lone ``\\r`` into ``\\n``.

    A trailing ``\\r`` is kept: it may be the first half of a ``\\r\\n``.
    """
    trailing_cr = buffer.endswith(b"\r")
    if trailing_cr:
        buffer = buffer[:-1]
    buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return buffer + b"\r" if trailing_cr else buffer
