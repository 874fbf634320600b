"""What a budget adds to an openai SDK call: none, an in-process budget and a Redis-backed one, in one run.

    .venv/bin/python -m benchmarks.bench_budget            (starts its own redis-server on loopback)
    LLMMETER_BUDGET_STORE=redis://host:6379/0 .venv/bin/python -m benchmarks.bench_budget

Every variant is a metered ``client.chat.completions.create`` (non-streamed, ``max_tokens=100``) to an
in-process ``httpx2.MockTransport``, so the figures are llmmeter's and the store's cost, not the
network's. Variants, interleaved round by round in this process (ROUNDS rounds of CALLS calls, the
order rotating each round):

* ``no budget``: the metered call alone;
* ``in-process budget``: inside ``budget(usd=..., name="bench", per="day")`` on the in-process store;
* ``Redis budget (sync)``: the same block on the Redis store: one reserve and one settle script per
  call, each one loopback round trip;
* ``Redis budget (async)``: ``AsyncOpenAI``, the same block, through the asyncio client.

Printed per variant: CPU µs (``time.process_time()``, this process only: the redis-server's own CPU
is reported apart, from its ``INFO cpu``) and wall µs per call, medians over rounds, and what each adds
to ``no budget`` (async against a metered async call with no budget).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx2
import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from rich.console import Console
from rich.table import Table

import llmmeter
from benchmarks._common import DropExporter, chat_handler

ROUNDS = 15
CALLS = 200
MESSAGES = [{"role": "user", "content": "Say hi"}]
LIMIT = Decimal("1000000")


def _providers() -> tuple[TracerProvider, MeterProvider]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DropExporter()))
    return tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()])


def _clients() -> tuple[openai.OpenAI, openai.AsyncOpenAI, TracerProvider]:
    tracer_provider, meter_provider = _providers()
    sync = llmmeter.MeteredTransport(
        httpx2.MockTransport(chat_handler), tracer_provider=tracer_provider, meter_provider=meter_provider
    )

    async def answer(request: httpx2.Request) -> httpx2.Response:
        return chat_handler(request)

    asynchronous = llmmeter.AsyncMeteredTransport(
        httpx2.MockTransport(answer), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    return (
        openai.OpenAI(api_key="sk-bench", http_client=httpx2.Client(transport=sync)),
        openai.AsyncOpenAI(api_key="sk-bench", http_client=httpx2.AsyncClient(transport=asynchronous)),
        tracer_provider,
    )


def _sync_round(client: openai.OpenAI, budget: Callable[[], Any] | None) -> None:
    for _ in range(CALLS):
        if budget is None:
            client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=MESSAGES)  # type: ignore[arg-type]
        else:
            with budget():
                client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=MESSAGES)  # type: ignore[arg-type]


async def _async_round(client: openai.AsyncOpenAI, budget: Callable[[], Any] | None) -> None:
    for _ in range(CALLS):
        if budget is None:
            await client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=MESSAGES)  # type: ignore[arg-type]
        else:
            async with budget():
                await client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=MESSAGES)  # type: ignore[arg-type]


def _redis_cpu_s(url: str) -> float:
    import redis

    info = redis.Redis.from_url(url).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def main() -> None:
    url = os.environ.get("LLMMETER_BUDGET_STORE")
    server = None
    if not url:
        from tests.budgets.redis_server import RedisServer

        server = RedisServer()
        server.start()
        url = server.url
    try:
        _run(url)
    finally:
        if server is not None:
            server.close()


def _run(url: str) -> None:
    from llmmeter._budgets import _stores
    from llmmeter._budgets._redis import RedisStore
    from llmmeter._budgets._store import MemoryStore

    client, async_client, tracer_provider = _clients()
    memory, redis_store = MemoryStore(), RedisStore(url, 600)

    def on(store: Any) -> Callable[[], Any]:
        def block() -> Any:
            _stores._store = store  # the store named budgets use, switched between variants
            return llmmeter.budget(usd=LIMIT, name="bench", per="day")

        return block

    loop = asyncio.new_event_loop()
    variants: dict[str, Callable[[], None]] = {
        "no budget": lambda: _sync_round(client, None),
        "in-process budget": lambda: _sync_round(client, on(memory)),
        "Redis budget (sync)": lambda: _sync_round(client, on(redis_store)),
        "no budget (async)": lambda: loop.run_until_complete(_async_round(async_client, None)),
        "Redis budget (async)": lambda: loop.run_until_complete(_async_round(async_client, on(redis_store))),
    }
    for run in variants.values():  # warm up: imports, price entries, connections
        run()
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    wall: dict[str, list[float]] = {name: [] for name in variants}
    redis_cpu = 0.0
    names = list(variants)
    for round_index in range(ROUNDS):
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for name in order:
            before_redis = _redis_cpu_s(url) if "Redis" in name else 0.0
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            variants[name]()
            tracer_provider.force_flush()
            cpu[name].append((time.process_time() - started_cpu) / CALLS * 1e6)
            wall[name].append((time.perf_counter() - started_wall) / CALLS * 1e6)
            if "Redis" in name:
                redis_cpu += _redis_cpu_s(url) - before_redis
    loop.close()
    _report(cpu, wall, redis_cpu / (2 * ROUNDS * CALLS) * 1e6)


def _report(cpu: dict[str, list[float]], wall: dict[str, list[float]], redis_us: float) -> None:
    table = Table(
        title=f"budget cost per call ({ROUNDS} rounds x {CALLS} calls, medians)", title_justify="left"
    )
    for column in ("variant", "CPU µs", "wall µs", "added CPU µs", "added wall µs"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for name in cpu:
        base = "no budget (async)" if "async" in name else "no budget"
        c, w = statistics.median(cpu[name]), statistics.median(wall[name])
        added_c = c - statistics.median(cpu[base])
        added_w = w - statistics.median(wall[base])
        table.add_row(name, f"{c:.0f}", f"{w:.0f}", f"{added_c:+.0f}", f"{added_w:+.0f}")
    console = Console()
    console.print(table)
    console.print(f"redis-server CPU per Redis-budget call (reserve + settle): {redis_us:.0f} µs")


if __name__ == "__main__":
    main()
