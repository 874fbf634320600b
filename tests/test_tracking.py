"""track(), attributes() and budget(): in-process cost attribution and spend limits."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from decimal import Decimal
from typing import Any

import httpx2
import pytest

import llmmeter
from tests import fakes
from tests.otel import llm_spans, points

M = Decimal(1_000_000)
URL = "https://api.openai.com/v1/chat/completions"


def gpt4o(prompt: int, completion: int) -> Decimal:
    return (prompt * Decimal("2.50") + completion * Decimal("10.00")) / M


def mini(prompt: int, completion: int) -> Decimal:
    return (prompt * Decimal("0.15") + completion * Decimal("0.60")) / M


def reply_for(method: str, path: str, body: bytes) -> fakes.Reply:
    """gpt-4o-mini when asked for it, gpt-4o otherwise; usage grows with the body size."""
    model = "gpt-4o-mini-2024-07-18" if b"gpt-4o-mini" in body else "gpt-4o-2024-08-06"
    return fakes.Reply(fakes.chat_completion(model=model, prompt_tokens=1000, completion_tokens=100))


def client(tracer_provider: Any, meter_provider: Any, seen: list[Any] | None = None) -> httpx2.Client:
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, reply_for, seen)),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    return httpx2.Client(transport=transport)


def async_client(
    tracer_provider: Any, meter_provider: Any, seen: list[Any] | None = None
) -> httpx2.AsyncClient:
    transport = llmmeter.AsyncMeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, reply_for, seen)),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    return httpx2.AsyncClient(transport=transport)


def ask(http: httpx2.Client, model: str = "gpt-4o") -> None:
    http.post(URL, json={"model": model, "messages": [{"role": "user", "content": "x"}]})


async def aask(http: httpx2.AsyncClient, model: str = "gpt-4o") -> None:
    await http.post(URL, json={"model": model, "messages": [{"role": "user", "content": "x"}]})


def test_track_sums_cost_tokens_calls_and_models(tracer_provider, meter_provider):
    """A track() block sums exact cost, tokens and calls, with a per-model breakdown."""
    http = client(tracer_provider, meter_provider)

    with llmmeter.track() as spend:
        ask(http)
        ask(http)
        ask(http, "gpt-4o-mini")

    assert spend.cost_usd == 2 * gpt4o(1000, 100) + mini(1000, 100)
    assert spend.input_tokens == 3000
    assert spend.output_tokens == 300
    assert spend.calls == 3
    assert set(spend.by_model) == {"gpt-4o", "gpt-4o-mini"}
    assert spend.by_model["gpt-4o"].calls == 2
    assert spend.by_model["gpt-4o-mini"].cost_usd == mini(1000, 100)


def test_nested_blocks_each_see_their_calls(tracer_provider, meter_provider):
    """An inner block counts only its own calls; the outer block counts them too."""
    http = client(tracer_provider, meter_provider)

    with llmmeter.track() as outer:
        ask(http)
        with llmmeter.track() as inner:
            ask(http, "gpt-4o-mini")
        ask(http)

    assert inner.calls == 1
    assert inner.cost_usd == mini(1000, 100)
    assert outer.calls == 3
    assert outer.cost_usd == 2 * gpt4o(1000, 100) + mini(1000, 100)


def test_calls_outside_a_block_are_not_counted(tracer_provider, meter_provider):
    """Calls made before or after a block do not reach it."""
    http = client(tracer_provider, meter_provider)
    ask(http)

    with llmmeter.track() as spend:
        ask(http, "gpt-4o-mini")
    ask(http)

    assert spend.calls == 1


async def test_async_tasks_are_tracked_separately(tracer_provider, meter_provider):
    """Concurrent asyncio tasks, each in its own block, see only their own calls."""
    http = async_client(tracer_provider, meter_provider)

    async def worker(model: str, times: int) -> llmmeter.Spend:
        async with llmmeter.track() as spend:
            for _ in range(times):
                await aask(http, model)
        return spend

    big, small = await asyncio.gather(worker("gpt-4o", 5), worker("gpt-4o-mini", 3))

    assert big.calls == 5
    assert big.cost_usd == 5 * gpt4o(1000, 100)
    assert small.calls == 3
    assert small.cost_usd == 3 * mini(1000, 100)


async def test_tasks_started_inside_a_block_count_in_it(tracer_provider, meter_provider):
    """Tasks created inside an async block inherit it (asyncio copies the context)."""
    http = async_client(tracer_provider, meter_provider)

    async with llmmeter.track() as spend:
        await asyncio.gather(*(aask(http) for _ in range(10)))

    assert spend.calls == 10
    assert spend.cost_usd == 10 * gpt4o(1000, 100)


def test_threads_do_not_leak_into_each_other(tracer_provider, meter_provider):
    """Blocks in different threads count only their own thread's calls."""
    http = client(tracer_provider, meter_provider)
    results: dict[int, llmmeter.Spend] = {}

    def worker(index: int) -> None:
        with llmmeter.track() as spend:
            for _ in range(index + 1):
                ask(http)
        results[index] = spend

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {i: spend.calls for i, spend in results.items()} == {0: 1, 1: 2, 2: 3, 3: 4}


def test_thread_run_in_a_copied_context_counts_in_the_block(tracer_provider, meter_provider):
    """A thread started with copy_context().run joins the block it was started in."""
    http = client(tracer_provider, meter_provider)

    with llmmeter.track() as spend:
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(ask, http))
        thread.start()
        thread.join()

    assert spend.calls == 1


