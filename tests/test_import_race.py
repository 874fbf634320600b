"""No import races: first calls from several threads at once never catch a module half-imported.

genai-prices imports httpx2. openai 2.x looks httpx2 up in ``sys.modules`` on every request, so a
lazy import of it on another thread (the old telemetry thread priced the first calls) made the app's
own calls fail with ``partially initialized module 'httpx2' has no attribute 'Timeout'``. Each run
is a fresh interpreter in which nothing has imported httpx2 yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

from tests.test_pricing_cases import per_m

RUNS = 5

# The child sets up one metered legacy httpx client the way an app does at startup, then 8 threads
# make their first calls at the same moment (a barrier) and go on calling, while 2 more threads
# look httpx2 up in a tight loop as openai 2.x does; every request does that lookup as well. All
# keep going until httpx2 is fully imported (or 2 s passed), so a lazy import cannot slip by unseen.
CHILD = r"""
import json, sys, threading, time

assert "httpx2" not in sys.modules, "httpx2 was imported before the test started"

import httpx
import llmmeter
from llmmeter.testing import record_calls

WORKERS, FIRST_CALLS = 8, 20
BODY = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
}


def look_up_httpx2():
    module = sys.modules.get("httpx2")
    if module is not None:
        getattr(module, "Timeout")


def httpx2_fully_imported():
    module = sys.modules.get("httpx2")
    return module is not None and not getattr(module.__spec__, "_initializing", False)


def answer(request):
    look_up_httpx2()
    return httpx.Response(200, json=BODY)


client = httpx.Client(transport=llmmeter.MeteredTransport(httpx.MockTransport(answer)))
failures, made = [], [0] * WORKERS
barrier = threading.Barrier(WORKERS + 1)
stop = threading.Event()


def worker(i):
    try:
        barrier.wait()
        while made[i] < FIRST_CALLS or not stop.is_set():
            client.post(
                "https://api.openai.com/v1/chat/completions",
                json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
            )
            made[i] += 1
    except BaseException as exc:
        failures.append(f"worker {i}: {exc!r}")


def toucher():
    try:
        while not stop.is_set():
            look_up_httpx2()
    except BaseException as exc:
        failures.append(f"toucher: {exc!r}")


with record_calls() as calls:
    threads = [threading.Thread(target=toucher) for _ in range(2)]
    threads += [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    deadline = time.monotonic() + 2
    while not httpx2_fully_imported() and not failures and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join()

print(json.dumps({
    "failures": failures[:5],
    "made": sum(made),
    "recorded": len(calls),
    "costs": sorted({str(call.cost.total) for call in calls}),
}))
"""


def test_first_calls_from_many_threads_never_catch_httpx2_half_imported():
    """In 5 fresh processes, 8 threads' simultaneous first calls and concurrent httpx2 lookups all succeed,
    and every call is recorded at its price."""
    environment = {**os.environ, "LLMMETER_STRICT": "1"}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for _ in range(RUNS)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        results.append(json.loads(out))

    # gpt-4o (gpt-4o-2024-08-06 resolves to it): $2.50 input, $10.00 output per 1M tokens.
    expected = per_m("2.50", 100) + per_m("10.00", 20)
    for result in results:
        assert result["failures"] == []
        assert result["made"] >= 8 * 20
        assert result["recorded"] == result["made"]
        assert [Decimal(cost) for cost in result["costs"]] == [expected]
