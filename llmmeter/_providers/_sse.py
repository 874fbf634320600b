"""An incremental parser for ``text/event-stream`` bodies.

Bytes arrive in arbitrary pieces; events come out as soon as their blank line arrives. Nothing is
kept beyond the event being read. Line endings may be ``\\n``, ``\\r\\n`` or ``\\r``. It works on
bytes and decodes one event at a time, since it runs for every chunk the caller reads.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["SSEParser"]

EventSink = Callable[[str, str], None]


class SSEParser:
    """Feed it bytes; it calls ``sink(event_name, data)`` once per complete event."""

    __slots__ = ("_buffer", "_sink")

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._buffer = b""

    @property
    def between_events(self) -> bool:
        """True when no partial event is waiting for more bytes."""
        return not self._buffer

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body."""
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            buffer = _normalize_newlines(buffer)
        start = 0
        find = buffer.find
        while (end := find(b"\n\n", start)) != -1:
            if end > start:
                self._event(buffer[start:end])
            start = end + 2
        self._buffer = buffer[start:] if start else buffer

    def close(self) -> None:
        """Flush an event the body ended without a blank line after."""
        tail, self._buffer = self._buffer.rstrip(b"\r\n"), b""
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
