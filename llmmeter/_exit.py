"""What is still open when the interpreter exits: streams and Realtime sessions, ended ``abandoned``.

The exit hook is registered when the first such thing opens. atexit runs hooks last-registered
first, so it runs before the shutdown hook of any OpenTelemetry provider made before that (the usual
order: providers at start-up, calls after), while the provider can still export what it ends. It is
registered once: CPython's atexit never frees the slot of an unregistered hook.
"""

from __future__ import annotations

import atexit
import weakref
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from llmmeter._telemetry._record import Ending

__all__ = ["end_at_exit"]


class Endable(Protocol):
    """Something that records itself when ended; ending it again does nothing."""

    def end(self, ending: Ending) -> None: ...


_open: weakref.WeakSet[Endable] = weakref.WeakSet()
_hook_registered = False


def end_at_exit(item: Endable) -> None:
    """End ``item`` as ``abandoned`` at interpreter exit, unless it has been collected by then."""
    global _hook_registered
    if not _hook_registered:
        _hook_registered = True
        atexit.register(_end_open)
    _open.add(item)


def _end_open() -> None:
    for item in list(_open):
        item.end("abandoned")
