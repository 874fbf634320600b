"""An incremental parser for ``text/event-stream`` bodies.

Bytes arrive in arbitrary pieces; events come out as soon as their blank line arrives. Nothing is
kept beyond the event being read. Line endings may be ``\\n``, ``\\r\\n`` or ``\\r``. It works on
bytes and decodes one event at a time, since it runs for every chunk the caller reads. An event
larger than :data:`COLLECT_BYTES` (a base64 image or audio payload of megabytes, read in many
chunks) is collected as a list of its pieces and joined once, when it ends, so reading it costs
time linear in its size.

Bytes are searched with ``find``, never ``in``, on every path that runs per chunk: ``bytes.__contains__``
first tries its operand as an integer, and for a bytes operand raises and clears a TypeError (a
formatted message) before it searches: several times the cost of the search itself. The stream
states' ``skips`` do the same.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["COLLECT_BYTES", "ChunkFilter", "EventFilter", "EventSink", "SSEParser"]

_EVENT_ENDS = (b"\n\n", b"\r\n\r\n")  # Gemini writes ``\r\n`` line endings
"""What a chunk made of whole events ends with."""

COLLECT_BYTES = 64 << 10
"""An unfinished event longer than this is collected piece by piece rather than re-copied per chunk."""

EventSink = Callable[[str, str], None]
EventFilter = Callable[[str], bool]
ChunkFilter = Callable[[bytes], bool]
"""Given a chunk made of whole events, True when none of them need be parsed (see ``StreamState.skips``)."""


class SSEParser:
    """Feed it bytes; it calls ``sink(event_name, data)`` once per complete event.

    ``ignores(event_name)``, when given, is asked first about each event that names itself on its
    first line: an event it returns True for is dropped undecoded (a base64 partial image).
    ``skips(chunk)``, when given, is asked about each chunk that arrives between events and ends
    one: a chunk it returns True for is passed over unparsed (a stream's content deltas).
    """

    __slots__ = ("_buffer", "_dropping", "_ignores", "_pieces", "_sink", "_skips")

    def __init__(
        self, sink: EventSink, ignores: EventFilter | None = None, skips: ChunkFilter | None = None
    ) -> None:
        self._sink = sink
        self._ignores = ignores
        self._skips = skips
        self._buffer = b""
        self._pieces: list[bytes] | None = None
        """The pieces of a large unfinished event (newlines already normalized), when there is one."""
        self._dropping = False
        """True while that event is one ``ignores`` drops: only its last byte is kept."""

    @property
    def between_events(self) -> bool:
        """True when no partial event is waiting for more bytes."""
        return not self._buffer and self._pieces is None

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body."""
        if self._pieces is not None:
            self._feed_large(chunk, self._pieces)
            return
        if self._buffer:
            buffer = self._buffer + chunk
        else:
            skips = self._skips
            if skips is not None and chunk.endswith(_EVENT_ENDS) and skips(chunk):
                return  # whole events, none of which matters
            buffer = chunk
        if buffer.find(b"\r") != -1:
            buffer = _normalize_newlines(buffer)
        start = 0
        find = buffer.find
        while (end := find(b"\n\n", start)) != -1:
            if end > start:
                self._event(buffer[start:end])
            start = end + 2
        rest = buffer[start:] if start else buffer
        if len(rest) > COLLECT_BYTES:
            self._keep(rest)
        else:
            self._buffer = rest

    def _feed_large(self, chunk: bytes, pieces: list[bytes]) -> None:
        """The next piece of an event larger than :data:`COLLECT_BYTES`."""
        if chunk.find(b"\r") == -1 and (chunk.find(b"\n") == -1 or not _ends_event(pieces[-1], chunk)):
            # The large event goes on: nothing to parse yet.
            if not self._dropping:
                pieces.append(chunk)
            elif chunk:
                pieces[0] = chunk[-1:]  # enough to see a blank line split across chunks
            return
        dropped, self._pieces, self._dropping = self._dropping, None, False
        # The pieces hold no blank line (nor a carriage return): the event ends at the end of the
        # last piece or later, and only the new chunk may need its newlines normalized.
        end_from = sum(map(len, pieces)) - 1
        has_cr = chunk.find(b"\r") != -1
        pieces.append(chunk)
        buffer = b"".join(pieces)
        if has_cr:
            buffer = _normalize_newlines(buffer)
        end = buffer.find(b"\n\n", end_from)
        if end == -1:  # a lone carriage return, now a newline, completed no blank line
            self._keep(buffer)
            return
        if not dropped:
            self._event(buffer[:end])
        rest = buffer[end + 2 :]
        self._buffer = b""
        if rest:
            self.feed(rest)

    def _keep(self, rest: bytes) -> None:
        """Keep the start of an unfinished event; a large one as pieces (or, when dropped, not at all)."""
        if len(rest) <= COLLECT_BYTES or rest[-1:] == b"\r":
            self._buffer = rest
            return
        self._dropping = self._ignored(rest)
        self._pieces, self._buffer = [rest[-1:] if self._dropping else rest], b""

    def close(self) -> None:
        """Flush an event the body ended without a blank line after."""
        pending = self._buffer if self._pieces is None else b"".join(self._pieces)
        if self._dropping:
            pending = b""
        self._pieces, self._dropping = None, False
        tail, self._buffer = pending.rstrip(b"\r\n"), b""
        if tail:
            self._event(tail)

    def _event(self, block: bytes) -> None:
        if block.startswith(b"data: ") and block.find(b"\n") == -1:  # the common case: one data line
            self._sink("", block[6:].decode("utf-8", "replace"))
            return
        if self._ignores is not None and self._ignored(block):
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

    def _ignored(self, block: bytes) -> bool:
        """Whether ``block`` (an event, or its start) is an event ``ignores`` drops, by its first line."""
        ignores = self._ignores
        if ignores is None or not block.startswith(b"event: "):
            return False
        end = block.find(b"\n", 7, 263)
        return end != -1 and ignores(block[7:end].decode("utf-8", "replace").rstrip())


def _ends_event(previous: bytes, chunk: bytes) -> bool:
    """Whether ``chunk`` holds a blank line, or completes one begun at the end of ``previous``.

    Asked only of chunks holding a newline: a base64 payload holds none, and a one-byte search
    (``memchr``) is many times cheaper than a two-byte one.
    """
    return chunk.find(b"\n\n") != -1 or (chunk[:1] == b"\n" and previous[-1:] == b"\n")


def _normalize_newlines(buffer: bytes) -> bytes:
    """Turn ``\\r\\n`` and lone ``\\r`` into ``\\n``.

    A trailing ``\\r`` is kept: it may be the first half of a ``\\r\\n``.
    """
    trailing_cr = buffer.endswith(b"\r")
    if trailing_cr:
        buffer = buffer[:-1]
    buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return buffer + b"\r" if trailing_cr else buffer