def test_budget_refuses_the_request_once_spent(tracer_provider, meter_provider):
    """Once the spend reaches the limit, the next request raises BudgetExceeded and never leaves."""
    seen: list[Any] = []
    http = client(tracer_provider, meter_provider, seen)
    limit = 2 * gpt4o(1000, 100)

    with llmmeter.budget(usd=limit):
        ask(http)
        ask(http)
        with pytest.raises(llmmeter.BudgetExceeded) as refused:
            ask(http)

    assert len(seen) == 2
    assert refused.value.limit_usd == limit
    assert refused.value.spent_usd == limit


def test_budget_below_limit_lets_calls_through(tracer_provider, meter_provider):
    """A budget not yet reached does not interfere."""
    http = client(tracer_provider, meter_provider)

    with llmmeter.budget(usd=Decimal("1.00")) as spend:
        ask(http)
        ask(http)

    assert spend.calls == 2


def test_warn_mode_logs_once_and_lets_calls_through(tracer_provider, meter_provider, caplog):
    """In warn mode an exhausted budget logs one warning and the calls still go out."""
    seen: list[Any] = []
    http = client(tracer_provider, meter_provider, seen)

    with (
        caplog.at_level("WARNING", logger="llmmeter"),
        llmmeter.budget(usd="0.000001", mode="warn", name="nightly"),
    ):
        for _ in range(4):
            ask(http)

    assert len(seen) == 4
    warnings = [r for r in caplog.records if "nightly" in r.getMessage()]
    assert len(warnings) == 1


def test_nested_budgets_are_each_enforced(tracer_provider, meter_provider):
    """The tighter of two nested budgets stops calls inside it; the outer one still holds outside."""
    seen: list[Any] = []
    http = client(tracer_provider, meter_provider, seen)
    one_call = gpt4o(1000, 100)

    with llmmeter.budget(usd=3 * one_call, name="outer"):
        with llmmeter.budget(usd=one_call, name="inner"):
            ask(http)
            with pytest.raises(llmmeter.BudgetExceeded) as inner:
                ask(http)
        ask(http)
        ask(http)
        with pytest.raises(llmmeter.BudgetExceeded) as outer:
            ask(http)

    assert inner.value.name == "inner"
    assert outer.value.name == "outer"
    assert len(seen) == 3


async def test_concurrent_overshoot_is_bounded_by_calls_in_flight(tracer_provider, meter_provider):
    """With 200 concurrent calls against a limit of 10 calls' cost, no call starts after the limit is seen."""
    seen: list[Any] = []
    answer = fakes.mock_handler(httpx2, reply_for, seen)

    async def slow_provider(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(0.01)  # every call of a wave is in flight before the first one ends
        return answer(request)

    transport = llmmeter.AsyncMeteredTransport(
        httpx2.MockTransport(slow_provider), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    http = httpx2.AsyncClient(transport=transport)
    one_call = gpt4o(1000, 100)
    outcomes: list[str] = []

    async def one() -> None:
        try:
            await aask(http)
            outcomes.append("sent")
        except llmmeter.BudgetExceeded:
            outcomes.append("refused")

    async with llmmeter.budget(usd=10 * one_call) as spend:
        for wave in range(4):  # 4 waves of 50: later waves see the spend of earlier ones
            await asyncio.gather(*(one() for _ in range(50)))
            if wave == 0:
                first_wave_spend = spend.cost_usd

    sent = outcomes.count("sent")
    assert first_wave_spend == 50 * one_call  # the first wave was all in flight before any finished
    assert sent == 50  # nothing was sent after the limit was known
    assert outcomes.count("refused") == 150
    assert len(seen) == 50


def test_budget_rejects_floats_and_negative_limits():
    """A float or negative limit is a configuration error, since money is Decimal."""
    with pytest.raises(llmmeter.ConfigurationError, match="float"):
        llmmeter.budget(usd=0.5)  # type: ignore[arg-type]
    with pytest.raises(llmmeter.ConfigurationError, match="non-negative"):
        llmmeter.budget(usd="-1")


def test_attributes_reach_every_span_inside(tracer_provider, meter_provider, span_exporter):
    """attributes() puts its keys on every span made inside, nesting merges them."""
    http = client(tracer_provider, meter_provider)

    with llmmeter.attributes(tenant="acme"):
        ask(http)
        with llmmeter.attributes(feature="search"):
            ask(http)
    ask(http)

    first, second, outside = llm_spans(span_exporter.get_finished_spans())
    assert first.attributes["tenant"] == "acme"
    assert "feature" not in first.attributes
    assert second.attributes["tenant"] == "acme"
    assert second.attributes["feature"] == "search"
    assert "tenant" not in outside.attributes


def test_metric_points_carry_only_allow_listed_attributes(tracer_provider, meter_provider, metric_reader):
    """Only keys allow-listed in configure(metric_attributes=...) reach metric points."""
    llmmeter.configure(metric_attributes=["tenant"])
    http = client(tracer_provider, meter_provider)

    with llmmeter.attributes(tenant="acme", user_id="u-123"):
        ask(http)
    with llmmeter.attributes(tenant="globex", user_id="u-456"):
        ask(http)

    cost_points = points(metric_reader, "llmmeter.cost")
    assert {attrs["tenant"]: value for attrs, value in cost_points} == {
        "acme": pytest.approx(float(gpt4o(1000, 100))),
        "globex": pytest.approx(float(gpt4o(1000, 100))),
    }
    assert all("user_id" not in attrs for attrs, _ in cost_points)


def test_attributes_reject_unbounded_value_types():
    """Attribute values must be scalars; a dict is refused with a clear error."""
    with pytest.raises(llmmeter.ConfigurationError, match="values must be"):
        llmmeter.attributes(tenant={"id": 1})  # type: ignore[arg-type]
