"""Budgets: named, windowed limits on spend, enforced by reserving before a request and settling after.

_windows    UTC calendar windows (hour, day, ISO week, month), keyed by their start
_estimate   a request's worst-case cost: input from its size, output from the limit it states
_store      the store protocol and the in-process store (the default)
_redis      the Redis store: one Lua script to reserve, one to settle (sync and asyncio clients)
_stores     which store named budgets use (configure(budget_store=...), LLMMETER_BUDGET_STORE)
_reserve    the seam capture points call before sending: reserve() / areserve() -> Reservation
_status     budget_status() and the gauge of spent and reserved amounts
"""
