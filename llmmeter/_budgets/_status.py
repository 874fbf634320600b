"""``llmmeter.budget_status()``: the current window of a named budget, as its store sees it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from opentelemetry.metrics import CallbackOptions, Observation

from llmmeter._budgets._redis import StoreError
from llmmeter._budgets._store import BudgetKey, from_nanos
from llmmeter._budgets._stores import named_store
from llmmeter._budgets._windows import PERIODS, Period, now, window_of
from llmmeter._errors import BudgetUnavailable, ConfigurationError
from llmmeter._telemetry import _names as n

__all__ = ["BudgetStatus", "budget_status", "observe_reserved", "observe_spent", "remember"]


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """The spend of one window of a named budget."""

    name: str
    per: Period | None
    spent_usd: Decimal
    """What the calls that started in this window cost (settled calls only)."""
    reserved_usd: Decimal
    """The worst-case cost of the calls in flight."""
    window_start: datetime | None
    """The window's start (UTC), None for a budget without a period."""
    window_end: datetime | None
    """The window's end (UTC, exclusive), None for a budget without a period."""


def budget_status(name: str, per: Period | None = None) -> BudgetStatus:
    """The current window of the budget named ``name`` with period ``per``, from the configured store.

    Raises:
        ConfigurationError: ``name`` or ``per`` is not one a budget can have.
        BudgetUnavailable: the store could not be reached in time.
    """
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"budget_status(name={name!r}): a name is a non-empty string")
    if per not in PERIODS:
        raise ConfigurationError(
            f"budget_status(per={per!r}): expected None, 'hour', 'day', 'week' or 'month'"
        )
    window = window_of(per, now())
    try:
        spent, reserved = named_store().status(BudgetKey(name, window))
    except StoreError as exc:
        raise BudgetUnavailable(Decimal(0), name, str(exc)) from None
    return BudgetStatus(name, per, from_nanos(spent), from_nanos(reserved), window.start, window.end)


_known: dict[tuple[str, Period | None], None] = {}
"""The named budgets opened in this process, in the order first seen: what the gauges report."""


def remember(name: str, per: Period | None) -> None:
    """Report the budget ``name``/``per`` on the gauges from now on (called when a block opens)."""
    _known[(name, per)] = None


def _current() -> list[tuple[dict[str, str], tuple[int, int]]]:
    store = named_store()
    when = now()
    states = []
    for name, per in list(_known):
        try:
            state = store.status(BudgetKey(name, window_of(per, when)))
        except StoreError:
            continue  # no point rather than a wrong one
        states.append(({n.BUDGET_NAME: name, n.BUDGET_PERIOD: per or "none"}, state))
    return states


def observe_spent(options: CallbackOptions) -> Iterable[Observation]:
    """``llmmeter.budget.spent``: the current window's spend of each named budget, in USD."""
    return [Observation(float(from_nanos(spent)), attributes) for attributes, (spent, _) in _current()]


def observe_reserved(options: CallbackOptions) -> Iterable[Observation]:
    """``llmmeter.budget.reserved``: what the calls in flight reserved in each named budget, in USD."""
    return [Observation(float(from_nanos(reserved)), attributes) for attributes, (_, reserved) in _current()]
