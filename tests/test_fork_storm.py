"""Fork storms: a process forks 40 times while threads are inside llmmeter, and no child hangs.

Each storm hammers one path that holds an llmmeter lock (a shared ``track()`` or ``budget()``
block with its spend polled, pricing reload and refresh, ``configure()`` racing
``instrument()``/``uninstrument()``, a Realtime session receiving events) and checks in every child
that the copied state is whole (a call counted wholly or not at all) and that the child can make a
call of its own. A child that hangs dumps its stacks (see ``tests/forkstorm.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.trace import TracerProvider

import llmmeter
from llmmeter._pricing import _table
from llmmeter._providers._base import RequestInfo, ResponseInfo
from llmmeter._telemetry._call import telemetry_for
from llmmeter._telemetry._session import Session
from llmmeter._usage import Usage
from tests import fakes
from tests.forkstorm import StormResult, storm

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    # Python 3.12+ warns on every fork of a threaded process: forking under threads is the point here.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

M = Decimal(1_000_000)
# gpt-4o-2024-08-06: $2.50 input, $10.00 output per 1M tokens (openai.com/api/pricing).
COST = (100 * Decimal("2.50") + 20 * Decimal("10.00")) / M
# Amazon Nova Micro on Bedrock: $0.035 input, $0.14 output per 1M tokens (aws.amazon.com/bedrock/pricing).
NOVA = "amazon.nova-micro-v1:0"
NOVA_COST = (100 * Decimal("0.035") + 20 * Decimal("0.14")) / M
PACKAGE = Path(llmmeter.__file__).parent
LANGCHAIN = PACKAGE.parent / "integrations" / "langchain" / "llmmeter_langchain"


@pytest.fixture
def providers() -> Any:
    """The SDK's tracer provider, exporting nothing, and a no-op meter provider (llmmeter's own sums
    still count every call): the OpenTelemetry SDK's metrics hold locks of their own that it does not
    re-arm after a fork (its exemplar reservoirs, SDK 1.45), and this storm is about llmmeter's."""
    tracer_provider = TracerProvider()
    yield tracer_provider, NoOpMeterProvider()
    tracer_provider.shutdown()


def new_client() -> openai.OpenAI:
    """The openai SDK over an httpx MockTransport. A worker makes its own after the fork: a client
    shared across a fork shares httpx's cookie jar, whose lock a thread of the parent may hold."""
    reply = fakes.Reply(fakes.chat_completion())
    return openai.OpenAI(
        api_key="sk-secret-test-key",
        base_url="https://api.openai.com/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(fakes.mock_handler(httpx, reply))),
    )


@pytest.fixture
def client(providers: Any) -> Any:
    """The parent's client, every client metered by ``instrument()``."""
    tracer_provider, meter_provider = providers
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    yield new_client()
    llmmeter.uninstrument()


def call(client: Any) -> None:
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])


def whole(spend: llmmeter.Spend) -> dict[str, Any]:
    """Whether ``spend`` counts only whole calls: every total a multiple of one call's share."""
    calls = spend.calls
    by_model = spend.by_model
    return {
        "calls": calls,
        "whole": spend.cost_usd == calls * COST
        and spend.input_tokens == calls * 100
        and spend.output_tokens == calls * 20
        and sum(model.calls for model in by_model.values()) == calls,
    }


def assert_calm(result: StormResult, forks: int = 40) -> None:
    assert result.hangs == [], "a child hung; its stacks:\n" + "\n---\n".join(result.hangs[:2])
    assert result.failures == []
    assert result.forks_without_all_locks == 0
    assert result.forks == forks
    assert len(result.results) == forks


def block_storm(client: Any, block: Any) -> StormResult:
    """Two threads make calls inside ``block`` and one polls its spend while the main thread forks;
    each child checks its copy, makes one call in it, and checks it again."""
    with block as spend:

        def check() -> dict[str, Any]:
            before = whole(spend)
            call(new_client())
            after = whole(spend)
            return {"before": before, "after": after}

        result = storm([lambda: call(client), lambda: call(client), lambda: spend.by_model], check)
    for child in result.results:
        assert child["before"]["whole"], child
        assert child["after"] == {"calls": child["before"]["calls"] + 1, "whole": True}
    assert whole(spend)["whole"]
    return result


def test_track_block_polled_while_calls_run_survives_a_fork_storm(client: Any) -> None:
    """Calls in one shared track() block with its spend polled: 40 children, none hangs, each copy whole."""
    result = block_storm(client, llmmeter.track())
    assert_calm(result)
    assert result.hammered > 0


def test_budget_block_survives_a_fork_storm(client: Any) -> None:
    """The same with a budget() block, whose spend is checked before every request."""
    result = block_storm(client, llmmeter.budget(usd="1000"))
    assert_calm(result)


def test_pricing_reload_and_refresh_survive_a_fork_storm(client: Any) -> None:
    """configure() rebuilding the table and a runtime price refresh race calls; each child prices a call."""
    flip = [0]

    def reload() -> None:
        flip[0] ^= 1
        llmmeter.configure(pricing_overrides={"my-model": {"input_mtok": 1 + flip[0], "output_mtok": 2}})

    def check() -> str:
        with llmmeter.track() as spend:
            call(new_client())
        assert spend.cost_usd == COST, spend
        return str(llmmeter.price("gpt-4o-2024-08-06", input_tokens=100, output_tokens=20).total)

    result = storm([reload, _table.prices_changed, lambda: call(client)], check, pause=True)
    assert_calm(result)
    assert {Decimal(total) for total in result.results} == {COST}


