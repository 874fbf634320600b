"""Faults under aiohttp: a misbehaving loopback server, the caller's view unchanged, one record per call.

Each scenario runs twice on a fresh server: without llmmeter and with it. The caller must see the
same thing both times (the same result, or the same exception type and message), and llmmeter
leaves exactly one record and one span for the call, ending the way the call ended, priced exactly
when the usage arrived before the fault.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import pytest

import llmmeter
from llmmeter.testing import CallRecord, record_calls
from tests import fakes
from tests.aiohttp.conftest import gpt4o
from tests.otel import llm_spans
from tests.reliability.rawserver import Play, RawServer

SSE = {"content-type": "text/event-stream"}
STREAM = fakes.chat_stream(words=3, prompt_tokens=300, completion_tokens=40)
BODY = json.dumps(fakes.chat_completion(prompt_tokens=300, completion_tokens=40)).encode()
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
CHAT_STREAM = {**CHAT, "stream": True}

Session = aiohttp.ClientSession
Scenario = Callable[[Session, str, RawServer], Awaitable[Any]]


async def outcome(scenario: Scenario, session: aiohttp.ClientSession, server: RawServer) -> Any:
    """What the caller saw: the scenario's result, or its exception's type and message."""
    try:
        return await scenario(session, f"{server.url}/v1/chat/completions", server)
    except BaseException as exc:
        return (type(exc).__name__, str(exc))


async def run(
    plays: Sequence[Play], scenario: Scenario, providers: tuple[Any, Any], **session_options: Any
) -> tuple[Any, Any, list[CallRecord]]:
    """The scenario without llmmeter and with it, each against a fresh server."""
    with RawServer(plays) as server:
        async with aiohttp.ClientSession(**session_options) as session:
            bare = await outcome(scenario, session, server)
    llmmeter.instrument(tracer_provider=providers[0], meter_provider=providers[1], integrations=False)
    try:
        with RawServer(plays) as server, record_calls() as calls:
            async with aiohttp.ClientSession(**session_options) as session:
                metered = await outcome(scenario, session, server)
            gc.collect()
    finally:
        llmmeter.uninstrument()
    return bare, metered, calls


@pytest.fixture
def providers(tracer_provider, meter_provider) -> tuple[Any, Any]:
    return tracer_provider, meter_provider


async def read_lines(session: Session, url: str, server: RawServer) -> list[bytes]:
    async with session.post(url, json=CHAT_STREAM) as response:
        return [line async for line in response.content]


async def read_body(session: Session, url: str, server: RawServer) -> bytes:
    async with session.post(url, json=CHAT) as response:
        return await response.read()


def the_one(calls: list[CallRecord], span_exporter: Any) -> CallRecord:
    assert len(llm_spans(span_exporter.get_finished_spans())) == 1
    (call,) = calls
    return call


async def test_reset_mid_stream_before_the_usage(providers, span_exporter):
    """A reset mid-stream reaches the caller as aiohttp raises it; the record is an unpriced error."""
    play = Play(headers=SSE, parts=STREAM[:3], chunked=True, end="reset")
    bare, metered, calls = await run([play], read_lines, providers)
    assert metered == bare
    assert bare[0] == "ClientPayloadError"
    call = the_one(calls, span_exporter)
    assert (call.ending, call.error_type, call.usage) == ("error", "ClientPayloadError", None)


async def test_reset_after_the_usage_arrived_is_priced_exactly(providers, span_exporter):
    """A stream broken after its usage chunk (before [DONE]) is recorded as an error, at its exact cost."""
    play = Play(headers=SSE, parts=STREAM[:-1], chunked=True, end="reset")
    bare, metered, calls = await run([play], read_lines, providers)
    assert metered == bare
    call = the_one(calls, span_exporter)
    assert (call.ending, call.error_type) == ("error", "ClientPayloadError")
    assert call.cost.total == gpt4o(300, 40)


async def test_connection_lost_inside_a_json_body(providers, span_exporter):
    """A body cut short of its Content-Length fails read() the same way; the call is an unpriced error."""
    play = Play(parts=[BODY[:40]], content_length=len(BODY), end="close")
    bare, metered, calls = await run([play], read_body, providers)
    assert metered == bare
    assert bare[0] == "ClientPayloadError"
    call = the_one(calls, span_exporter)
    assert (call.ending, call.usage) == ("error", None)


async def test_timeout_before_the_answer(providers, span_exporter):
    """A total timeout before the status line raises the caller's timeout error; the call records it."""
    play = Play(delay_s=2.0, parts=[BODY])
    timeout = aiohttp.ClientTimeout(total=0.2)
    bare, metered, calls = await run([play], read_body, providers, timeout=timeout)
    assert metered == bare
    call = the_one(calls, span_exporter)
    assert call.ending == "error"
    assert call.error_type == bare[0]


