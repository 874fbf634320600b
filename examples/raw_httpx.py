"""Meter plain httpx clients (no SDK), and stop spending with a budget.

    python examples/raw_httpx.py                  # offline, against llmmeter's local fake provider
    python examples/raw_httpx.py --live           # the real API (needs OPENAI_API_KEY)
    python examples/raw_httpx.py --base-url URL   # any OpenAI-compatible server

``llmmeter.MeteredTransport`` wraps any httpx or httpx2 transport: requests that are LLM calls are
metered, every other request passes through untouched.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from decimal import Decimal

import httpx

import llmmeter
from llmmeter.testing import fake_provider  # a local stand-in for the API, so this runs offline


def ask(client: httpx.Client, question: str) -> str:
    """One chat completion over a bare httpx client."""
    response = client.post(
        "/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}], "max_tokens": 30},
    )
    response.raise_for_status()
    return str(response.json()["choices"][0]["message"]["content"])


async def embed(base_url: str, headers: dict[str, str], texts: list[str]) -> int:
    """Embeddings over an async client, with the async transport wrapper."""
    transport = llmmeter.AsyncMeteredTransport(httpx.AsyncHTTPTransport())
    async with httpx.AsyncClient(base_url=base_url, headers=headers, transport=transport) as client:
        response = await client.post("/embeddings", json={"model": "text-embedding-3-small", "input": texts})
        response.raise_for_status()
        return len(response.json()["data"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="call the real OpenAI API")
    parser.add_argument(
        "--base-url", help="the API at this URL (e.g. http://127.0.0.1:8000/v1); key from OPENAI_API_KEY"
    )
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if args.base_url:
            base_url, key = args.base_url, os.environ.get("OPENAI_API_KEY", "offline")
        elif args.live:
            base_url, key = "https://api.openai.com/v1", os.environ["OPENAI_API_KEY"]
        else:
            base_url, key = stack.enter_context(fake_provider()).openai_base_url, "offline"
        headers = {"Authorization": f"Bearer {key}"}  # never reaches telemetry
        transport = llmmeter.MeteredTransport(httpx.HTTPTransport())
        client = stack.enter_context(httpx.Client(base_url=base_url, headers=headers, transport=transport))

        with llmmeter.track() as spend:
            print("answer:", ask(client, "Name a unit of cost."))
            print("vectors:", asyncio.run(embed(base_url, headers, ["cost", "tokens"])))

            # A budget refuses the next request once the spend inside it has reached the limit.
            asked = 0
            with contextlib.suppress(llmmeter.BudgetExceeded), llmmeter.budget(usd=Decimal("0.00002")):
                for _ in range(10):
                    ask(client, "Tell me something new.")
                    asked += 1
            print(f"budget: stopped after {asked} calls")

    print(f"\n{spend.calls} calls: ${spend.cost_usd:f}")
    for model, per_model in spend.by_model.items():
        print(f"  {model}: {per_model.calls} call(s), ${per_model.cost_usd:f}")


if __name__ == "__main__":
    main()