def test_configure_and_instrument_racing_survive_a_fork_storm(providers: Any) -> None:
    """configure() and instrument()/uninstrument() (with the LangChain hook) toggled by threads: a child
    can instrument, call and uninstrument."""
    tracer_provider, meter_provider = providers

    def toggle_instrument() -> None:
        llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        llmmeter.uninstrument()

    def toggle_configure() -> None:
        llmmeter.configure(capture_content=True, metric_attributes=["tenant"])
        llmmeter.configure(capture_content=False, metric_attributes=[])

    def check() -> int:
        llmmeter.uninstrument()
        llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        with llmmeter.track() as spend:
            call(new_client())
        llmmeter.uninstrument()
        return spend.calls

    try:
        result = storm([toggle_instrument, toggle_configure], check, pause=True)
    finally:
        llmmeter.uninstrument()
    assert_calm(result)
    assert set(result.results) == {1}


def test_realtime_session_receiving_events_survives_a_fork_storm(providers: Any) -> None:
    """Threads feed responses into one Realtime session; each child's copy counts whole responses
    and takes one more."""
    tracer_provider, meter_provider = providers
    telemetry = telemetry_for(tracer_provider, meter_provider)
    session = Session(telemetry, RequestInfo(provider="openai", operation="chat", model="gpt-4o"))
    session.created("sess_1", "gpt-4o-2024-08-06")
    usage = Usage(input_tokens=100, output_tokens=20)
    counter = iter(range(10**9))

    def respond() -> None:
        response_id = f"resp_{next(counter)}"
        session.response_started(response_id)
        session.response_done(response_id, ResponseInfo(model="gpt-4o-2024-08-06", usage=usage))

    def check() -> dict[str, Any]:
        before = session._responses, session._cost
        respond()
        after = session._responses, session._cost
        session.end()
        return {
            "whole": before[1] == before[0] * COST,
            "one_more": after == (before[0] + 1, before[1] + COST),
        }

    result = storm([respond, respond], check)
    session.end()
    assert_calm(result)
    assert all(child == {"whole": True, "one_more": True} for child in result.results), result.results


_LOCK_MAKERS = re.compile(r"\b(?:threading\.)?(?:R?Lock|Condition|Semaphore|BoundedSemaphore)\(")


def test_every_lock_is_made_by_the_fork_safe_helper() -> None:
    """No module makes a lock except llmmeter._locks, whose locks are taken before a fork and
    released on both sides: a lock added any other way could hang a forked child."""
    offenders = []
    for root in (PACKAGE, LANGCHAIN):
        for path in sorted(root.rglob("*.py")):
            if path == PACKAGE / "_locks.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if _LOCK_MAKERS.search(line) and "new_lock(" not in line:
                    offenders.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    assert offenders == []


def test_aiohttp_capture_point_survives_a_fork_storm(providers: Any) -> None:
    """Threads make aiohttp calls (each on its own event loop) while the main thread forks; each child
    makes one on a loop of its own, priced exactly."""
    aiohttp = pytest.importorskip("aiohttp")
    tracer_provider, meter_provider = providers
    reply = fakes.Reply(fakes.chat_completion())

    async def post(url: str) -> None:
        async with aiohttp.ClientSession() as session:
            body = {"model": "gpt-4o", "messages": []}
            async with session.post(f"{url}/v1/chat/completions", json=body) as response:
                await response.read()

    def check() -> str:
        with llmmeter.track() as spend:
            asyncio.run(post(server.url))
        assert spend.calls == 1, spend
        return str(spend.cost_usd)

    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    try:
        with fakes.LoopbackServer(lambda method, path, body: reply) as server:
            result = storm([lambda: asyncio.run(post(server.url))] * 2, check)
    finally:
        llmmeter.uninstrument()
    assert_calm(result)
    assert {Decimal(total) for total in result.results} == {COST}


def test_botocore_capture_point_survives_a_fork_storm(providers: Any) -> None:
    """Threads make Bedrock Converse calls through boto3 while the main thread forks; each child makes
    one with a client of its own, priced exactly."""
    boto3 = pytest.importorskip("boto3")
    from botocore.awsrequest import AWSResponse

    tracer_provider, meter_provider = providers
    body = json.dumps(
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "Hi!"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 100, "outputTokens": 20, "totalTokens": 120},
        }
    ).encode()

    class Raw:
        def stream(self, **kwargs: Any) -> Any:
            yield body

    def answer(request: Any, **kwargs: Any) -> Any:  # Bedrock's answer, in process, after signing
        return AWSResponse(request.url, 200, {"content-type": "application/json"}, Raw())

    def new_bedrock() -> Any:
        client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        client.meta.events.register("before-send.bedrock-runtime.Converse", answer)
        return client

    def converse(client: Any) -> None:
        client.converse(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "Hi"}]}])

    def check() -> str:
        with llmmeter.track() as spend:
            converse(new_bedrock())
        assert spend.calls == 1, spend
        return str(spend.cost_usd)

    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    try:
        shared = new_bedrock()
        # Paused between rounds: botocore lets go of the GIL for an instant on every request (its
        # invocation id's uuid4 reads os.urandom) and takes it straight back, so threads conversing
        # in a tight loop keep the forking thread waiting for the GIL, up to a second at each of its
        # system calls (171 s for this storm unpaused, 1.6 s paused). A real caller waits on the
        # network instead.
        result = storm([lambda: converse(shared), lambda: converse(shared)], check, pause=True)
    finally:
        llmmeter.uninstrument()
    assert_calm(result)
    assert {Decimal(total) for total in result.results} == {NOVA_COST}
