"""The context variables that carry llmmeter's per-context state: a leaf module, importing nothing.

Capture points and the telemetry core read them when a call starts; :mod:`llmmeter._tracking`
sets them. Keeping them here means the core never imports the tracking layer that consumes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from llmmeter._telemetry._record import CallRecord

__all__ = [
    "NO_ATTRIBUTES",
    "Sink",
    "UserAttributes",
    "active_attributes",
    "active_sinks",
    "sending",
]

UserAttributes = Mapping[str, str | int | float | bool]


class Sink(Protocol):
    """Something that counts finished calls: a ``track()`` or ``budget()`` block's spend."""

    def add(self, record: CallRecord) -> None:
        """Count one finished call."""


NO_ATTRIBUTES: UserAttributes = MappingProxyType({})

active_sinks: ContextVar[tuple[Sink, ...]] = ContextVar("llmmeter_spends", default=())
"""The spends of the ``track()``/``budget()`` blocks enclosing the context, outermost first."""

active_attributes: ContextVar[UserAttributes] = ContextVar("llmmeter_attributes", default=NO_ATTRIBUTES)
"""The merged values of the ``attributes()`` blocks enclosing the context."""

sending: ContextVar[bool] = ContextVar("llmmeter_sending", default=False)
"""True while llmmeter meters a request being sent (a patched ``send`` or a metered transport), so a
metered transport under it passes the call through: counted once."""
