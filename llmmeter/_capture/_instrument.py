"""``instrument()`` / ``uninstrument()``: meter every client in the process.

The send path every httpx and httpx2 client passes through (``Client.send``,
``AsyncClient.send``), whatever its transport (a custom one, aiohttp-backed, a mock), gets replaced
by one that meters and then calls the original; a metered transport under it passes the call
through, so it is counted once; integrations installed as
``llmmeter.integrations`` entry points (llmmeter-langchain) are switched on too. Both are
idempotent, and ``uninstrument()`` puts back exactly the methods that were there, also when other
instrumentations wrapped the same methods in the meantime (see :class:`_Patch`).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from opentelemetry._logs import LoggerProvider
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from llmmeter._capture._transport import meter_async, meter_sync
from llmmeter._guard import internal_error
from llmmeter._locks import new_lock
from llmmeter._telemetry._call import Telemetry, telemetry_for

__all__ = ["instrument", "is_instrumented", "uninstrument"]

logger = logging.getLogger("llmmeter")

_LIBRARIES = ("httpx", "httpx2")
_ENTRY_POINT_GROUP = "llmmeter.integrations"

_lock = new_lock()
_patches: list[_Patch] = []
_integrations: list[Any] = []


class _Patch:
    """One client's ``send`` replaced by a metering wrapper, and how to take it out again.

    Other instrumentations may wrap the same method,
    before llmmeter or after it, and unwrap in any order. So the wrapper calls what it replaced
    through the descriptor protocol (as Python would: a wrapt wrapper needs its instance), and
    removal never throws away a wrapper installed on top of it: when llmmeter's wrapper is no
    longer the class attribute, the wrapper that wraps it is pointed past it (``__wrapped__``, which
    is what a wrapt wrapper calls and what every unwrap restores), and llmmeter's own wrapper
    turns into a pass-through for the wrappers that call it by closure.
    """

    __slots__ = ("active", "cls", "method", "original", "wrapper")

    def __init__(self, cls: type, method: str, telemetry: Telemetry, asynchronous: bool) -> None:
        self.cls = cls
        self.method = method
        self.original = cls.__dict__[method]
        self.active = True
        self.wrapper = self._async_wrapper(telemetry) if asynchronous else self._sync_wrapper(telemetry)
        self.wrapper.__wrapped__ = self.original  # type: ignore[attr-defined]
        setattr(cls, method, self.wrapper)

    def _sync_wrapper(self, telemetry: Telemetry) -> Callable[..., Any]:
        def send(client: Any, request: Any, *, stream: bool = False, **options: Any) -> Any:
            original = self.original.__get__(client, type(client))
            if not self.active:
                return original(request, stream=stream, **options)
            # Sent as a stream, so the body passes through llmmeter's stream wrapper; then read
            # here when the caller asked for a read body, exactly as Client.send itself does.
            response = meter_sync(request, lambda r: original(r, stream=True, **options), telemetry)
            if not stream:
                try:
                    response.read()
                except BaseException:
                    response.close()
                    raise
            return response

        return send

    def _async_wrapper(self, telemetry: Telemetry) -> Callable[..., Any]:
        async def send(client: Any, request: Any, *, stream: bool = False, **options: Any) -> Any:
            original = self.original.__get__(client, type(client))
            if not self.active:
                return await original(request, stream=stream, **options)
            response = await meter_async(request, lambda r: original(r, stream=True, **options), telemetry)
            if not stream:
                try:
                    await response.aread()
                except BaseException:
                    await response.aclose()
                    raise
            return response

        return send

    def remove(self) -> None:
        """Take the wrapper out, leaving whatever other libraries wrapped around it working."""
        self.active = False
        current = self.cls.__dict__.get(self.method)
        if current is self.wrapper:
            setattr(self.cls, self.method, self.original)
            return
        outer, node = None, current
        for _ in range(_MAX_CHAIN):
            if node is None or node is self.wrapper:
                break
            outer, node = node, getattr(node, "__wrapped__", None)
        if node is self.wrapper and outer is not None:
            # If the outer wrapper refuses, the inactive wrapper stays in the chain, passing through.
            with contextlib.suppress(AttributeError, TypeError):
                outer.__wrapped__ = self.original


_MAX_CHAIN = 32
"""How deep removal looks through other libraries' wrappers for llmmeter's own."""


def instrument(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    logger_provider: LoggerProvider | None = None,
    integrations: bool = True,
) -> None:
    """Meter every httpx and httpx2 client in the process, and switch on installed integrations.

    Clients created before the call are metered too (the clients' classes are patched), whatever
    their transport. OpenAI Realtime sessions over WebSocket opened after the call are metered
    too, when ``websockets`` is installed (see :mod:`llmmeter._capture._realtime` for what is
    covered). A second call does nothing until :func:`uninstrument`.
    """
    with _lock:
        if _patches:
            return
        telemetry = telemetry_for(tracer_provider, meter_provider, logger_provider)
        for name in _LIBRARIES:
            try:
                library = importlib.import_module(name)
            except ImportError:
                continue
            _patches.append(_Patch(library.Client, "send", telemetry, asynchronous=False))
            _patches.append(_Patch(library.AsyncClient, "send", telemetry, asynchronous=True))
        _patches.extend(_realtime_patches(telemetry))
        if integrations:
            _start_integrations(tracer_provider, meter_provider, logger_provider)


def _realtime_patches(telemetry: Telemetry) -> list[_Patch]:
    """The Realtime capture point's patches; none when ``websockets`` is not installed."""
    try:
        from llmmeter._capture._realtime import realtime_patches
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] != "websockets":
            raise
        return []
    return realtime_patches(telemetry)


def uninstrument() -> None:
    """Undo :func:`instrument`: restore the clients' original ``send`` and switch integrations off."""
    with _lock:
        while _patches:
            _patches.pop().remove()
        while _integrations:
            integration = _integrations.pop()
            try:
                integration.uninstrument()
            except Exception as exc:
                internal_error("switching off an integration", exc)


def is_instrumented() -> bool:
    """Whether :func:`instrument` is in effect."""
    return bool(_patches)


def _start_integrations(
    tracer_provider: TracerProvider | None,
    meter_provider: MeterProvider | None,
    logger_provider: LoggerProvider | None,
) -> None:
    providers: dict[str, object] = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    if logger_provider is not None:  # integrations written before the events take no logger provider
        providers["logger_provider"] = logger_provider
    for entry_point in entry_points(group=_ENTRY_POINT_GROUP):
        try:
            integration = entry_point.load()
            integration.instrument(**providers)
        except ImportError as exc:
            logger.debug("llmmeter: integration %s not available: %s", entry_point.name, exc)
            continue
        except Exception as exc:
            internal_error(f"starting integration {entry_point.name}", exc)
            continue
        _integrations.append(integration)
