"""What a budget store does, and the in-process store (the default, and every unnamed budget's).

Amounts are integer nano-dollars everywhere below this module's callers: exact, and what Redis
adds natively. A cost with a part below a nano-dollar is rounded up, never down.
"""

from __future__ import annotations

import os
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Protocol

from llmmeter._budgets._windows import Window
from llmmeter._locks import new_lock

__all__ = ["BudgetKey", "MemoryStore", "Store", "Verdict", "WindowState", "from_nanos", "to_nanos"]

_NANOS_PER_USD = Decimal(1_000_000_000)


def to_nanos(amount: Decimal) -> int:
    """``amount`` USD in nano-dollars, rounded up."""
    return int((amount * _NANOS_PER_USD).to_integral_value(rounding=ROUND_CEILING))


def from_nanos(nanos: int) -> Decimal:
    """``nanos`` nano-dollars in USD, exactly."""
    return Decimal(nanos).scaleb(-9) if nanos else Decimal(0)


@dataclass(frozen=True, slots=True)
class BudgetKey:
    """One window of one named budget: what a store keeps a spend for."""

    name: str
    window: Window

    @property
    def tag(self) -> str:
        """The Redis key of its state, a hash tag: every key of one budget window is in one slot."""
        return f"{{llmmeter:budget:{self.name}:{self.window.label}}}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A store's answer to a reservation: granted or not, and the spend it saw (nano-dollars)."""

    granted: bool
    spent: int
    reserved: int


@dataclass(frozen=True, slots=True)
class WindowState:
    """The state of one budget window, as listed by ``llmmeter budgets``."""

    name: str
    per: str | None
    window_start: datetime | None
    window_end: datetime | None
    spent: int
    reserved: int
    reservations: int


def refuses(spent: int, reserved: int, amount: int, limit: int) -> bool:
    """Whether a reservation of ``amount`` passes ``limit``, or the limit is already reached."""
    committed = spent + reserved
    return committed >= limit or committed + amount > limit


class Store(Protocol):
    """Keeps spent and reserved amounts per budget window; reserve and settle are each atomic."""

    ttl_s: float
    """Seconds a reservation lives unless settled."""
    remote: bool
    """True when its operations wait on a network (settle then runs on the event loop in async code)."""

    def reserve(self, key: BudgetKey, limit: int, amount: int, rid: str, force: bool) -> Verdict:
        """Reserve ``amount`` unless it would pass ``limit`` (``force``: reserve anyway)."""

    def settle(self, key: BudgetKey, rid: str, actual: int) -> None:
        """Drop reservation ``rid`` (if it has not expired) and add ``actual`` to the spend."""

    def status(self, key: BudgetKey) -> tuple[int, int]:
        """(spent, reserved) of one window."""

    async def areserve(self, key: BudgetKey, limit: int, amount: int, rid: str, force: bool) -> Verdict:
        """:meth:`reserve` without blocking the event loop."""

    async def asettle(self, key: BudgetKey, rid: str, actual: int) -> None:
        """:meth:`settle` without blocking the event loop."""

    def windows(self) -> list[WindowState]:
        """Every window the store holds."""


@dataclass(slots=True)
class _Ledger:
    key: BudgetKey
    spent: int = 0
    reserved: int = 0
    reservations: dict[str, tuple[int, float]] = field(default_factory=dict)
    """Reservation id -> (amount, monotonic expiry)."""

    def purge(self, now: float) -> None:
        expired = [rid for rid, (_, expiry) in self.reservations.items() if expiry <= now]
        for rid in expired:
            self.reserved -= self.reservations.pop(rid)[0]


class MemoryStore:
    """A store in this process: shared by the blocks of one process, nothing installed."""

    remote = False

    def __init__(self, ttl_s: float = 600.0) -> None:
        self.ttl_s = ttl_s
        self._lock = new_lock()
        self._ledgers: dict[BudgetKey, _Ledger] = {}
        _memory_stores.add(self)

    def _ledger(self, key: BudgetKey) -> _Ledger:
        ledger = self._ledgers.get(key)
        if ledger is None:
            ledger = self._ledgers[key] = _Ledger(key)
        return ledger

    def reserve(self, key: BudgetKey, limit: int, amount: int, rid: str, force: bool) -> Verdict:
        """Reserve ``amount`` unless it would pass ``limit``."""
        now = time.monotonic()
        with self._lock:
            ledger = self._ledger(key)
            if ledger.reservations:
                ledger.purge(now)
            spent, reserved = ledger.spent, ledger.reserved
            if not force and refuses(spent, reserved, amount, limit):
                return Verdict(False, spent, reserved)
            ledger.reservations[rid] = (amount, now + self.ttl_s)
            ledger.reserved += amount
            return Verdict(True, spent, ledger.reserved)

    def settle(self, key: BudgetKey, rid: str, actual: int) -> None:
        """Replace reservation ``rid`` by the actual cost."""
        with self._lock:
            ledger = self._ledger(key)
            held = ledger.reservations.pop(rid, None)
            if held is not None:
                ledger.reserved -= held[0]
            ledger.spent += actual

    def status(self, key: BudgetKey) -> tuple[int, int]:
        """(spent, reserved) of one window."""
        with self._lock:
            ledger = self._ledgers.get(key)
            if ledger is None:
                return 0, 0
            ledger.purge(time.monotonic())
            return ledger.spent, ledger.reserved

    async def areserve(self, key: BudgetKey, limit: int, amount: int, rid: str, force: bool) -> Verdict:
        """As :meth:`reserve` (never waits on I/O)."""
        return self.reserve(key, limit, amount, rid, force)

    async def asettle(self, key: BudgetKey, rid: str, actual: int) -> None:
        """As :meth:`settle` (never waits on I/O)."""
        self.settle(key, rid, actual)

    def windows(self) -> list[WindowState]:
        """Every window held, current or not."""
        with self._lock:
            ledgers = list(self._ledgers.values())
        return [
            WindowState(
                ledger.key.name,
                ledger.key.window.per,
                ledger.key.window.start,
                ledger.key.window.end,
                ledger.spent,
                ledger.reserved,
                len(ledger.reservations),
            )
            for ledger in ledgers
        ]

    def drop_reservations(self) -> None:
        """Forget every reservation (in a forked child: they are the parent's calls)."""
        for ledger in self._ledgers.values():
            ledger.reservations.clear()
            ledger.reserved = 0


_memory_stores: weakref.WeakSet[MemoryStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_memory_stores):
        store.drop_reservations()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
