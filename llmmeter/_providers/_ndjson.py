"""An incremental parser for newline-delimited JSON bodies (``application/x-ndjson``, Ollama's streams).

Bytes arrive in arbitrary pieces; each line comes out as soon as its newline arrives. Lines may end
with ``\\n`` or ``\\r\\n``; blank lines are skipped. A line longer than :data:`COLLECT_BYTES` is
collected as a list of its pieces and joined once, when it ends.
"""

from __future__ import annotations

from llmmeter._providers._sse import COLLECT_BYTES, ChunkFilter, EventFilter, EventSink

__all__ = ["NDJSONParser"]


class NDJSONParser:
    """Feed it bytes; it calls ``sink("", line)`` once per complete non-blank line.

    Lines have no names, so ``ignores`` is accepted (every framing takes one) and never asked.
    ``skips(chunk)``, when given, is asked about each chunk that arrives between lines and ends
    one: a chunk it returns True for is passed over unparsed.
    """

    __slots__ = ("_buffer", "_pieces", "_sink", "_skips")

    def __init__(
        self, sink: EventSink, ignores: EventFilter | None = None, skips: ChunkFilter | None = None
    ) -> None:
        self._sink = sink
        self._skips = skips
        self._buffer = b""
        self._pieces: list[bytes] | None = None
        """The pieces of a long unfinished line, when there is one."""

    @property
    def between_events(self) -> bool:
        """True when no partial line is waiting for more bytes."""
        return not self._buffer and self._pieces is None

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body."""
        pieces = self._pieces
        if pieces is not None:
            pieces.append(chunk)
            if chunk.find(b"\n") == -1:
                return
            self._pieces = None
            buffer = b"".join(pieces)
        elif self._buffer:
            buffer = self._buffer + chunk
        else:
            skips = self._skips
            if skips is not None and chunk.endswith(b"\n") and skips(chunk):
                return  # whole lines, none of which matters
            buffer = chunk
        start = 0
        find = buffer.find
        while (end := find(b"\n", start)) != -1:
            if end > start:
                self._line(buffer[start:end])
            start = end + 1
        rest = buffer[start:] if start else buffer
        if len(rest) > COLLECT_BYTES:
            self._pieces, self._buffer = [rest], b""
        else:
            self._buffer = rest

    def close(self) -> None:
        """Flush a last line the body ended without a newline after."""
        pending = self._buffer if self._pieces is None else b"".join(self._pieces)
        self._buffer, self._pieces = b"", None
        if pending:
            self._line(pending)

    def _line(self, line: bytes) -> None:
        line = line.strip()
        if line:
            self._sink("", line.decode("utf-8", "replace"))