async def test_read_timeout_mid_stream(providers, span_exporter):
    """A stream stalled past sock_read raises the timeout while read; the call ends once, as an error."""
    play = Play(headers=SSE, parts=STREAM, chunked=True, hold_after=2)
    timeout = aiohttp.ClientTimeout(sock_read=0.2)
    bare, metered, calls = await run([play], read_lines, providers, timeout=timeout)
    assert metered == bare
    call = the_one(calls, span_exporter)
    assert (call.ending, call.error_type) == ("error", bare[0])


def cancelled_after(seconds: float, scenario: Scenario) -> Scenario:
    async def cancelled(session: Session, url: str, server: RawServer) -> Any:
        task = asyncio.ensure_future(scenario(session, url, server))
        await asyncio.sleep(seconds)
        task.cancel()
        try:
            return await task
        finally:
            server.release()

    return cancelled


async def test_cancelled_while_waiting_for_the_answer(providers, span_exporter):
    """A task cancelled before the answer arrives is recorded as cancelled."""
    play = Play(delay_s=2.0, parts=[BODY])
    bare, metered, calls = await run([play], cancelled_after(0.1, read_body), providers)
    assert metered == bare == ("CancelledError", "")
    assert the_one(calls, span_exporter).ending == "cancelled"


async def test_cancelled_mid_stream(providers, span_exporter):
    """A task cancelled while it reads a stream is recorded as cancelled, once."""
    play = Play(headers=SSE, parts=STREAM, chunked=True, hold_after=2)
    bare, metered, calls = await run([play], cancelled_after(0.2, read_lines), providers)
    assert metered == bare == ("CancelledError", "")
    call = the_one(calls, span_exporter)
    assert (call.ending, call.stream) == ("cancelled", True)


async def first_lines_then_leave(session: Session, url: str, server: RawServer) -> list[bytes]:
    async with session.post(url, json=CHAT_STREAM) as response:
        return [await response.content.readline(), await response.content.readline()]


async def first_lines_then_release(session: Session, url: str, server: RawServer) -> list[bytes]:
    response = await session.post(url, json=CHAT_STREAM)
    lines = [await response.content.readline()]
    response.release()
    return lines


async def first_lines_then_close(session: Session, url: str, server: RawServer) -> list[bytes]:
    response = await session.post(url, json=CHAT_STREAM)
    lines = [await response.content.readline()]
    response.close()
    return lines


@pytest.mark.parametrize(
    "scenario",
    [first_lines_then_leave, first_lines_then_release, first_lines_then_close],
    ids=["async-with-exit", "release", "close"],
)
async def test_a_stream_given_up_early_is_closed_early(scenario, providers, span_exporter):
    """A stream left after its first lines (block exit, release(), close()) is recorded once, closed early."""
    play = Play(headers=SSE, parts=STREAM, chunked=True, hold_after=2)

    async def leaving(session: Session, url: str, server: RawServer) -> Any:
        try:
            return await scenario(session, url, server)
        finally:
            server.release()

    bare, metered, calls = await run([play], leaving, providers)
    assert metered == bare
    call = the_one(calls, span_exporter)
    assert (call.ending, call.usage) == ("closed_early", None)


async def test_a_released_json_response_never_read(providers, span_exporter):
    """A JSON answer released unread is one record, closed early, unpriced."""

    async def unread(session: Session, url: str, server: RawServer) -> int:
        async with session.post(url, json=CHAT) as response:
            return response.status

    bare, metered, calls = await run([Play(parts=[BODY])], unread, providers)
    assert metered == bare == 200
    assert the_one(calls, span_exporter).ending == "closed_early"


async def test_an_abandoned_response_is_recorded_when_collected(providers, span_exporter):
    """A response dropped half-read, never released, yields one record, abandoned, when it is collected."""
    play = Play(headers=SSE, parts=STREAM, chunked=True, hold_after=2)

    async def abandon(session: Session, url: str, server: RawServer) -> bytes:
        response = await session.post(url, json=CHAT_STREAM)
        line = await response.content.readline()
        del response
        gc.collect()
        server.release()
        return line

    bare, metered, calls = await run([play], abandon, providers)
    assert metered == bare
    assert the_one(calls, span_exporter).ending == "abandoned"


async def test_a_stream_read_to_its_end_then_released_is_one_complete_record(providers, span_exporter):
    """Reading a stream to its end and leaving the block records the call once, complete and priced."""
    bare, metered, calls = await run([Play(headers=SSE, parts=STREAM, chunked=True)], read_lines, providers)
    assert metered == bare == [line for chunk in STREAM for line in chunk.splitlines(keepends=True)]
    call = the_one(calls, span_exporter)
    assert (call.ending, call.cost.total) == ("complete", gpt4o(300, 40))
