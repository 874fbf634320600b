"""A call is priced with the prices in force when it was made (genai-prices' start-dated prices)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

import llmmeter
from llmmeter import PricingTable, Usage
from llmmeter._pricing import _table
from tests.pricing.conftest import acme

M = 1_000_000
CHANGE = datetime(2026, 6, 1, tzinfo=UTC)
"""acme-1 costs $1 in / $2 out per 1M until 2026-06-01 (UTC), then $4 / $8."""

DATED = {
    "id": "acme-1",
    "match": {"equals": "acme-1"},
    "prices": [
        {"prices": {"input_mtok": 1, "output_mtok": 2}},
        {"constraint": {"start_date": "2026-06-01"}, "prices": {"input_mtok": 4, "output_mtok": 8}},
    ],
}
OFF_PEAK = {
    "id": "acme-offpeak",
    "match": {"equals": "acme-offpeak"},
    "prices": [
        {"prices": {"input_mtok": 1, "output_mtok": 2}},
        {
            "constraint": {"start_time": "16:30:00Z", "end_time": "00:30:00Z"},
            "prices": {"input_mtok": "0.5", "output_mtok": 1},
        },
    ],
}
USAGE = Usage(input_tokens=1_000_000, output_tokens=1_000_000)


@pytest.fixture(autouse=True)
def _acme(install_snapshot: Callable[[list[dict[str, Any]]], None]) -> None:
    install_snapshot(acme(DATED, OFF_PEAK))


class Clock:
    """The time llmmeter's table reads (``time.time``), set by the test."""

    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()


def test_call_before_the_change_costs_the_old_price() -> None:
    """when= one second before the start date: the old prices."""
    cost = PricingTable().price_usage("acme-1", USAGE, when=CHANGE - timedelta(seconds=1))
    assert cost.total == Decimal(1) + Decimal(2)


def test_call_on_the_start_date_costs_the_new_price() -> None:
    """when= at UTC midnight of the start date: the new prices."""
    cost = PricingTable().price_usage("acme-1", USAGE, when=CHANGE)
    assert cost.total == Decimal(4) + Decimal(8)


def test_start_date_is_a_utc_date() -> None:
    """2026-05-31 20:00 at UTC-5 is 2026-06-01 01:00 UTC: the new prices; naive times are UTC."""
    table = PricingTable()
    eastern = datetime(2026, 5, 31, 20, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert table.price_usage("acme-1", USAGE, when=eastern).total == Decimal(12)
    assert table.price_usage("acme-1", USAGE, when=datetime(2026, 5, 31, 23, 59)).total == Decimal(3)


def test_price_takes_when() -> None:
    """llmmeter.price(when=...) prices at that moment."""
    assert llmmeter.price("acme-1", input_tokens=M, when=CHANGE - timedelta(days=1)).total == Decimal(1)
    assert llmmeter.price("acme-1", input_tokens=M, when=CHANGE).total == Decimal(4)


def test_cached_entry_is_recompiled_when_the_clock_passes_the_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm entry compiled before the change is replaced by the new prices once it is in force."""
    clock = Clock(CHANGE - timedelta(minutes=1))
    monkeypatch.setattr(_table, "time", clock)
    table = PricingTable()
    assert table.price_usage("acme-1", USAGE).total == Decimal(3)
    assert table.price_usage("acme-1", USAGE).total == Decimal(3)
    clock.set(CHANGE)
    assert table.price_usage("acme-1", USAGE).total == Decimal(12)
    entry = table.resolve("acme-1")
    assert entry is not None
    assert entry.valid_from == CHANGE.timestamp()


def test_a_past_call_does_not_replace_the_current_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pricing a call of last month leaves today's compiled entry in place."""
    monkeypatch.setattr(_table, "time", Clock(CHANGE + timedelta(days=30)))
    table = PricingTable()
    assert table.price_usage("acme-1", USAGE).total == Decimal(12)
    assert table.price_usage("acme-1", USAGE, when=CHANGE - timedelta(days=30)).total == Decimal(3)
    current = table.resolve("acme-1")
    assert current is not None
    assert current.valid_from == CHANGE.timestamp()
    assert table.price_usage("acme-1", USAGE).total == Decimal(12)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param(datetime(2026, 7, 1, 16, 29, 59, tzinfo=UTC), Decimal(3), id="16:29:59 peak"),
        pytest.param(datetime(2026, 7, 1, 16, 30, tzinfo=UTC), Decimal("1.5"), id="16:30 off-peak"),
        pytest.param(datetime(2026, 7, 2, 0, 29, 59, tzinfo=UTC), Decimal("1.5"), id="00:29:59 off-peak"),
        pytest.param(datetime(2026, 7, 2, 0, 30, tzinfo=UTC), Decimal(3), id="00:30 peak"),
    ],
)
def test_time_of_day_prices_follow_the_clock(
    monkeypatch: pytest.MonkeyPatch, moment: datetime, expected: Decimal
) -> None:
    """Off-peak windows (DeepSeek-style) switch the warm entry at their bounds, every day."""
    clock = Clock(datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    monkeypatch.setattr(_table, "time", clock)
    table = PricingTable()
    assert table.price_usage("acme-offpeak", USAGE).total == Decimal(3)
    clock.set(moment)
    assert table.price_usage("acme-offpeak", USAGE).total == expected


def test_local_entries_are_always_in_force() -> None:
    """A user's entry has no dates: it prices calls of any moment."""
    table = PricingTable(overrides={"acme-1": {"input_mtok": 9}})
    assert table.price_usage("acme-1", Usage(input_tokens=M), when=datetime(2020, 1, 1)).total == Decimal(9)
    assert table.price_usage("acme-1", Usage(input_tokens=M), when=datetime(2030, 1, 1)).total == Decimal(9)
