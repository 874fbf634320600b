"""UTC calendar windows: where each period starts and ends, and which window a call counts in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx2

import llmmeter
from llmmeter._budgets._windows import use_clock, window_of
from tests.budgets.billing import URL, Provider, body, cost


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type,misc]


def test_hour_and_day_windows_are_utc_calendar_windows():
    """An hour starts on the hour, a day at 00:00 UTC, whatever the time zone the time is given in."""
    hour = window_of("hour", at(2026, 12, 7, 13, 59, 59, 999999))
    assert (hour.start, hour.end, hour.label) == (at(2026, 12, 7, 13), at(2026, 12, 7, 14), "2026-12-07T13Z")
    tokyo = datetime(2026, 12, 8, 8, 30, tzinfo=timezone(timedelta(hours=9)))  # 2026-12-07 23:30 UTC
    day = window_of("day", tokyo)
    assert (day.start, day.end, day.label) == (at(2026, 12, 7), at(2026, 12, 8), "2026-12-07")


def test_weeks_are_iso_weeks_starting_on_monday():
    """A week runs Monday 00:00 to Monday 00:00 UTC, labelled by its ISO year and week, also across a year."""
    sunday = window_of("week", at(2026, 12, 13, 23, 59))
    assert (sunday.start, sunday.end, sunday.label) == (at(2026, 12, 7), at(2026, 12, 14), "2026-W50")
    new_year = window_of("week", at(2027, 1, 1, 12))  # a Friday in ISO week 53 of 2026
    assert (new_year.start, new_year.end, new_year.label) == (at(2026, 12, 28), at(2027, 1, 4), "2026-W53")


def test_months_end_at_the_next_month_also_in_december():
    """A month runs from its first day to the next month's, December to January."""
    december = window_of("month", at(2026, 12, 31, 23, 59))
    assert (december.start, december.end, december.label) == (at(2026, 12, 1), at(2027, 1, 1), "2026-12")
    february = window_of("month", at(2028, 2, 29))
    assert (february.start, february.end) == (at(2028, 2, 1), at(2028, 3, 1))


def test_a_new_window_starts_at_zero_and_a_call_counts_in_the_window_it_started_in():
    """A call started at 23:59:59 and ended after midnight counts in the day it started; the next day
    starts at zero and lets calls through again."""
    provider = Provider()
    now = [at(2026, 12, 7, 23, 59, 59)]
    use_clock(lambda: now[0])

    def answer_after_midnight(request: httpx2.Request) -> httpx2.Response:
        now[0] = at(2026, 12, 8, 0, 0, 1)
        return provider.handler()(request)

    transport = llmmeter.MeteredTransport(httpx2.MockTransport(answer_after_midnight))
    http = httpx2.Client(transport=transport)
    one_call = cost(len(http.build_request("POST", URL, json=body()).content) // 4, 100)
    with llmmeter.budget(usd=one_call * 2, name="nightly", per="day"):
        http.post(URL, json=body())
        today = llmmeter.budget_status("nightly", per="day")
        now[0] = at(2026, 12, 7, 23, 59, 59, 500000)
        yesterday = llmmeter.budget_status("nightly", per="day")

    assert today.spent_usd == 0
    assert today.window_start == at(2026, 12, 8)
    assert yesterday.spent_usd == one_call
    assert yesterday.window_start == at(2026, 12, 7)
    assert yesterday.window_end == at(2026, 12, 8)
