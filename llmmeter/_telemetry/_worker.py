"""The background thread that writes spans and metric points, off the caller's path.

Creating an SDK span and recording a handful of metric points costs far more than parsing a
call, so the caller's thread only queues that work (FIFO, so a parent span is always made before
its children) and returns. The thread wakes a few times a second and drains the queue in one go:
waking it for every call would make the two threads trade the GIL on every call, which costs the
caller more than the work itself. :func:`flush` wakes it and waits until everything queued so far
is written; it runs at interpreter exit too. In strict mode (the project's tests) an error raised
on the thread is re-raised by the next :func:`flush`.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any

from llmmeter._guard import internal_error

__all__ = ["flush", "submit"]

Task = tuple[Callable[..., Any], tuple[Any, ...]]

_DRAIN_INTERVAL_S = 0.1
_WAKE_AT_BACKLOG = 2_000
"""A backlog this long wakes the thread at once, so a burst of calls cannot pile up for long."""


class _Worker:
    def __init__(self) -> None:
        self._queue: SimpleQueue[Task] = SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._errors: list[BaseException] = []
        self._wake = threading.Event()

    def submit(self, function: Callable[..., Any], *args: Any) -> None:
        if self._thread is None or self._pid != os.getpid():
            self._start()
        queue = self._queue
        queue.put((function, args))
        if queue.qsize() >= _WAKE_AT_BACKLOG:
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            if self._pid != os.getpid():
                self._queue = SimpleQueue()  # a forked child does not inherit the parent's thread
            if self._pid == 0:
                # Registered at first use, so it runs before the shutdown of any OpenTelemetry
                # provider made earlier (atexit runs last-registered first).
                atexit.register(flush, 5.0)
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="llmmeter-telemetry", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        queue = self._queue
        wake = self._wake
        while True:
            wake.wait(_DRAIN_INTERVAL_S)
            wake.clear()
            while True:
                try:
                    function, args = queue.get(block=False)
                except Empty:
                    break
                try:
                    function(*args)
                except Exception as exc:
                    try:
                        internal_error("writing telemetry", exc)
                    except Exception as strict:
                        self._errors.append(strict)

    def flush(self, timeout: float) -> bool:
        if self._thread is None or self._pid != os.getpid():
            return True
        done = threading.Event()
        self._queue.put((done.set, ()))
        self._wake.set()
        finished = done.wait(timeout)
        if self._errors:
            error = self._errors.pop(0)
            self._errors.clear()
            raise error
        return finished


_worker = _Worker()


def submit(function: Callable[..., Any], *args: Any) -> None:
    """Run ``function(*args)`` on the telemetry thread, after everything submitted before it."""
    _worker.submit(function, *args)


def flush(timeout_s: float = 30.0) -> bool:
    """Wait until all telemetry queued so far has been handed to OpenTelemetry.

    Returns False if ``timeout_s`` passed first. Spans and metric points then travel on through
    the app's own processors and exporters; call their ``force_flush`` to push them out.
    """
    return _worker.flush(timeout_s)
