"""Fixtures of the budget tests: a clean budget store per test, a real redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import llmmeter
from llmmeter._budgets import _stores, _windows
from tests.budgets.redis_server import RedisServer


@pytest.fixture(autouse=True)
def _clean_budget_store() -> Iterator[None]:
    """Every test starts with the in-process store empty, the default TTL and the system clock."""
    yield
    llmmeter.configure(budget_store=False, budget_reservation_ttl=_stores.DEFAULT_TTL_S)
    _stores._memory = None
    _stores._store = None
    _stores._configured = False
    _windows.use_clock(None)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server for the module's tests."""
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The module's redis-server, emptied, configured as the budget store."""
    if not redis_server.ping():
        redis_server.start()
    redis_server.command("FLUSHALL")
    llmmeter.configure(budget_store=redis_server.url)
    return redis_server.url


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may stop and start."""
    server = RedisServer()
    server.start()
    yield server
    server.close()
