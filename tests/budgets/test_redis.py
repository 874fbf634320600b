"""Budgets on a real redis-server: shared spend, atomic scripts, the asyncio client, store failures."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

import llmmeter
from llmmeter._budgets import _stores
from llmmeter._budgets._reserve import reserve
from llmmeter._budgets._windows import use_clock
from llmmeter._cli import main
from llmmeter._providers._base import RequestInfo
from tests.budgets.billing import MODEL, URL, Provider, body, worst_case
from tests.budgets.redis_server import RedisServer, free_port


def metered(handler: Any) -> httpx2.Client:
    return httpx2.Client(transport=llmmeter.MeteredTransport(httpx2.MockTransport(handler)))


def async_metered(handler: Any) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=llmmeter.AsyncMeteredTransport(httpx2.MockTransport(handler)))


def keys(server: RedisServer) -> list[str]:
    reply = server.command("KEYS", "*").decode()
    return sorted(line for line in reply.split("\r\n") if line.startswith("{"))


def test_blocks_share_one_spend_in_redis_under_one_hash_tag(redis_url, redis_server):
    """Two blocks named alike share the spend kept in Redis; every key of the window has one hash tag."""
    provider = Provider()
    http = metered(provider.handler())
    use_clock(lambda: datetime(2026, 12, 7, 15, 30, tzinfo=UTC))

    for _ in range(2):
        with llmmeter.budget(usd="1", name="tenant:acme", per="day"):
            http.post(URL, json=body())

    status = llmmeter.budget_status("tenant:acme", per="day")
    assert status.spent_usd == provider.total
    assert status.reserved_usd == 0
    assert status.window_start == datetime(2026, 12, 7, tzinfo=UTC)
    assert keys(redis_server) == ["{llmmeter:budget:tenant:acme:2026-12-07}"]  # no reservation left


def test_a_window_ends_a_day_after_its_end_in_redis(redis_url, redis_server):
    """A window's keys expire a day after the window ends, so old windows do not pile up."""
    http = metered(Provider().handler())
    use_clock(lambda: datetime.now(UTC))
    with llmmeter.budget(usd="1", name="hourly", per="hour"):
        http.post(URL, json=body())
    (key,) = keys(redis_server)
    ttl = int(redis_server.command("TTL", key).split(b"\r\n")[0][1:])
    assert 86400 <= ttl <= 86400 + 3600


async def test_200_concurrent_async_calls_on_redis_never_pass_the_limit_nor_block_the_loop(redis_url):
    """200 concurrent async calls under a Redis budget worth 10 worst cases: the limit is never passed
    (at least 10 are sent: a call that ended frees what its worst case did not use), the spend is what
    was billed, no thread is started and the event loop keeps ticking."""
    provider = Provider()
    answer = provider.handler()

    async def slow(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(0.02)
        return answer(request)

    http = async_metered(slow)
    limit = 10 * worst_case(body())
    gaps: list[float] = []
    running = True

    async def tick() -> None:
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async def one(delay: float) -> str:
        await asyncio.sleep(delay)  # starts spread over 50 ms, all in flight together, as in an app
        try:
            async with llmmeter.budget(usd=limit, name="async", per="day"):
                await http.post(URL, json=body())
            return "sent"
        except llmmeter.BudgetExceeded:
            return "refused"

    async with llmmeter.budget(usd=limit, name="warm-up"):
        await http.post(URL, json=body())  # the model's price entry is resolved on its first call
    provider.billed.clear()
    ticker = asyncio.create_task(tick())
    threads = threading.active_count()
    outcomes = await asyncio.gather(*(one(0.00025 * i) for i in range(200)))
    running = False
    await ticker

    assert _stores.named_store()._sync is None  # type: ignore[attr-defined]  # only the asyncio client
    status = llmmeter.budget_status("async", per="day")
    assert provider.total <= limit
    assert outcomes.count("sent") == len(provider.billed) >= 10
    assert (status.spent_usd, status.reserved_usd) == (provider.total, 0)
    assert threading.active_count() == threads
    assert max(gaps) < 1.0  # a call waiting on Redis with the loop blocked would hold it for good


async def test_an_exhausted_connection_pool_queues_calls_instead_of_letting_them_through(redis_server):
    """With 2 connections for 200 concurrent calls, calls wait for a connection: none is let through
    unchecked and none stalls."""
    redis_server.command("FLUSHALL")
    llmmeter.configure(budget_store=redis_server.url + "?max_connections=2&timeout=5")
    provider = Provider()
    http = async_metered(provider.handler())
    limit = 50 * worst_case(body())

    async def one() -> str:
        try:
            async with llmmeter.budget(usd=limit, name="pooled", on_store_error="refuse"):
                await http.post(URL, json=body())
            return "sent"
        except llmmeter.BudgetUnavailable:
            return "unavailable"
        except llmmeter.BudgetExceeded:
            return "refused"

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one() for _ in range(200)))
    elapsed = time.perf_counter() - started

    assert outcomes.count("unavailable") == 0
    assert outcomes.count("sent") == len(provider.billed) >= 50
    assert provider.total <= limit
    assert llmmeter.budget_status("pooled").spent_usd == provider.total
    assert elapsed < 5


