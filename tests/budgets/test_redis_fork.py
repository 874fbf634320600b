"""A fork storm under a Redis budget: threads make calls while the main thread forks 40 times.

Each child, under a deadline with ``faulthandler`` armed (a hang dumps its stacks and fails), checks
that it holds none of the parent's Redis connections, makes a call of its own under the same budget
and reports what it was billed. A child never settles the parent's reservations, so the budget's
spend ends equal to what the provider billed the parent and every child, with nothing reserved.
"""

from __future__ import annotations

import contextvars
import faulthandler
import json
import os
import tempfile
import threading
import time
from decimal import Decimal
from typing import Any

import httpx2
import pytest

import llmmeter
from llmmeter._budgets import _stores
from tests.budgets.billing import URL, Provider, body

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

FORKS = 40
CHILD_SECONDS = 15.0


def child(http: httpx2.Client, provider: Provider, report: str) -> None:
    """In a forked child: check, call, report; exit without running the parent's cleanup."""
    trace = open(report + ".stacks", "w")  # noqa: SIM115  # kept open for faulthandler
    faulthandler.dump_traceback_later(CHILD_SECONDS, exit=True, file=trace)
    code = 1
    try:
        store: Any = _stores.named_store()
        inherited = store._sync is not None or bool(store._async)
        provider.billed.clear()
        with llmmeter.budget(usd="1000", name="storm", per="day"):
            http.post(URL, json=body())
        with open(report, "w") as out:
            json.dump({"inherited": inherited, "billed": [str(cost) for cost in provider.billed]}, out)
        code = 0
    finally:
        os._exit(code)


def test_forking_40_times_while_threads_call_under_a_redis_budget(redis_url):
    """No child hangs or reuses the parent's connections; spend = everything billed; nothing reserved."""
    provider = Provider()
    http = httpx2.Client(transport=llmmeter.MeteredTransport(httpx2.MockTransport(provider.handler())))
    stop = threading.Event()
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            with llmmeter.budget(usd="1000", name="storm", per="day"):
                while not stop.is_set():
                    http.post(URL, json=body())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=contextvars.copy_context().run, args=(hammer,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    directory = tempfile.mkdtemp(prefix="llmmeter-storm-")
    children: list[tuple[int, str]] = []
    try:
        time.sleep(0.05)
        for index in range(FORKS):
            report = os.path.join(directory, f"child-{index}.json")
            pid = os.fork()
            if pid == 0:
                child(http, provider, report)
            children.append((pid, report))
            time.sleep(0.005)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)

    hangs, results = [], []
    for pid, report in children:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            with open(report + ".stacks") as stacks:
                hangs.append(stacks.read())
            continue
        with open(report) as out:
            results.append(json.load(out))

    assert errors == []
    assert len(provider.billed) > FORKS  # the threads kept calling through the storm
    assert hangs == [], "a child hung or failed; its stacks:\n" + "\n---\n".join(hangs[:2])
    assert len(results) == FORKS
    assert not any(result["inherited"] for result in results)
    assert all(len(result["billed"]) == 1 for result in results)
    children_billed = sum(Decimal(cost) for result in results for cost in result["billed"])
    status = llmmeter.budget_status("storm", per="day")
    assert status.reserved_usd == 0
    assert status.spent_usd == provider.total + children_billed
