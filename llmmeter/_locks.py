"""Locks that a forked child can always take: every lock llmmeter owns is made by :func:`new_lock`.

``os.fork()`` copies a lock in whatever state another thread left it, and the child has no thread to
release it: a pre-fork server (gunicorn, Celery prefork, uWSGI, ``multiprocessing``) whose master has
threads inside llmmeter would hang its workers. So, as ``logging`` does for its own locks, just before
a fork the forking thread takes every lock made here (then no other thread is inside a critical
section, and what each lock guards is whole in the child: a call is counted wholly or not at all);
just after, the parent releases them and so does the child.

A leaf module: it imports nothing of llmmeter. ``tests/test_fork_locks.py`` fails when a lock is made
any other way in the package.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Any

__all__ = ["new_lock"]

_registry_lock = threading.Lock()  # guards _locks; the one lock this module makes itself
_locks: weakref.WeakSet[Any] = weakref.WeakSet()
_held: list[Any] = []
"""The locks the forking thread took in :func:`_before_fork`, in the order it took them."""
_made = 0
"""How many locks :func:`new_lock` has made: a fork that took a snapshot of them sees if one was added."""
_all_taken = False
forks_without_all_locks = 0
"""How many forks went ahead without every lock (see :data:`_GIVE_UP_SECONDS`); the tests keep it at 0."""

_ROUND_SECONDS = 0.05
"""How long one round waits for a lock before letting go of the others and starting again: threads
that take two locks in another order than the forking thread would otherwise deadlock with it."""
_GIVE_UP_SECONDS = 5.0
"""After this long the fork goes ahead without the busy locks, which the child then re-arms: a
child never hangs, though a value guarded by such a lock may be mid-update in it."""


def new_lock() -> Any:
    """A re-entrant lock (``threading.RLock``) that is safe to inherit through ``os.fork()`` at any instant.

    Re-entrant so that a thread that forks while holding it (a fork from inside a callback) can still
    take it before the fork.
    """
    lock = threading.RLock()
    global _made
    with _registry_lock:
        _locks.add(lock)
        _made += 1
    return lock


def _before_fork() -> None:
    global _all_taken, forks_without_all_locks
    deadline = time.monotonic() + _GIVE_UP_SECONDS
    while True:
        with _registry_lock:
            locks, made = list(_locks), _made
        taken = _take_all(locks)
        # The registry last: a thread making a lock may hold one of the others while it waits for it.
        if len(taken) == len(locks) and _registry_lock.acquire(timeout=_ROUND_SECONDS):
            if _made == made:
                _held[:] = taken
                _all_taken = True
                return
            _registry_lock.release()  # a lock was made meanwhile: take it too
        for lock in reversed(taken):
            lock.release()
        if time.monotonic() > deadline:
            _registry_lock.acquire()
            _held.clear()
            _all_taken = False
            forks_without_all_locks += 1
            return


def _take_all(locks: list[Any]) -> list[Any]:
    taken = []
    for lock in locks:
        if not lock.acquire(timeout=_ROUND_SECONDS):
            break
        taken.append(lock)
    return taken


def _after_fork_in_parent() -> None:
    for lock in reversed(_held):
        lock.release()
    _held.clear()
    _registry_lock.release()


def _after_fork_in_child() -> None:
    for lock in reversed(_held):
        lock.release()  # the child's only thread is the one that took them
    if not _all_taken:
        for lock in list(_locks):
            lock._at_fork_reinit()
    _held.clear()
    _registry_lock._at_fork_reinit()  # type: ignore[attr-defined]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
    )
