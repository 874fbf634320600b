"""A process making calls under a Redis budget, for the multi-process tests (run with ``python -m``).

python -m tests.budgets.worker many URL LIMIT CALLS      CALLS concurrent async calls (openai SDK),
                                                         prints what the provider billed as JSON
python -m tests.budgets.worker hang URL LIMIT TTL        one call whose answer never comes;
                                                         prints "in flight" once it is reserved
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from decimal import Decimal

import httpx2
import openai

import llmmeter
from tests.budgets.billing import MODEL, Provider


async def many(url: str, limit: Decimal, calls: int) -> None:
    llmmeter.configure(budget_store=url)
    provider = Provider()
    answer = provider.handler()

    async def network(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(0.005)
        return answer(request)

    transport = llmmeter.AsyncMeteredTransport(httpx2.MockTransport(network))
    client = openai.AsyncOpenAI(
        api_key="sk-test", max_retries=0, http_client=httpx2.AsyncClient(transport=transport)
    )

    async def one(index: int) -> str:
        await asyncio.sleep(0.0005 * index)
        try:
            async with llmmeter.budget(usd=limit, name="fleet", per="day"):
                await client.chat.completions.create(
                    model=MODEL, max_tokens=40, messages=[{"role": "user", "content": f"Hi {index}"}]
                )
            return "sent"
        except llmmeter.BudgetExceeded:
            return "refused"

    outcomes = await asyncio.gather(*(one(index) for index in range(calls)))
    print(json.dumps({"sent": outcomes.count("sent"), "billed": [str(cost) for cost in provider.billed]}))


def hang(url: str, limit: Decimal, ttl: float) -> None:
    llmmeter.configure(budget_store=url, budget_reservation_ttl=ttl)

    def never(request: httpx2.Request) -> httpx2.Response:
        print("in flight", flush=True)
        time.sleep(3600)
        raise AssertionError("killed before")

    transport = llmmeter.MeteredTransport(httpx2.MockTransport(never))
    client = openai.OpenAI(api_key="sk-test", max_retries=0, http_client=httpx2.Client(transport=transport))
    with llmmeter.budget(usd=limit, name="fleet", per="day"):
        client.chat.completions.create(
            model=MODEL, max_tokens=1000, messages=[{"role": "user", "content": "Hi"}]
        )


if __name__ == "__main__":
    mode, url, limit = sys.argv[1], sys.argv[2], Decimal(sys.argv[3])
    if mode == "many":
        asyncio.run(many(url, limit, int(sys.argv[4])))
    else:
        hang(url, limit, float(sys.argv[4]))
