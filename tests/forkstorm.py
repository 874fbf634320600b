"""A fork storm: threads hammer a path of llmmeter while the main thread forks again and again.

Each child runs a check of its own under a deadline, with ``faulthandler`` armed to dump every
thread's stack and exit when the deadline passes, so a child that hangs on a lock it inherited
fails the test with the stack that shows where, instead of hanging the suite.
"""

from __future__ import annotations

import contextvars
import faulthandler
import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmmeter import _locks

CHILD_SECONDS = 10.0
"""A child's whole budget: its check takes milliseconds, so this is a hang, not a slow machine."""


@dataclass
class StormResult:
    """What the children of one storm reported."""

    forks: int = 0
    results: list[Any] = field(default_factory=list)
    """The JSON values the children's checks returned, one per child that finished."""
    hangs: list[str] = field(default_factory=list)
    """The stacks dumped by children that passed their deadline."""
    failures: list[str] = field(default_factory=list)
    """The errors raised by children's checks."""
    hammered: int = 0
    """How many rounds the hammering threads completed while the storm lasted."""
    forks_without_all_locks: int = 0
    """Forks that went ahead without taking every llmmeter lock first (should be none)."""


def storm(
    hammers: list[Callable[[], None]],
    check: Callable[[], Any],
    *,
    forks: int = 40,
    warm_rounds: int = 20,
    pause: bool = False,
) -> StormResult:
    """Run each of ``hammers`` in a loop on its own thread (in a copy of the caller's context, so
    they see its ``track()``/``budget()`` blocks), fork ``forks`` times while they run, and run
    ``check()`` in each child. Returns what the children said.

    With ``pause``, each hammer lets go of the GIL between rounds (as any real caller of a rare
    operation does): a thread that holds a lock nearly all the time otherwise starves the fork.
    Without it, the hammers spend as much time as they can inside their locks.
    """
    forced_before = _locks.forks_without_all_locks
    stop = threading.Event()
    rounds = [0] * len(hammers)
    errors: list[BaseException] = []

    def loop(index: int, hammer: Callable[[], None]) -> None:
        try:
            while not stop.is_set():
                hammer()
                rounds[index] += 1
                if pause:
                    time.sleep(0)
        except BaseException as exc:  # surfaced by the test, not lost in a thread
            errors.append(exc)

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(loop, index, hammer), daemon=True)
        for index, hammer in enumerate(hammers)
    ]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while min(rounds) < warm_rounds and not errors and time.monotonic() < deadline:
            time.sleep(0.001)
        result = StormResult()
        for _ in range(forks):
            _fork_once(check, result)
            result.forks += 1
            if len(result.hangs) >= 3:  # enough to show where; the rest would hang as well
                break
            time.sleep(0.002)  # let the hammers move on, so forks land at different points
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    if errors:
        raise errors[0]
    result.hammered = sum(rounds)
    result.forks_without_all_locks = _locks.forks_without_all_locks - forced_before
    return result


def _fork_once(check: Callable[[], Any], result: StormResult) -> None:
    with tempfile.TemporaryFile() as stacks:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.close(read)
            faulthandler.dump_traceback_later(CHILD_SECONDS, exit=True, file=stacks.fileno())
            try:
                payload = {"ok": check()}
            except BaseException as exc:
                payload = {"error": f"{type(exc).__name__}: {exc}"}
            os.write(write, json.dumps(payload).encode())
            os._exit(0)
        os.close(write)
        status = _wait(pid, CHILD_SECONDS + 5)
        with os.fdopen(read) as pipe:
            data = pipe.read() if status is not None else ""
        if not data:
            stacks.seek(0)
            result.hangs.append(stacks.read().decode(errors="replace") or f"no stack (status {status})")
            return
        payload = json.loads(data)
        if "error" in payload:
            result.failures.append(payload["error"])
        else:
            result.results.append(payload["ok"])


def _wait(pid: int, seconds: float) -> int | None:
    """The child's exit status, or None when it had to be killed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None
