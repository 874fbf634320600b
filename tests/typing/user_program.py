"""A user's program, for the type checker: every README pattern, checked with ``mypy --strict``.

``make typecheck`` runs mypy on it (and on ``examples/``) as a user's code would be checked; it is
not a test module and pytest does not collect it. ``assert_type`` makes mypy fail if a public
signature degrades to ``Any`` or to the wrong type, which a plain annotation would not catch.
It is never run: nothing here is called at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal, assert_type

import anthropic
import httpx
import httpx2
import openai
from langchain_openai import ChatOpenAI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr

import llmmeter
import llmmeter.testing
from llmmeter_langchain import LLMMeterCallbackHandler


def transports() -> None:
    """The wrappers fit where each library's transports go, sync and async, httpx and httpx2."""
    sync_httpx = httpx.Client(transport=llmmeter.MeteredTransport(httpx.HTTPTransport()))
    async_httpx = httpx.AsyncClient(transport=llmmeter.AsyncMeteredTransport(httpx.AsyncHTTPTransport()))
    sync_httpx2 = httpx2.Client(transport=llmmeter.MeteredTransport(httpx2.HTTPTransport()))
    async_httpx2 = httpx2.AsyncClient(transport=llmmeter.AsyncMeteredTransport(httpx2.AsyncHTTPTransport()))
    assert_type(sync_httpx, httpx.Client)
    assert_type(async_httpx, httpx.AsyncClient)
    assert_type(sync_httpx2, httpx2.Client)
    assert_type(async_httpx2, httpx2.AsyncClient)

    wrapped = llmmeter.MeteredTransport(httpx.HTTPTransport(), tracer_provider=TracerProvider())
    assert_type(wrapped.inner, httpx.BaseTransport)
    wrapped2 = llmmeter.MeteredTransport(httpx2.HTTPTransport(), meter_provider=MeterProvider())
    assert_type(wrapped2.inner, httpx2.BaseTransport)
    base: httpx.BaseTransport = wrapped
    base2: httpx2.BaseTransport = wrapped2
    metered: llmmeter.MeteredTransport = wrapped
    del base, base2, metered

    sdk = openai.OpenAI(
        api_key="sk-test",
        http_client=httpx2.Client(transport=llmmeter.MeteredTransport(httpx2.HTTPTransport())),
    )
    assert_type(sdk, openai.OpenAI)


def meter_client_keeps_the_client_type() -> None:
    """meter_client returns the very client it was given, with its type."""
    assert_type(llmmeter.meter_client(openai.OpenAI(api_key="sk-test")), openai.OpenAI)
    assert_type(llmmeter.meter_client(openai.AsyncOpenAI(api_key="sk-test")), openai.AsyncOpenAI)
    assert_type(llmmeter.meter_client(anthropic.Anthropic(api_key="sk-test")), anthropic.Anthropic)
    assert_type(llmmeter.meter_client(httpx.Client()), httpx.Client)
    assert_type(llmmeter.meter_client(httpx2.AsyncClient()), httpx2.AsyncClient)


def tracking(client: openai.OpenAI) -> None:
    """track(), attributes() and budget() as context managers, and what they give."""
    llmmeter.instrument()
    with llmmeter.track() as spend, llmmeter.attributes(tenant="acme", feature="search"):
        client.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "hi"}])
    assert_type(spend, llmmeter.Spend)
    assert_type(spend.cost_usd, Decimal)
    assert_type(spend.input_tokens, int)
    assert_type(spend.output_tokens, int)
    assert_type(spend.calls, int)
    with llmmeter.budget(usd=Decimal("5.00")):
        pass
    with llmmeter.budget(usd="0.50", mode="warn", name="nightly-report"):
        pass
    llmmeter.uninstrument()


async def tracking_async(client: openai.AsyncOpenAI) -> None:
    """The same blocks in async code."""
    async with llmmeter.attributes(tenant="acme"), llmmeter.track() as spend:
        await client.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "hi"}])
    assert_type(spend.cost_usd, Decimal)


def pricing() -> None:
    """price() gives a Cost whose total is a Decimal or None."""
    cost = llmmeter.price("gpt-5.4", input_tokens=1000, output_tokens=200, cache_read_tokens=100)
    assert_type(cost, llmmeter.Cost)
    assert_type(cost.total, Decimal | None)
    assert_type(cost.components, Mapping[str, Decimal])
    assert_type(
        cost.status,
        Literal["ok", "unknown_model", "no_usage", "estimated", "invalid_usage", "pricing_error"],
    )


def langchain() -> None:
    """The LangChain handler is a callback LangChain's own types accept."""
    handler = LLMMeterCallbackHandler(tracer_provider=TracerProvider())
    model = ChatOpenAI(model="gpt-5.4", api_key=SecretStr("sk-test"))
    model.invoke("hi", config={"callbacks": [handler]})


def testing_helpers() -> None:
    """llmmeter.testing: recorded calls and the fake provider."""
    with llmmeter.testing.fake_provider() as provider, llmmeter.testing.record_calls() as calls:
        assert_type(provider.openai_base_url, str)
        assert_type(provider.anthropic_base_url, str)
        openai.OpenAI(api_key="sk-test", base_url=provider.openai_base_url)
    assert_type(calls.total_cost, Decimal)
    assert_type(calls[0], llmmeter.testing.CallRecord)
