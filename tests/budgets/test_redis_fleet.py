"""A fleet on one Redis budget: several processes, a process killed mid-call, the store restarted."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2

import llmmeter
from tests.budgets.billing import URL, Provider, body, cost
from tests.budgets.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]


def worker(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.budgets.worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_four_processes_of_150_concurrent_calls_never_pass_one_budget(redis_url):
    """4 processes x 150 concurrent openai SDK calls on one daily budget worth ~60 calls: the sum of what
    the provider billed never passes the limit, the budget's spend is exactly that sum, and nothing
    stays reserved."""
    # A worst case: ~120-byte body as input (bytes) plus max_tokens=40 as output, about $0.0000420.
    limit = Decimal("0.0025")
    processes = [worker("many", redis_url, str(limit), "150") for _ in range(4)]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))

    billed = [Decimal(amount) for report in reports for amount in report["billed"]]
    status = llmmeter.budget_status("fleet", per="day")
    assert sum(report["sent"] for report in reports) == len(billed)
    assert len(billed) >= 50  # the budget was used, not refused wholesale
    assert sum(billed) <= limit
    assert status.spent_usd == sum(billed)
    assert status.reserved_usd == 0


def test_a_process_killed_mid_call_loses_its_reservation_after_the_ttl(redis_url):
    """SIGKILL while a call is in flight: its reservation holds the budget until the TTL, then goes."""
    process = worker("hang", redis_url, "1", "1.5")
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "in flight"
    held = llmmeter.budget_status("fleet", per="day").reserved_usd
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)

    # gpt-4o-mini, $0.15 / $0.60 per 1M: its body's bytes as input and max_tokens=1000 as output.
    assert cost(0, 1000) < held < cost(200, 1000)
    assert llmmeter.budget_status("fleet", per="day").reserved_usd == held  # the dead process's, for now
    deadline = time.monotonic() + 5
    while llmmeter.budget_status("fleet", per="day").reserved_usd and time.monotonic() < deadline:
        time.sleep(0.1)
    status = llmmeter.budget_status("fleet", per="day")
    assert (status.spent_usd, status.reserved_usd) == (0, 0)


def calls_while_the_store_restarts(server: RedisServer, on_store_error: Any) -> list[str]:
    """Calls under a Redis budget before, during and after the store is down."""
    llmmeter.configure(budget_store=server.url + "?socket_timeout=0.5&socket_connect_timeout=0.5")
    http = httpx2.Client(transport=llmmeter.MeteredTransport(httpx2.MockTransport(Provider().handler())))
    outcomes: list[str] = []

    def call() -> None:
        try:
            with llmmeter.budget(usd="1", name="restarting", on_store_error=on_store_error):
                http.post(URL, json=body())
            outcomes.append("sent")
        except llmmeter.BudgetUnavailable:
            outcomes.append("unavailable")

    call()
    server.stop()
    call()
    call()
    server.start()
    call()
    return outcomes


def test_a_store_restarted_mid_run_lets_calls_through_while_down_then_counts_again(own_redis, caplog):
    """on_store_error="allow": while Redis is down calls go out with one warning; once it is back
    (empty: it saved nothing) calls are counted there again."""
    with caplog.at_level(logging.WARNING, logger="llmmeter"):
        outcomes = calls_while_the_store_restarts(own_redis, "allow")

    assert outcomes == ["sent", "sent", "sent", "sent"]
    assert len([r for r in caplog.records if "'restarting'" in r.getMessage()]) == 1
    assert llmmeter.budget_status("restarting").spent_usd > 0  # the call made after the restart


def test_a_store_restarted_mid_run_refuses_calls_while_down_when_asked(own_redis):
    """on_store_error="refuse": while Redis is down calls raise BudgetUnavailable; after, they go out."""
    assert calls_while_the_store_restarts(own_redis, "refuse") == [
        "sent",
        "unavailable",
        "unavailable",
        "sent",
    ]


def test_the_store_down_mid_call_leaves_the_call_alone(own_redis, caplog):
    """Redis stopping between a call's reservation and its end: the call returns normally, a warning
    says its cost was not recorded, and the reservation expires with the TTL."""
    llmmeter.configure(budget_store=own_redis.url + "?socket_timeout=0.5", budget_reservation_ttl=1)
    provider = Provider()
    answer = provider.handler()

    def stop_then_answer(request: httpx2.Request) -> httpx2.Response:
        own_redis.stop()
        return answer(request)

    http = httpx2.Client(transport=llmmeter.MeteredTransport(httpx2.MockTransport(stop_then_answer)))
    with caplog.at_level(logging.WARNING, logger="llmmeter"), llmmeter.budget(usd="1", name="mid-call"):
        response = http.post(URL, json=body())

    assert response.status_code == 200
    assert len(provider.billed) == 1
    assert any("could not record" in record.getMessage() for record in caplog.records)
