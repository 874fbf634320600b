"""Response-stream wrappers: yield the inner stream's parts unchanged, show each to a BodyMeter.

httpx and httpx2 check a response's stream against their own ``SyncByteStream`` /
``AsyncByteStream`` classes, so each library gets a subclass of these wrappers made once from the
same code (:func:`sync_stream_class`, :func:`async_stream_class`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from functools import cache
from types import ModuleType
from typing import Any

from llmmeter._capture._body import BodyMeter

__all__ = ["async_stream_class", "sync_stream_class"]


class _MeteredSyncStream:
    """Wraps a sync byte stream; finishes the call on exhaustion, close, error or collection."""

    __slots__ = ()
    _inner: Any
    _meter: BodyMeter

    def __iter__(self) -> Iterator[bytes]:
        meter = self._meter
        try:
            for chunk in self._inner:
                meter.chunk(chunk)
                yield chunk
        except GeneratorExit:
            raise
        except BaseException as exc:
            meter.end("error", exc)
            raise
        meter.end("complete")

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._meter.end("closed_early")

    def __del__(self) -> None:
        meter = getattr(self, "_meter", None)
        if meter is not None and not meter.done:
            meter.end("abandoned")


class _MeteredAsyncStream:
    """Wraps an async byte stream; finishes the call on exhaustion, close, error, cancel or collection."""

    __slots__ = ()
    _inner: Any
    _meter: BodyMeter

    async def __aiter__(self) -> AsyncIterator[bytes]:
        meter = self._meter
        try:
            async for chunk in self._inner:
                meter.chunk(chunk)
                yield chunk
        except GeneratorExit:
            raise
        except asyncio.CancelledError as exc:
            meter.end("cancelled", exc)
            raise
        except BaseException as exc:
            meter.end("error", exc)
            raise
        meter.end("complete")
        await meter.settled()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except asyncio.CancelledError as exc:
            self._meter.end("cancelled", exc)
            raise
        finally:
            self._meter.end("closed_early")
        await self._meter.settled()

    def __del__(self) -> None:
        meter = getattr(self, "_meter", None)
        if meter is not None and not meter.done:
            meter.end("abandoned")


def _init(self: Any, inner: Any, meter: BodyMeter) -> None:
    self._inner = inner
    self._meter = meter


@cache
def sync_stream_class(library: ModuleType) -> type:
    """The metered sync stream class for ``library`` (``httpx`` or ``httpx2``)."""
    return type(
        "MeteredSyncStream",
        (_MeteredSyncStream, library.SyncByteStream),
        {"__init__": _init, "__module__": __name__},
    )


@cache
def async_stream_class(library: ModuleType) -> type:
    """The metered async stream class for ``library`` (``httpx`` or ``httpx2``)."""
    return type(
        "MeteredAsyncStream",
        (_MeteredAsyncStream, library.AsyncByteStream),
        {"__init__": _init, "__module__": __name__},
    )