def test_an_unreachable_store_lets_requests_through_with_one_warning_per_budget(caplog):
    """on_store_error="allow": the request goes out, one warning names the budget; configure() itself
    never connected."""
    llmmeter.configure(budget_store=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    provider = Provider()
    http = metered(provider.handler())

    with caplog.at_level(logging.WARNING, logger="llmmeter"), llmmeter.budget(usd="1", name="down"):
        for _ in range(3):
            http.post(URL, json=body())

    assert len(provider.billed) == 3
    warnings = [record for record in caplog.records if "'down'" in record.getMessage()]
    assert len(warnings) == 1


def test_an_unreachable_store_refuses_with_budget_unavailable_when_asked():
    """on_store_error="refuse": BudgetUnavailable (a BudgetExceeded), before the request is sent."""
    llmmeter.configure(budget_store=f"redis://127.0.0.1:{free_port()}/0")
    provider = Provider()
    http = metered(provider.handler())

    with llmmeter.budget(usd="1", name="strict", on_store_error="refuse"):
        with pytest.raises(llmmeter.BudgetUnavailable) as refused:
            http.post(URL, json=body())

    assert isinstance(refused.value, llmmeter.BudgetExceeded)
    assert refused.value.name == "strict"
    assert provider.billed == []


def test_a_reservation_never_settled_expires_after_its_ttl(redis_url):
    """A reservation whose call never ends (its process died) is released after the reservation TTL."""
    llmmeter.configure(budget_reservation_ttl=0.3)
    request = RequestInfo(provider="openai", operation="chat", model=MODEL)
    with llmmeter.budget(usd="1", name="orphan"):
        reservation = reserve(request, 1000, 1000)
    assert reservation is not None
    held = llmmeter.budget_status("orphan").reserved_usd
    time.sleep(0.4)
    assert held == reservation.amount_usd > 0
    assert llmmeter.budget_status("orphan").reserved_usd == 0


def test_the_store_comes_from_the_environment(redis_server, monkeypatch):
    """LLMMETER_BUDGET_STORE names the store when configure() did not."""
    redis_server.command("FLUSHALL")
    monkeypatch.setenv("LLMMETER_BUDGET_STORE", redis_server.url)
    provider = Provider()
    with llmmeter.budget(usd="1", name="from-env"):
        metered(provider.handler()).post(URL, json=body())
    assert b"from-env" in redis_server.command("KEYS", "*")


def test_a_store_url_that_is_not_redis_is_a_configuration_error():
    """configure(budget_store=...) names what it expected."""
    with pytest.raises(llmmeter.ConfigurationError, match="redis://"):
        llmmeter.configure(budget_store="http://127.0.0.1:6379")


def test_the_cli_lists_the_current_windows(redis_url, capsys):
    """`llmmeter budgets --store URL --json` lists each window with its spend."""
    provider = Provider()
    with llmmeter.budget(usd="1", name="tenant:globex", per="month"):
        metered(provider.handler()).post(URL, json=body())

    assert main(["budgets", "--store", redis_url, "--json"]) == 0
    (window,) = json.loads(capsys.readouterr().out)
    assert window["name"] == "tenant:globex"
    assert window["per"] == "month"
    assert window["spent_usd"] == f"{provider.total.normalize():f}"
    assert window["reserved_usd"] == "0"
    assert main(["budgets", "--store", redis_url]) == 0
    assert "tenant:globex" in capsys.readouterr().out


async def test_a_store_that_does_not_answer_holds_up_calls_but_never_the_event_loop(own_redis, caplog):
    """Redis frozen (SIGSTOP): async calls wait for the 1 s socket timeout, then go out (allow) with a
    warning, and all the while the event loop keeps ticking."""
    llmmeter.configure(budget_store=own_redis.url)
    provider = Provider()
    http = async_metered(provider.handler())
    async with llmmeter.budget(usd="1", name="frozen"):
        await http.post(URL, json=body())  # connected, scripts loaded
    gaps: list[float] = []
    running = True

    async def tick() -> None:
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async def one() -> None:
        async with llmmeter.budget(usd="1", name="frozen"):
            await http.post(URL, json=body())

    assert own_redis.process is not None
    own_redis.process.send_signal(signal.SIGSTOP)
    try:
        ticker = asyncio.create_task(tick())
        started = time.perf_counter()
        with caplog.at_level(logging.WARNING, logger="llmmeter"):
            await asyncio.gather(*(one() for _ in range(20)))
        elapsed = time.perf_counter() - started
        running = False
        await ticker
    finally:
        own_redis.process.send_signal(signal.SIGCONT)

    assert len(provider.billed) == 21
    assert elapsed >= 0.9  # they did wait for the store
    assert len(gaps) > 50
    assert max(gaps) < 0.5
    assert [r for r in caplog.records if "'frozen'" in r.getMessage()]
