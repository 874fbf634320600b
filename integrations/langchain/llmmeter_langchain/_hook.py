"""Zero-code use: ``llmmeter.instrument()`` switches on a handler for every LangChain run.

llmmeter's core finds this module through the ``llmmeter.integrations`` entry point and calls
:func:`instrument` / :func:`uninstrument`; the core never imports LangChain.

LangChain has no way to unregister a configure hook, so the hook is registered once, when this
module is imported, and reads a slot that :func:`instrument` fills and :func:`uninstrument` empties.
The slot is a plain attribute rather than a context variable's value, so every thread and asyncio
task sees the same handler, whenever and wherever it was started. LangChain adds the hook's handler
only to runs that do not already have an :class:`LLMMeterCallbackHandler` of their own.
"""

from __future__ import annotations

from typing import Any, cast

from langchain_core.tracers.context import register_configure_hook
from opentelemetry._logs import LoggerProvider
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from llmmeter._locks import new_lock
from llmmeter_langchain._handler import LLMMeterCallbackHandler

__all__ = ["active_handler", "instrument", "uninstrument"]


class _HandlerSlot:
    """What LangChain's configure hook reads: the handler while instrumented, else None.

    LangChain calls only ``get()`` on a hook's variable, so this stands in for a ContextVar.
    """

    __slots__ = ("handler",)

    def __init__(self) -> None:
        self.handler: LLMMeterCallbackHandler | None = None

    def get(self) -> LLMMeterCallbackHandler | None:
        return self.handler


_slot = _HandlerSlot()
_lock = new_lock()
register_configure_hook(cast(Any, _slot), True, LLMMeterCallbackHandler)


def instrument(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    logger_provider: LoggerProvider | None = None,
) -> None:
    """Record every LangChain run from now on (idempotent until :func:`uninstrument`)."""
    with _lock:
        if _slot.handler is None:
            _slot.handler = LLMMeterCallbackHandler(
                tracer_provider=tracer_provider,
                meter_provider=meter_provider,
                logger_provider=logger_provider,
            )


def uninstrument() -> None:
    """Stop adding the handler to new runs; runs already started finish recording."""
    with _lock:
        _slot.handler = None


def active_handler() -> LLMMeterCallbackHandler | None:
    """The handler the hook adds to runs, or None when not instrumented."""
    return _slot.handler
