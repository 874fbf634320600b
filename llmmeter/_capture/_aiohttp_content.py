"""An aiohttp response's ``content``, wrapped so a BodyMeter sees each piece the caller reads.

aiohttp's connection feeds the response's own ``StreamReader`` (``Content-Encoding`` already
decoded, unless the session turned that off); :class:`MeteredContent` stands in its place on the
response and hands every read to it, so ``read()``, ``text()``, ``json()``, ``readline()``,
``readany()``, ``readchunk()``, ``iter_any()``, ``iter_chunked()`` and ``async for line in
resp.content`` return exactly what they would, and the meter sees the same bytes in the same
order. It is a ``StreamReader`` (what callers and aiohttp's payload registry check for) that, like
aiohttp's own ``EmptyStreamReader``, does not run the base initialiser: every method a caller uses
is forwarded, and any other attribute is read from the wrapped reader.

The call is finished exactly once: when a read reaches the end of the body (``complete``), when a
read fails (``error``; ``cancelled``), when the response is released or closed before that
(``closed_early``: aiohttp then sets an exception on its content), or when the response is
collected unread (``abandoned``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from aiohttp import StreamReader
from aiohttp.streams import AsyncStreamIterator, ChunkTupleAsyncStreamIterator

from llmmeter._capture._body import BodyMeter
from llmmeter._telemetry._record import Ending

__all__ = ["MeteredContent"]

_EVENT_ENDS = (b"\n\n", b"\r\n\r\n")


class MeteredContent(StreamReader):
    """Reads through to ``inner``, showing ``meter`` every byte the caller gets."""

    __slots__ = ("_held", "_inner", "_meter", "_plain", "_reread", "_shown")

    def __init__(self, inner: StreamReader, meter: BodyMeter, plain: bool = False) -> None:
        """``plain``: what the caller reads is the body itself (nothing left to decode), so a body
        read whole in one go is handed to the meter as such (see :meth:`read`)."""
        # No super().__init__: see the module's docstring.
        self._inner = inner
        self._meter = meter
        self._plain = plain
        self._reread = 0  # bytes pushed back with unread_data(), already shown to the meter
        self._held = b""  # a line read alone, shown with the rest of its event (see _saw)
        self._shown = False

    def __getattr__(self, name: str) -> Any:
        # Reached for the base class's slots, which stay unset here: they are the wrapped reader's.
        if name in MeteredContent.__slots__:
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return repr(self._inner)

    def __del__(self) -> None:
        meter = getattr(self, "_meter", None)
        if meter is not None and not meter.done:
            self._end("abandoned")

    # Reading: every read is forwarded, and what it returns is shown to the meter (the most used
    # readers without a coroutine of their own in between: they run once per line or chunk).

    async def read(self, n: int = -1) -> bytes:
        try:
            data = await self._inner.read(n)
        except BaseException as exc:
            self._failed(exc)
            raise
        if n < 0 and self._plain and data and not (self._shown or self._reread) and self._inner.at_eof():
            # The whole body in one read (response.read(), .json(), .text()): parsed at once.
            self._shown = True
            self._meter.whole(data)
            return data
        self._saw(data)
        return data

    async def readany(self) -> bytes:
        try:
            data = await self._inner.readany()
        except BaseException as exc:
            self._failed(exc)
            raise
        self._saw(data)
        return data

    async def readline(self, **kwargs: Any) -> bytes:
        try:
            data = await self._inner.readline(**kwargs)
        except BaseException as exc:
            self._failed(exc)
            raise
        self._saw(data)
        return data

    async def readuntil(self, separator: bytes = b"\n", **kwargs: Any) -> bytes:
        return await self._metered(self._inner.readuntil(separator, **kwargs))

    async def readexactly(self, n: int) -> bytes:
        return await self._metered(self._inner.readexactly(n))

    async def readchunk(self) -> tuple[bytes, bool]:
        try:
            data, end_of_chunk = await self._inner.readchunk()
        except BaseException as exc:
            self._failed(exc)
            raise
        self._saw(data)
        return data, end_of_chunk

    def read_nowait(self, n: int = -1) -> bytes:
        try:
            data = self._inner.read_nowait(n)
        except BaseException as exc:
            self._failed(exc)
            raise
        self._saw(data)
        return data

    def unread_data(self, data: bytes) -> None:
        self._inner.unread_data(data)
        self._reread += len(data)

    def __aiter__(self) -> AsyncStreamIterator[bytes]:
        return AsyncStreamIterator(self.readline)

    def iter_chunked(self, n: int) -> AsyncStreamIterator[bytes]:
        set_chunk_size = getattr(self._inner, "set_read_chunk_size", None)
        if set_chunk_size is not None:
            set_chunk_size(n)
        return AsyncStreamIterator(lambda: self.read(n))

    def iter_any(self) -> AsyncStreamIterator[bytes]:
        return AsyncStreamIterator(self.readany)

    def iter_chunks(self) -> ChunkTupleAsyncStreamIterator:
        return ChunkTupleAsyncStreamIterator(self)

    # The state of the body, and its end, as aiohttp's response and the caller see them.

    def exception(self) -> BaseException | None:
        return self._inner.exception()

    def set_exception(self, exc: BaseException, *args: Any) -> None:
        # What aiohttp does when the response is released or closed: no more of the body is read.
        self._inner.set_exception(exc, *args)
        if not self._meter.done:
            self._end("closed_early")

    def is_eof(self) -> bool:
        return self._inner.is_eof()

    def at_eof(self) -> bool:
        return self._inner.at_eof()

    async def wait_eof(self) -> None:
        await self._inner.wait_eof()

    def on_eof(self, callback: Any) -> None:
        self._inner.on_eof(callback)

    def get_read_buffer_limits(self) -> tuple[int, int]:
        return self._inner.get_read_buffer_limits()

    def set_read_chunk_size(self, n: int) -> None:
        self._inner.set_read_chunk_size(n)

    async def _metered(self, reading: Awaitable[bytes]) -> bytes:
        try:
            data = await reading
        except BaseException as exc:
            self._failed(exc)
            raise
        self._saw(data)
        return data

    def _saw(self, data: bytes) -> None:
        meter = self._meter
        if meter.done:
            return
        if self._reread:
            skipped = min(self._reread, len(data))
            self._reread -= skipped
            data = data[skipped:]
        if data:
            held = self._held
            if held:
                self._held = b""
                joined = held + data
                if joined.endswith(_EVENT_ENDS):
                    data = joined
                else:
                    meter.chunk(held)
            if self._shown and data.endswith(b"\n") and not data.endswith(_EVENT_ENDS):
                # A line read alone (readline, async for) waits for the next piece, in case that is
                # the blank line ending its event: shown whole, an event carrying only content is
                # passed over unparsed. Only one line ever waits.
                self._held = data
            else:
                self._shown = True
                meter.chunk(data)
        if self._inner.at_eof():
            self._end("complete")

    def _failed(self, exc: BaseException) -> None:
        self._end("cancelled" if isinstance(exc, asyncio.CancelledError) else "error", exc)

    def _end(self, ending: Ending, exc: BaseException | None = None) -> None:
        meter = self._meter
        if self._held and not meter.done:
            held, self._held = self._held, b""
            meter.chunk(held)
        meter.end(ending, exc)
