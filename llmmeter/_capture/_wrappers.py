"""The public wrapper transports and :func:`meter_client`."""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload

import httpx
from opentelemetry._logs import LoggerProvider
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from llmmeter._capture._transport import library_of, meter_async, meter_sync
from llmmeter._errors import ConfigurationError
from llmmeter._telemetry._call import Telemetry, telemetry_for

__all__ = ["AsyncMeteredTransport", "MeteredTransport", "meter_client"]


class MeteredTransport:
    """Wraps any ``httpx.BaseTransport`` or ``httpx2.BaseTransport`` and meters the LLM calls through it.

    The instance is also an instance of the wrapped library's ``BaseTransport``. Requests that are
    not LLM calls pass through untouched. Pass ``tracer_provider`` / ``meter_provider`` /
    ``logger_provider`` (for the inference events) to report to providers other than the process's
    global ones.
    """

    _inner: Any
    _telemetry: Telemetry

    @overload
    def __new__(
        cls,
        inner: httpx.BaseTransport,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> HttpxMeteredTransport: ...
    @overload
    def __new__(
        cls,
        inner: httpx2.BaseTransport,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> Httpx2MeteredTransport: ...
    def __new__(
        cls,
        inner: Any,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> Any:
        # Everything happens here, with no __init__, so the type checker reads the overloads above.
        library = _library_for(inner, "handle_request", cls.__name__)
        self = super().__new__(_sync_class(library))
        self._inner = inner
        self._telemetry = telemetry_for(tracer_provider, meter_provider, logger_provider)
        return self

    @property
    def inner(self) -> Any:
        """The wrapped transport."""
        return self._inner

    def handle_request(self, request: Any) -> Any:
        """Send the request through the wrapped transport, metering it."""
        return meter_sync(request, self._inner.handle_request, self._telemetry)

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(self, *args: Any) -> None:
        self._inner.__exit__(*args)


class AsyncMeteredTransport:
    """Wraps any ``httpx.AsyncBaseTransport`` or ``httpx2.AsyncBaseTransport``.

    See :class:`MeteredTransport`.
    """

    _inner: Any
    _telemetry: Telemetry

    @overload
    def __new__(
        cls,
        inner: httpx.AsyncBaseTransport,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> HttpxAsyncMeteredTransport: ...
    @overload
    def __new__(
        cls,
        inner: httpx2.AsyncBaseTransport,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> Httpx2AsyncMeteredTransport: ...
    def __new__(
        cls,
        inner: Any,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> Any:
        # Everything happens here, with no __init__, so the type checker reads the overloads above.
        library = _library_for(inner, "handle_async_request", cls.__name__)
        self = super().__new__(_async_class(library))
        self._inner = inner
        self._telemetry = telemetry_for(tracer_provider, meter_provider, logger_provider)
        return self

    @property
    def inner(self) -> Any:
        """The wrapped transport."""
        return self._inner

    async def handle_async_request(self, request: Any) -> Any:
        """Send the request through the wrapped transport, metering it."""
        return await meter_async(request, self._inner.handle_async_request, self._telemetry)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self._inner.__aexit__(*args)


if TYPE_CHECKING:
    import httpx2

    # What the type checker knows of a wrapper: it is a MeteredTransport AND the wrapped library's
    # base transport (as it is at run time: see _sync_class), so a client of that library takes it.

    class HttpxMeteredTransport(MeteredTransport, httpx.BaseTransport):
        @property
        def inner(self) -> httpx.BaseTransport: ...

    class Httpx2MeteredTransport(MeteredTransport, httpx2.BaseTransport):
        @property
        def inner(self) -> httpx2.BaseTransport: ...

    class HttpxAsyncMeteredTransport(AsyncMeteredTransport, httpx.AsyncBaseTransport):
        @property
        def inner(self) -> httpx.AsyncBaseTransport: ...

    class Httpx2AsyncMeteredTransport(AsyncMeteredTransport, httpx2.AsyncBaseTransport):
        @property
        def inner(self) -> httpx2.AsyncBaseTransport: ...


def _library_for(inner: Any, method: str, wrapper: str) -> ModuleType:
    if not callable(getattr(inner, method, None)):
        raise ConfigurationError(f"{wrapper} wraps a transport with a {method}() method, not {inner!r}")
    if isinstance(inner, MeteredTransport | AsyncMeteredTransport):
        return library_of(inner.inner)
    return library_of(inner)


@cache
def _sync_class(library: ModuleType) -> type[MeteredTransport]:
    return type("MeteredTransport", (MeteredTransport, library.BaseTransport), {"__module__": "llmmeter"})


@cache
def _async_class(library: ModuleType) -> type[AsyncMeteredTransport]:
    return type(
        "AsyncMeteredTransport",
        (AsyncMeteredTransport, library.AsyncBaseTransport),
        {"__module__": "llmmeter"},
    )


ClientT = TypeVar("ClientT")


def meter_client(
    client: ClientT,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    logger_provider: LoggerProvider | None = None,
) -> ClientT:
    """Put a metered transport into an existing httpx/httpx2 ``Client`` or ``AsyncClient``; returns it.

    Also accepts an SDK client (openai, anthropic) and meters its underlying HTTP client. Mounted
    transports (proxies) are wrapped too. Calling it twice on the same client does nothing more.
    """
    http_client = getattr(client, "_client", None)
    target: Any = http_client if http_client is not None and hasattr(http_client, "_transport") else client
    if not hasattr(target, "_transport"):
        raise ConfigurationError(f"meter_client() takes an httpx or httpx2 client, not {client!r}")
    is_async = callable(getattr(target, "aclose", None))  # AsyncClient has aclose(), Client has close()
    wrapper: Any = AsyncMeteredTransport if is_async else MeteredTransport

    def wrap(transport: Any) -> Any:
        if transport is None or isinstance(transport, MeteredTransport | AsyncMeteredTransport):
            return transport
        return wrapper(
            transport,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            logger_provider=logger_provider,
        )

    target._transport = wrap(target._transport)
    mounts = getattr(target, "_mounts", None)
    if isinstance(mounts, dict):
        for pattern, transport in list(mounts.items()):
            mounts[pattern] = wrap(transport)
    return client
