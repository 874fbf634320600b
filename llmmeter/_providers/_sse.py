"""An incremental parser for ``text/event-stream`` bodies.

Bytes arrive in arbitrary pieces; events come out as soon as their blank line arrives. Nothing is
buffered beyond the event being read. Line endings may be ``\\n``, ``\\r\\n`` or ``\\r``.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable

__all__ = ["SSEParser"]

EventSink = Callable[[str, str], None]


class SSEParser:
    """Feed it bytes; it calls ``sink(event_name, data)`` once per complete event."""

    __slots__ = ("_buffer", "_data", "_decoder", "_event", "_sink")

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body."""
        text = self._buffer + self._decoder.decode(chunk)
        if "\r" in text:
            # A lone trailing \r may be the first half of \r\n: keep it for the next piece.
            keep_cr = text.endswith("\r")
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            if keep_cr:
                text = text[:-1] + "\r"
        lines = text.split("\n")
        self._buffer = lines.pop()
        for line in lines:
            self._line(line.rstrip("\r"))

    def close(self) -> None:
        """Flush an event the body ended without a blank line after."""
        tail = self._buffer + self._decoder.decode(b"", final=True)
        self._buffer = ""
        if tail.strip("\r"):
            self._line(tail.rstrip("\r"))
        self._line("")

    def _line(self, line: str) -> None:
        if not line:
            if self._data:
                data = "\n".join(self._data)
                self._data = []
                event, self._event = self._event, ""
                self._sink(event, data)
            else:
                self._event = ""
            return
        if line[0] == ":":
            return
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
