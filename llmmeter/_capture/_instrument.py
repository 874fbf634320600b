"""``instrument()`` / ``uninstrument()``: meter every client in the process.

The default transports of httpx and httpx2 (``HTTPTransport``, ``AsyncHTTPTransport``) get their
request method replaced by one that meters and then calls the original; integrations installed as
``llmmeter.integrations`` entry points (llmmeter-langchain) are switched on too. Both are
idempotent, and ``uninstrument()`` puts back exactly the methods that were there.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from llmmeter._capture._transport import meter_async, meter_sync
from llmmeter._guard import internal_error
from llmmeter._telemetry._call import Telemetry, default_telemetry

__all__ = ["instrument", "is_instrumented", "uninstrument"]

logger = logging.getLogger("llmmeter")

_LIBRARIES = ("httpx", "httpx2")
_ENTRY_POINT_GROUP = "llmmeter.integrations"

_lock = threading.Lock()
_originals: dict[tuple[type, str], Callable[..., Any]] = {}
_integrations: list[Any] = []


def _patched_sync(original: Callable[..., Any], telemetry: Telemetry) -> Callable[..., Any]:
    def handle_request(self: Any, request: Any) -> Any:
        return meter_sync(request, lambda r: original(self, r), telemetry)

    handle_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_request


def _patched_async(original: Callable[..., Any], telemetry: Telemetry) -> Callable[..., Any]:
    async def handle_async_request(self: Any, request: Any) -> Any:
        return await meter_async(request, lambda r: original(self, r), telemetry)

    handle_async_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_async_request


def _patch(cls: type, method: str, wrap: Callable[..., Callable[..., Any]], telemetry: Telemetry) -> None:
    original = cls.__dict__[method]
    _originals[(cls, method)] = original
    setattr(cls, method, wrap(original, telemetry))


def instrument(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    integrations: bool = True,
) -> None:
    """Meter every httpx and httpx2 client in the process, and switch on installed integrations.

    Clients created before the call are metered too (the transports' classes are patched). A
    second call does nothing until :func:`uninstrument`.
    """
    with _lock:
        if _originals:
            return
        if tracer_provider is None and meter_provider is None:
            telemetry = default_telemetry()
        else:
            telemetry = Telemetry(tracer_provider, meter_provider)
        for name in _LIBRARIES:
            try:
                library = importlib.import_module(name)
            except ImportError:
                continue
            _patch(library.HTTPTransport, "handle_request", _patched_sync, telemetry)
            _patch(library.AsyncHTTPTransport, "handle_async_request", _patched_async, telemetry)
        if integrations:
            _start_integrations(tracer_provider, meter_provider)


def uninstrument() -> None:
    """Undo :func:`instrument`: restore the original transport methods and switch integrations off."""
    with _lock:
        for (cls, method), original in _originals.items():
            setattr(cls, method, original)
        _originals.clear()
        while _integrations:
            integration = _integrations.pop()
            try:
                integration.uninstrument()
            except Exception as exc:
                internal_error("switching off an integration", exc)


def is_instrumented() -> bool:
    """Whether :func:`instrument` is in effect."""
    return bool(_originals)


def _start_integrations(tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None) -> None:
    for entry_point in entry_points(group=_ENTRY_POINT_GROUP):
        try:
            integration = entry_point.load()
            integration.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        except ImportError as exc:
            logger.debug("llmmeter: integration %s not available: %s", entry_point.name, exc)
            continue
        except Exception as exc:
            internal_error(f"starting integration {entry_point.name}", exc)
            continue
        _integrations.append(integration)
