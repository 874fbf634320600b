"""Reading a response body on the side, as the caller reads it, and finishing the call at its end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmmeter._guard import internal_error
from llmmeter._providers._base import Adapter, RequestInfo, ResponseInfo, StreamState, loads_or_none
from llmmeter._providers._decoding import IDENTITY, Decoder
from llmmeter._providers._framing import Framing, StreamParser
from llmmeter._providers._large import LARGE_BODY_BYTES, BodyWindow
from llmmeter._settings import settings
from llmmeter._telemetry._call import Call
from llmmeter._telemetry._record import Ending

__all__ = ["BodyMeter", "finish_read", "reads_at_once"]


class BodyMeter:
    """Sees each chunk of one response body exactly as the caller receives it.

    A streamed body is parsed event by event by its ``framing`` (SSE, NDJSON, AWS event-stream:
    see ``_providers._framing``) and nothing is kept beyond the stream state; the body of an
    adapter whose ``reads_body`` is False (binary audio) is not kept at all; any other body is
    collected and parsed as JSON once it ends (a large one, unless content is captured, only by
    its two ends: see ``_providers._large``). The call is finished
    exactly once: at the end of the body, when it is closed, on a read error, or when the stream
    is garbage-collected unread.
    """

    __slots__ = (
        "__weakref__",
        "_adapter",
        "_after_first",
        "_call",
        "_chunks",
        "_decoder",
        "_feed",
        "_parser",
        "_sink",
        "_state",
        "_undecodable",
        "done",
    )

    def __init__(
        self, call: Call, adapter: Adapter, decoder: Decoder | None, framing: Framing | None
    ) -> None:
        self._call = call
        self._adapter = adapter
        self._decoder = decoder
        self._undecodable = False
        self.done = False
        self._chunks: BodyWindow | None = None
        self._state: StreamState | None = None
        self._parser: StreamParser | None = None
        take: Callable[[bytes], None]  # what takes the decoded chunks
        if framing is not None:
            state = self._state = adapter.new_stream(call.request, settings.capture_content)
            parser = self._parser = framing(
                state.record_event, getattr(state, "ignores", None), getattr(state, "skips", None)
            )
            take = parser.feed
        elif getattr(adapter, "reads_body", True):
            # Captured content is read from the whole body.
            chunks = self._chunks = BodyWindow(whole=settings.capture_content)
            take = chunks.add
        else:
            take = _discard
        feed: Callable[[bytes], None] | None = take
        if decoder is None:
            feed = None
        elif decoder is not IDENTITY:
            self._sink = take
            feed = self._decode
        self._feed = feed if framing is None else self._first_chunk
        """What each raw chunk goes to (None once nothing more is read)."""
        self._after_first = feed

    async def settled(self) -> None:
        """Wait until the call's budget reservation is settled on a remote store (async code)."""
        reservation = self._call.reservation
        if reservation is not None and reservation.done:
            await reservation.settled()

    def chunk(self, data: bytes) -> None:
        """Take the next raw (still encoded) chunk of the body."""
        feed = self._feed
        if feed is not None and data:
            try:
                feed(data)
            except Exception as exc:
                self._feed = self._decoder = None
                internal_error("parsing a response body", exc)

    def _first_chunk(self, data: bytes) -> None:
        """A stream's first chunk: time to first chunk is a streaming measure."""
        self._call.first_chunk()
        self._feed = feed = self._after_first
        if feed is not None:
            feed(data)

    def _decode(self, data: bytes) -> None:
        """Decode an encoded chunk and pass it on (to ``_sink``, set only for an encoded body)."""
        decoder = self._decoder
        if decoder is None:
            return
        try:
            decoded = decoder.decode(data)
        except Exception:  # a corrupt encoding is bad input, not a bug: stop reading, keep what we have
            self._feed = self._decoder = None
            self._undecodable = True
            return
        self._sink(decoded)

    def whole(self, data: bytes) -> None:
        """Take the whole body at once, as the client read and decoded it before llmmeter saw it
        (a response built in memory: a mock, a cache), and end it."""
        if self._chunks is None or self.done or len(data) > LARGE_BODY_BYTES:
            self.chunk(data)  # a stream, an unread body, a large body: as if it came in one chunk
            self.end("complete")
            return
        self.done = True
        finish_read(self._call, self._adapter, data)

    def end(self, ending: Ending, exception: BaseException | None = None) -> None:
        """The body is over: exhausted (``complete``), closed early, abandoned or failed."""
        if self.done:
            return
        self.done = True
        self._call.finish(self._safe_result(ending == "complete"), ending=ending, exception=exception)

    def _safe_result(self, whole: bool) -> ResponseInfo:
        try:
            result = self._result(whole)
        except Exception as exc:
            internal_error("reading a finished response body", exc)
            return ResponseInfo(complete=False)
        if self._undecodable and result.error_type is None:
            result.error_type = "DecodingError"  # the caller's HTTP library fails on the same bytes
        return result

    def _result(self, whole: bool) -> ResponseInfo:
        request: RequestInfo = self._call.request
        tail = b""
        if self._decoder is not None and whole:
            try:
                tail = self._decoder.flush()
            except Exception:
                tail = b""
        if self._parser is not None and self._state is not None:
            if tail:
                self._parser.feed(tail)
            if whole:
                self._parser.close()
            return self._state.result()
        if self._chunks is None and whole and not self._undecodable:
            # An adapter that learns nothing from the body (synthesized audio): it is never kept.
            return self._adapter.parse_response(request, None, settings.capture_content)
        if not whole or self._decoder is None or self._chunks is None:
            return ResponseInfo(complete=False)
        chunks, self._chunks = self._chunks, None
        if tail:
            chunks.add(tail)
        body: Any = chunks.value()
        return self._adapter.parse_response(request, body, settings.capture_content)


def reads_at_once(adapter: Adapter, data: bytes) -> bool:
    """Whether a non-streamed body the client already read is parsed at once by :func:`finish_read`
    (else it goes through a :class:`BodyMeter`: a large body is read by its two ends)."""
    return len(data) <= LARGE_BODY_BYTES and getattr(adapter, "reads_body", True)


def finish_read(call: Call, adapter: Adapter, data: bytes) -> None:
    """Finish ``call`` with a whole non-streamed body, read and decoded: parsed as JSON."""
    try:
        result = adapter.parse_response(call.request, loads_or_none(data), settings.capture_content)
    except Exception as exc:
        internal_error("reading a finished response body", exc)
        result = ResponseInfo(complete=False)
    call.finish(result)


def _discard(data: bytes) -> None:
    """The sink of a body that is not kept (decoded all the same: a corrupt one is an error)."""
