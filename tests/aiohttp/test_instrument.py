"""instrument() for aiohttp: exact restore, coexistence, zero-code, no aiohttp needed, fork."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import wrapt
from aiohttp import web
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

import llmmeter
from llmmeter.instrumentation import LLMMeterInstrumentor
from llmmeter.testing import record_calls
from tests import fakes
from tests.aiohttp.conftest import gpt4o
from tests.export.conftest import ROOT, clean_env
from tests.otel import llm_spans
from tests.test_fork import _in_child

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
ORDERS = list(itertools.product(("llmmeter first", "other first"), ("LIFO", "FIFO")))


@pytest.fixture
def server() -> Iterator[fakes.LoopbackServer]:
    """A chat completions provider on loopback."""
    answer = fakes.chat_completion(prompt_tokens=300, completion_tokens=40)
    with fakes.LoopbackServer(lambda method, path, body: fakes.Reply(answer)) as running:
        yield running


def session_methods() -> dict[str, Any]:
    return {name: aiohttp.ClientSession.__dict__[name] for name in ("__init__", "_request")}


async def chat(server: fakes.LoopbackServer) -> int:
    """One chat call through a fresh session; how many calls llmmeter recorded for it."""
    with record_calls() as calls:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{server.url}/v1/chat/completions", json=CHAT) as response:
                assert (await response.json())["usage"]["prompt_tokens"] == 300
    return len(calls)


async def test_instrument_is_idempotent_and_uninstrument_restores_exactly(
    server, tracer_provider, meter_provider
):
    """Two instrument() calls patch once; uninstrument() puts the very same methods back."""
    pristine = session_methods()
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    try:
        patched = aiohttp.ClientSession.__dict__["_request"]
        assert patched.__wrapped__ is pristine["_request"]
        assert await chat(server) == 1
    finally:
        llmmeter.uninstrument()
        llmmeter.uninstrument()
    assert session_methods() == pristine
    assert await chat(server) == 0


def otel_spans(exporter: Any) -> list[Any]:
    return [span for span in exporter.get_finished_spans() if "aiohttp" in span.instrumentation_scope.name]


@pytest.mark.parametrize(("first", "undo"), ORDERS, ids=[f"{a}, {b}" for a, b in ORDERS])
async def test_opentelemetry_aiohttp_instrumentation_and_llmmeter_in_any_order(
    first, undo, server, tracer_provider, meter_provider, span_exporter
):
    """With AioHttpClientInstrumentor: both work together (its span under llmmeter's), each alone after the
    other left, and the session class ends as it began."""
    pristine = session_methods()
    other = AioHttpClientInstrumentor()

    def on(which: str) -> None:
        if which == "llmmeter":
            llmmeter.instrument(
                tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False
            )
        else:
            other.instrument(tracer_provider=tracer_provider)

    def off(which: str) -> None:
        llmmeter.uninstrument() if which == "llmmeter" else other.uninstrument()

    ups = ["llmmeter", "other"] if first == "llmmeter first" else ["other", "llmmeter"]
    downs = list(reversed(ups)) if undo == "LIFO" else list(ups)
    try:
        for which in ups:
            on(which)
        assert await chat(server) == 1
        (ours,) = llm_spans(span_exporter.get_finished_spans())
        (theirs,) = otel_spans(span_exporter)
        assert theirs.parent.span_id == ours.context.span_id

        off(downs[0])
        span_exporter.clear()
        assert await chat(server) == (0 if downs[0] == "llmmeter" else 1)
        assert len(otel_spans(span_exporter)) == (1 if downs[0] == "llmmeter" else 0)

        off(downs[1])
        span_exporter.clear()
        assert await chat(server) == 0
        assert span_exporter.get_finished_spans() == ()
    finally:
        llmmeter.uninstrument()
        other.uninstrument()
    assert session_methods() == pristine


@pytest.mark.parametrize(("first", "undo"), ORDERS, ids=[f"{a}, {b}" for a, b in ORDERS])
async def test_another_wrapper_of_request_and_llmmeter_in_any_order(
    first, undo, server, tracer_provider, meter_provider
):
    """A wrapt wrapper of the same ClientSession._request keeps working, in every order of on and off."""
    pristine = session_methods()
    seen: list[str] = []

    async def other_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        seen.append(args[0])
        return await wrapped(*args, **kwargs)

    def on(which: str) -> None:
        if which == "llmmeter":
            llmmeter.instrument(
                tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False
            )
        else:
            wrapt.wrap_function_wrapper(aiohttp.ClientSession, "_request", other_wrapper)

    def off(which: str) -> None:
        if which == "llmmeter":
            llmmeter.uninstrument()
        else:
            current = aiohttp.ClientSession.__dict__["_request"]
            if isinstance(current, wrapt.FunctionWrapper):
                setattr(aiohttp.ClientSession, "_request", current.__wrapped__)  # noqa: B010
            else:  # llmmeter's wrapper is on top: unwrap what it wraps, as wrapt's unwrap would
                current.__wrapped__ = current.__wrapped__.__wrapped__

    ups = ["llmmeter", "other"] if first == "llmmeter first" else ["other", "llmmeter"]
    downs = list(reversed(ups)) if undo == "LIFO" else list(ups)
    try:
        for which in ups:
            on(which)
        assert (await chat(server), len(seen)) == (1, 1)
        off(downs[0])
        assert (await chat(server), len(seen)) == ((0, 2) if downs[0] == "llmmeter" else (1, 1))
        off(downs[1])
        assert (await chat(server), len(seen)) == (0, 2 if downs[0] == "llmmeter" else 1)
    finally:
        llmmeter.uninstrument()
    assert session_methods() == pristine


async def test_the_opentelemetry_instrumentor_covers_aiohttp(server, tracer_provider, meter_provider):
    """LLMMeterInstrumentor (what opentelemetry-instrument runs) meters aiohttp sessions and undoes it."""
    pristine = session_methods()
    instrumentor = LLMMeterInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        with record_calls() as calls:
            assert await chat(server) == 1
    finally:
        instrumentor.uninstrument()
    assert calls[0].cost.total == gpt4o(300, 40)
    assert session_methods() == pristine


WITHOUT_AIOHTTP = """
import sys
sys.modules["aiohttp"] = None  # as if it were not installed
import httpx, llmmeter
from llmmeter.testing import record_calls
llmmeter.instrument()
def reply(request):
    usage = {"prompt_tokens": 1, "completion_tokens": 1}
    return httpx.Response(200, json={"model": "gpt-4o", "usage": usage})
client = httpx.Client(transport=httpx.MockTransport(reply))
with record_calls() as calls:
    client.post("https://api.openai.com/v1/chat/completions", json={"model": "gpt-4o", "messages": []})
llmmeter.uninstrument()
loaded = sorted(name for name in sys.modules if "aiohttp" in name and sys.modules[name] is not None)
print(len(calls), loaded)
"""


def test_instrument_works_without_aiohttp():
    """Without aiohttp, instrument() meters httpx and imports nothing of aiohttp or of its capture point."""
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_AIOHTTP],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "[]"]


async def test_a_response_open_at_fork_is_the_parents(tracer_provider, meter_provider, span_exporter):
    """The child's copy of a stream the parent is reading yields no record; the parent's yields one."""
    go_on = asyncio.Event()
    stream = fakes.chat_stream(prompt_tokens=300, completion_tokens=40)

    async def provider(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(stream[0])
        await go_on.wait()
        for chunk in stream[1:]:
            await response.write(chunk)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", provider)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            async with session.post(url, json={**CHAT, "stream": True}) as response:
                await response.content.readline()

                def child() -> dict[str, int]:
                    # What release() does to the body, without touching the event loop, whose
                    # selector the child shares with the parent.
                    with record_calls() as calls:
                        response.content.set_exception(aiohttp.ClientConnectionError("Connection closed"))
                    return {"records": len(calls), "spans": len(span_exporter.get_finished_spans())}

                assert _in_child(child) == {"records": 0, "spans": 0}
                go_on.set()
                with record_calls() as calls:
                    async for _ in response.content:
                        pass
    finally:
        llmmeter.uninstrument()
        await runner.cleanup()
    assert [(call.ending, call.cost.total) for call in calls] == [("complete", gpt4o(300, 40))]
    assert len(llm_spans(span_exporter.get_finished_spans())) == 1
    assert json.loads(stream[-2][len(b"data: ") :])["usage"]["prompt_tokens"] == 300
