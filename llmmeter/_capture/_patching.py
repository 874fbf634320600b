"""The patching machinery every capture point shares: save, wrap, restore only what is ours.

A capture point replaces one method of a library's class (``httpx.Client.send``,
``aiohttp.ClientSession._request``, a ``websockets`` handshake) with a :class:`Patch` subclass
whose wrapper meters and then calls the original. ``instrument()`` composes the capture points'
patches and ``uninstrument()`` removes them; this module knows no library and no provider.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmmeter._telemetry._call import Telemetry

__all__ = ["Patch"]

_MAX_CHAIN = 32
"""How deep removal looks through other libraries' wrappers for llmmeter's own."""


class Patch:
    """One class's method replaced by a metering wrapper, and how to take it out again.

    Subclasses build the wrapper (:meth:`_sync_wrapper` or :meth:`_async_wrapper`); it calls the
    method it replaced through :meth:`original_for`, and only :attr:`active` decides whether it
    meters. Other instrumentations may wrap the same method, before llmmeter or after it, and
    unwrap in any order. So the wrapper calls what it replaced through the descriptor protocol (as
    Python would: a wrapt wrapper needs its instance), and removal never throws away a wrapper
    installed on top of it: when llmmeter's wrapper is no longer the class attribute, the wrapper
    that wraps it is pointed past it (``__wrapped__``, which is what a wrapt wrapper calls and what
    every unwrap restores), and llmmeter's own wrapper turns into a pass-through for the wrappers
    that call it by closure. The other way round too: a wrapper beneath llmmeter's may take itself
    out by pointing llmmeter's ``__wrapped__`` past it, and llmmeter calls, and restores, what that
    attribute names.
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
        raise NotImplementedError(f"{type(self).__qualname__} wraps no sync method")

    def _async_wrapper(self, telemetry: Telemetry) -> Callable[..., Any]:
        raise NotImplementedError(f"{type(self).__qualname__} wraps no async method")

    def original_for(self, instance: Any) -> Callable[..., Any]:
        """The replaced method, bound to ``instance`` as attribute lookup would bind it."""
        bound: Callable[..., Any] = self.wrapper.__wrapped__.__get__(instance, type(instance))  # type: ignore[attr-defined]
        return bound

    def remove(self) -> None:
        """Take the wrapper out, leaving whatever other libraries wrapped around it working."""
        self.active = False
        inner = self.wrapper.__wrapped__  # type: ignore[attr-defined]
        current = self.cls.__dict__.get(self.method)
        if current is self.wrapper:
            setattr(self.cls, self.method, inner)
            return
        outer, node = None, current
        for _ in range(_MAX_CHAIN):
            if node is None or node is self.wrapper:
                break
            outer, node = node, getattr(node, "__wrapped__", None)
        if node is self.wrapper and outer is not None:
            # If the outer wrapper refuses, the inactive wrapper stays in the chain, passing through.
            with contextlib.suppress(AttributeError, TypeError):
                outer.__wrapped__ = inner
