"""``instrument()`` / ``uninstrument()``: meter every client in the process.

Each capture point is a module of ``llmmeter._capture`` that knows its library and offers
``patches(telemetry)``: the methods it replaces (see :class:`~llmmeter._capture._patching.Patch`).
``instrument()`` only composes them, skipping a capture point whose library is not installed
(nothing of that library is imported then), and switches on the integrations installed as
``llmmeter.integrations`` entry points (llmmeter-langchain). Both are idempotent, and
``uninstrument()`` puts back exactly the methods that were there, also when other
instrumentations wrapped the same methods in the meantime.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from typing import Any

from opentelemetry._logs import LoggerProvider
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from llmmeter._capture._patching import Patch
from llmmeter._guard import internal_error
from llmmeter._locks import new_lock
from llmmeter._telemetry._call import Telemetry, telemetry_for

__all__ = ["instrument", "is_instrumented", "uninstrument"]

logger = logging.getLogger("llmmeter")

_CAPTURE_POINTS = (
    # (the capture point's module, the library it needs)
    ("llmmeter._capture._transport", "httpx"),
    ("llmmeter._capture._realtime", "websockets"),
    ("llmmeter._capture._aiohttp", "aiohttp"),
)
_ENTRY_POINT_GROUP = "llmmeter.integrations"

_lock = new_lock()
_patches: list[Patch] = []
_integrations: list[Any] = []


def instrument(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    logger_provider: LoggerProvider | None = None,
    integrations: bool = True,
) -> None:
    """Meter every httpx and httpx2 client and every aiohttp session in the process, and switch on
    installed integrations.

    Clients and sessions created before the call are metered too (their classes are patched),
    whatever their transport. OpenAI Realtime sessions over WebSocket opened after the call are
    metered too, when ``websockets`` is installed (see :mod:`llmmeter._capture._realtime` for what
    is covered). A capture point whose library is not installed is skipped. A second call does
    nothing until :func:`uninstrument`.
    """
    with _lock:
        if _patches:
            return
        telemetry = telemetry_for(tracer_provider, meter_provider, logger_provider)
        for module, library in _CAPTURE_POINTS:
            _patches.extend(_patches_of(module, library, telemetry))
        if integrations:
            _start_integrations(tracer_provider, meter_provider, logger_provider)


def _patches_of(module: str, library: str, telemetry: Telemetry) -> list[Patch]:
    """A capture point's patches; none when the library it captures is not installed."""
    try:
        capture_point = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] != library:
            raise
        return []
    found: list[Patch] = capture_point.patches(telemetry)
    return found


def uninstrument() -> None:
    """Undo :func:`instrument`: restore every replaced method and switch integrations off."""
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
