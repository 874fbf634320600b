"""UTC calendar windows: a budget's spend is kept per window, keyed by the window's start.

A new window is a new key, so it starts at zero without any reset racing the calls of the last
one; a call counts in the window in which it started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

__all__ = ["PERIODS", "Period", "Window", "now", "use_clock", "window_of"]

Period = Literal["hour", "day", "week", "month"]
PERIODS: tuple[Period | None, ...] = (None, "hour", "day", "week", "month")


def _system_clock() -> datetime:
    return datetime.now(UTC)


_clock: Callable[[], datetime] = _system_clock


def now() -> datetime:
    """The current time, in UTC, from the clock in use."""
    return _clock()


def use_clock(clock: Callable[[], datetime] | None) -> None:
    """Read the time from ``clock`` (an aware datetime); None goes back to the system clock."""
    global _clock
    _clock = _system_clock if clock is None else clock


@dataclass(frozen=True, slots=True)
class Window:
    """One window of a budget: ``[start, end)``, both None for a budget without a period."""

    per: Period | None
    start: datetime | None
    end: datetime | None
    label: str
    """The window's part of the store key: ``2026-12-07T13Z``, ``2026-12-07``, ``2026-W50``,
    ``2026-12``, or ``all``."""


_FOREVER = Window(None, None, None, "all")


def window_of(per: Period | None, when: datetime) -> Window:
    """The window of period ``per`` that contains ``when`` (converted to UTC)."""
    if per is None:
        return _FOREVER
    when = when.astimezone(UTC)
    if per == "hour":
        start = when.replace(minute=0, second=0, microsecond=0)
        return Window(per, start, start + timedelta(hours=1), start.strftime("%Y-%m-%dT%HZ"))
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if per == "day":
        return Window(per, day, day + timedelta(days=1), day.strftime("%Y-%m-%d"))
    if per == "week":
        start = day - timedelta(days=day.weekday())  # ISO weeks start on Monday
        year, week, _ = start.isocalendar()
        return Window(per, start, start + timedelta(days=7), f"{year}-W{week:02d}")
    start = day.replace(day=1)
    if start.month == 12:
        end = start.replace(year=start.year + 1, month=1)
    else:
        end = start.replace(month=start.month + 1)
    return Window(per, start, end, start.strftime("%Y-%m"))
