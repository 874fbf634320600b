"""The fault matrix: the real openai SDK against a misbehaving loopback server, with and without llmmeter.

Each scenario runs twice, on a fresh server each time: once through a plain client, once through a
metered one. The caller must see the same thing both times (the same result, or the same exception
with the same message and cause), and llmmeter must leave exactly one record (and one span) per HTTP
attempt the server saw, ending the way the attempt ended. Sync and async clients, on httpx2 and on
legacy httpx.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
import openai
import pytest

import llmmeter
from llmmeter.testing import CallRecord, record_calls
from tests import fakes
from tests.otel import llm_spans
from tests.reliability.rawserver import Play, RawServer

pytestmark = pytest.mark.usefixtures("quick_retries")

SSE = {"content-type": "text/event-stream"}
QUICK_RETRY = {"retry-after-ms": "1"}
STREAM = fakes.chat_stream(words=3, prompt_tokens=300, completion_tokens=40)
BODY = json.dumps(fakes.chat_completion(prompt_tokens=300, completion_tokens=40)).encode()
ERROR = json.dumps({"error": {"message": "try again", "type": "server_error"}}).encode()

VARIANTS = [
    pytest.param(False, httpx2, id="sync-httpx2"),
    pytest.param(False, httpx, id="sync-httpx"),
    pytest.param(True, httpx2, id="async-httpx2"),
    pytest.param(True, httpx, id="async-httpx"),
]
ASYNC_VARIANTS = VARIANTS[2:]
TLS = ssl.create_default_context()
"""One TLS context for every transport: loading the CA bundle per client costs more than a whole run."""


@dataclass
class Run:
    """What the caller saw without and with llmmeter, and what llmmeter recorded."""

    bare: Any
    metered: Any
    attempts: int
    records: list[CallRecord]
    spans: int

    def endings(self) -> list[tuple[str, str | None]]:
        """(ending, error_type) of each record, in order."""
        return [(record.ending, record.error_type) for record in self.records]


def _client(library: Any, url: str, is_async: bool, metered: bool, providers: dict, options: dict) -> Any:
    if is_async:
        transport = library.AsyncHTTPTransport(verify=TLS)
        if metered:
            transport = llmmeter.AsyncMeteredTransport(transport, **providers)
        http_client, sdk = library.AsyncClient(transport=transport), openai.AsyncOpenAI
    else:
        transport = library.HTTPTransport(verify=TLS)
        if metered:
            transport = llmmeter.MeteredTransport(transport, **providers)
        http_client, sdk = library.Client(transport=transport), openai.OpenAI
    return sdk(api_key="sk-test", base_url=url + "/v1", http_client=http_client, **options)


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _outcome(scenario: Callable[[Any, RawServer], Any], client: Any, server: RawServer) -> Any:
    try:
        return ("returned", await _resolve(scenario(client, server)))
    except Exception as exc:
        cause = exc.__cause__
        return ("raised", type(exc).__name__, str(exc), type(cause).__name__, str(cause))


async def run(
    scenario: Callable[[Any, RawServer], Any],
    plays: Sequence[Play],
    *,
    library: Any,
    is_async: bool,
    tracer_provider: Any,
    meter_provider: Any,
    span_exporter: Any,
    **options: Any,
) -> Run:
    """Play ``scenario`` unmetered, then metered, each against a fresh server playing ``plays``."""
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    seen = []
    for metered in (False, True):
        with RawServer(plays) as server, record_calls() as calls:
            client = _client(library, server.url, is_async, metered, providers, {"max_retries": 0, **options})
            try:
                outcome = await _outcome(scenario, client, server)
            finally:
                await _resolve(client.close())
        seen.append((outcome, server.requests, list(calls)))
    (bare, bare_attempts, bare_records), (metered_outcome, attempts, records) = seen
    assert bare_records == []
    assert bare_attempts == attempts
    return Run(bare, metered_outcome, attempts, records, len(llm_spans(span_exporter.get_finished_spans())))


def assert_one_record_per_attempt(result: Run) -> None:
    """The caller saw the same as without llmmeter, and each attempt left one record and one span."""
    assert result.metered == result.bare
    assert len(result.records) == result.attempts
    assert result.spans == result.attempts


async def _next(stream: Any) -> Any:
    """The next chunk of a sync or async SDK stream; StopAsyncIteration at the end of either."""
    if hasattr(stream, "__anext__"):
        return await stream.__anext__()
    try:
        return next(stream)
    except StopIteration:
        raise StopAsyncIteration from None


async def read_stream(client: Any, server: RawServer, *, release_after: int | None = None) -> list[dict]:
    """Create a streamed chat completion and read it to the end; lets the server go on after some chunks."""
    stream = await _resolve(client.chat.completions.create(model="gpt-4o", messages=[], stream=True))
    chunks: list[dict] = []
    while True:
        if len(chunks) == release_after:
            server.release()
        try:
            chunks.append((await _next(stream)).model_dump())
        except StopAsyncIteration:
            return chunks


async def create(client: Any, server: RawServer) -> dict:
    """A plain chat completion."""
    return (await _resolve(client.chat.completions.create(model="gpt-4o", messages=[]))).model_dump()


@pytest.fixture
def matrix(tracer_provider, meter_provider, span_exporter) -> dict:
    """The telemetry every run reports to."""
    return {
        "tracer_provider": tracer_provider,
        "meter_provider": meter_provider,
        "span_exporter": span_exporter,
    }


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_connection_reset_mid_stream(is_async, library, matrix):
    """A reset after the first chunk: the caller's error is unchanged; one record ends in ReadError."""
    plays = [Play(headers=SSE, parts=STREAM[:1], chunked=True, hold_after=1, end="reset")]

    result = await run(
        lambda c, s: read_stream(c, s, release_after=1), plays, library=library, is_async=is_async, **matrix
    )

    assert_one_record_per_attempt(result)
    assert result.bare[:4] == ("raised", "APIConnectionError", "Connection error.", "ReadError")
    assert result.endings() == [("error", "ReadError")]


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_connection_reset_before_the_response_is_retried(is_async, library, matrix):
    """A reset before any byte of the response: each of the SDK's attempts is one error record."""
    plays = [Play(status=None, end="reset")]

    result = await run(create, plays, library=library, is_async=is_async, max_retries=1, **matrix)

    assert_one_record_per_attempt(result)
    assert result.attempts == 2
    assert result.bare[:2] == ("raised", "APIConnectionError")
    assert {ending for ending, _ in result.endings()} == {"error"}


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_error_event_in_the_middle_of_a_stream(is_async, library, matrix):
    """An error event after the first chunk: the SDK's APIError as unmetered; one record with its type."""
    error = fakes.sse([(None, {"error": {"message": "overloaded", "type": "server_error"}})])
    plays = [Play(headers=SSE, parts=STREAM[:1] + error, chunked=True)]

    result = await run(read_stream, plays, library=library, is_async=is_async, **matrix)

    assert_one_record_per_attempt(result)
    assert result.bare[:3] == ("raised", "APIError", "overloaded")
    assert result.endings() == [("closed_early", "server_error")]


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_truncated_body_is_an_error_on_every_attempt(is_async, library, matrix):
    """A body shorter than its content-length fails each attempt; each is one RemoteProtocolError record."""
    plays = [Play(parts=[BODY], content_length=len(BODY) + 50, end="close")]

    result = await run(create, plays, library=library, is_async=is_async, max_retries=1, **matrix)

    assert_one_record_per_attempt(result)
    assert result.bare[:4] == ("raised", "APIConnectionError", "Connection error.", "RemoteProtocolError")
    assert result.endings() == [("error", "RemoteProtocolError")] * 2


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_stream_cut_before_its_last_chunk(is_async, library, matrix):
    """A chunked stream that stops halfway: same chunks and error for the caller; one error record."""
    plays = [Play(headers=SSE, parts=STREAM[:3], chunked=True, end="close")]

    result = await run(read_stream, plays, library=library, is_async=is_async, **matrix)

    assert_one_record_per_attempt(result)
    assert result.bare[:4] == ("raised", "APIConnectionError", "Connection error.", "RemoteProtocolError")
    assert result.endings() == [("error", "RemoteProtocolError")]


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/octet-stream"])
async def test_stream_with_a_wrong_content_type_is_still_read_as_a_stream(
    is_async, library, content_type, matrix
):
    """A streamed answer labelled as something else: the SDK reads it as events, and so does llmmeter."""
    plays = [Play(headers={"content-type": content_type}, parts=STREAM, chunked=True)]

    result = await run(read_stream, plays, library=library, is_async=is_async, **matrix)

    assert_one_record_per_attempt(result)
    assert result.bare[0] == "returned"
    (record,) = result.records
    assert record.ending == "complete"
    assert (record.usage.input_tokens, record.usage.output_tokens) == (300, 40)


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
@pytest.mark.parametrize("content_type", ["text/plain", "text/event-stream", "application/octet-stream"])
async def test_json_with_a_wrong_content_type_is_still_read_as_json(is_async, library, content_type, matrix):
    """A JSON answer labelled as something else: the SDK parses it anyway, and llmmeter prices it."""
    plays = [Play(headers={"content-type": content_type}, parts=[BODY])]

    result = await run(create, plays, library=library, is_async=is_async, **matrix)

    assert_one_record_per_attempt(result)
    assert result.bare[0] == "returned"
    (record,) = result.records
    assert record.ending == "complete"
    assert record.cost.status == "ok"


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_corrupt_gzip_is_recorded_as_a_decoding_error_per_attempt(is_async, library, matrix):
    """A gzip body that is not gzip: the caller's error is unchanged; each attempt records a DecodingError."""
    plays = [Play(headers={"content-encoding": "gzip"}, parts=[b"\x1f\x8b\x08\x00 this is not gzip"])]

    result = await run(create, plays, library=library, is_async=is_async, max_retries=1, **matrix)

    assert_one_record_per_attempt(result)
    assert result.bare[:4] == ("raised", "APIConnectionError", "Connection error.", "DecodingError")
    assert [record.error_type for record in result.records] == ["DecodingError"] * 2


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_rate_limit_then_server_error_then_success(is_async, library, matrix):
    """429, 500, then 200 with the SDK's retries: three records, the last one priced."""
    plays = [
        Play(status=429, headers=QUICK_RETRY, parts=[ERROR]),
        Play(status=500, headers=QUICK_RETRY, parts=[ERROR]),
        Play(parts=[BODY]),
    ]

    result = await run(create, plays, library=library, is_async=is_async, max_retries=2, **matrix)

    assert_one_record_per_attempt(result)
    assert result.bare[0] == "returned"
    assert result.endings() == [("error", "429"), ("error", "500"), ("complete", None)]
    assert [record.cost.status for record in result.records] == ["no_usage", "no_usage", "ok"]


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_retries_exhausted_on_server_errors(is_async, library, matrix):
    """Three 500s with two retries: the caller gets the SDK's error; three error records."""
    plays = [Play(status=500, headers=QUICK_RETRY, parts=[ERROR])]

    result = await run(create, plays, library=library, is_async=is_async, max_retries=2, **matrix)

    assert_one_record_per_attempt(result)
    assert result.bare[:2] == ("raised", "InternalServerError")
    assert result.endings() == [("error", "500")] * 3


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_rate_limited_stream_is_retried(is_async, library, matrix):
    """A 429, then a stream: one error record, then one complete, priced stream record."""
    plays = [
        Play(status=429, headers=QUICK_RETRY, parts=[ERROR]),
        Play(headers=SSE, parts=STREAM, chunked=True),
    ]

    result = await run(read_stream, plays, library=library, is_async=is_async, max_retries=1, **matrix)

    assert_one_record_per_attempt(result)
    assert result.endings() == [("error", "429"), ("complete", None)]
    assert result.records[1].cost.status == "ok"


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_timeout_before_the_response_is_retried(is_async, library, matrix):
    """A server slower than the client's timeout: APITimeoutError for the caller; one record per attempt."""
    plays = [Play(parts=[BODY], delay_s=5)]

    result = await run(
        create, plays, library=library, is_async=is_async, max_retries=1, timeout=0.2, **matrix
    )

    assert_one_record_per_attempt(result)
    assert result.bare[:4] == ("raised", "APITimeoutError", "Request timed out.", "ReadTimeout")
    assert result.endings() == [("error", "ReadTimeout")] * 2


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_timeout_in_the_middle_of_a_stream(is_async, library, matrix):
    """A stream stalling after its first chunk: the caller times out as unmetered; one ReadTimeout record."""
    plays = [Play(headers=SSE, parts=STREAM, chunked=True, hold_after=1)]

    result = await run(read_stream, plays, library=library, is_async=is_async, timeout=0.2, **matrix)

    assert_one_record_per_attempt(result)
    assert result.bare[:4] == ("raised", "APITimeoutError", "Request timed out.", "ReadTimeout")
    assert result.endings() == [("error", "ReadTimeout")]


async def _cancel_when(started: Callable[[], bool], coroutine: Any) -> str:
    task = asyncio.ensure_future(coroutine)
    while not started():
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.02)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return "cancelled"
    return "not cancelled"


async def cancel_mid_stream(client: Any, server: RawServer) -> tuple[str, int]:
    """Cancel the task reading a stream once it has read two chunks (the server holds the third)."""
    chunks: list[Any] = []

    async def read() -> None:
        async for chunk in await client.chat.completions.create(model="gpt-4o", messages=[], stream=True):
            chunks.append(chunk)

    return await _cancel_when(lambda: len(chunks) == 2, read()), len(chunks)


@pytest.mark.parametrize(("is_async", "library"), ASYNC_VARIANTS)
async def test_task_cancelled_mid_stream(is_async, library, matrix):
    """Cancelling the reading task mid-stream cancels it as unmetered; one record says cancelled."""
    plays = [Play(headers=SSE, parts=STREAM, chunked=True, hold_after=2)]

    result = await run(cancel_mid_stream, plays, library=library, is_async=is_async, **matrix)

    assert_one_record_per_attempt(result)
    assert result.bare == ("returned", ("cancelled", 2))
    assert result.endings() == [("cancelled", "CancelledError")]


@pytest.mark.parametrize(("is_async", "library"), ASYNC_VARIANTS)
async def test_task_cancelled_while_waiting_for_the_response(is_async, library, matrix):
    """Cancelling a task waiting for a slow server: cancelled as unmetered; one record says cancelled."""
    plays = [Play(parts=[BODY], delay_s=5)]

    result = await run(
        lambda c, s: _cancel_when(lambda: s.requests > 0, create(c, s)),
        plays,
        library=library,
        is_async=is_async,
        **matrix,
    )

    assert_one_record_per_attempt(result)
    assert result.bare == ("returned", "cancelled")
    assert result.endings() == [("cancelled", "CancelledError")]


async def abandon_unread(client: Any, server: RawServer) -> str:
    """Open a stream and drop it without reading a byte."""
    stream = await _resolve(client.chat.completions.create(model="gpt-4o", messages=[], stream=True))
    del stream
    gc.collect()
    return "dropped"


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_stream_abandoned_unread_to_the_garbage_collector(is_async, library, matrix):
    """A stream dropped unread is recorded once, as abandoned, when it is collected."""
    plays = [Play(headers=SSE, parts=STREAM, chunked=True)]

    result = await run(abandon_unread, plays, library=library, is_async=is_async, **matrix)

    assert_one_record_per_attempt(result)
    assert result.endings() == [("abandoned", None)]


async def abandon_after_one_chunk(client: Any, server: RawServer) -> str:
    """Read one chunk of a stream and drop it (the server holds the rest)."""
    stream = await _resolve(client.chat.completions.create(model="gpt-4o", messages=[], stream=True))
    await _next(stream)
    del stream
    gc.collect()
    await asyncio.sleep(0.01)  # an async generator's finalizer runs on the loop
    gc.collect()
    return "dropped"


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_stream_dropped_after_one_chunk(is_async, library, matrix):
    """A stream dropped half-read is recorded once, as ended early, without usage."""
    plays = [Play(headers=SSE, parts=STREAM, chunked=True, hold_after=1)]

    result = await run(abandon_after_one_chunk, plays, library=library, is_async=is_async, **matrix)

    assert_one_record_per_attempt(result)
    (record,) = result.records
    assert record.ending in ("closed_early", "abandoned")
    assert record.usage is None


@pytest.mark.parametrize(("is_async", "library"), VARIANTS)
async def test_connection_refused_is_retried(is_async, library, matrix):
    """Nothing listening: APIConnectionError as unmetered; one ConnectError record per attempt."""
    with RawServer([Play()]) as gone:
        url = gone.url
    providers = {"tracer_provider": matrix["tracer_provider"], "meter_provider": matrix["meter_provider"]}
    outcomes = []
    for metered in (False, True):
        with record_calls() as calls:
            client = _client(library, url, is_async, metered, providers, {"max_retries": 1})
            try:
                outcomes.append(await _outcome(create, client, gone))
            finally:
                await _resolve(client.close())

    assert outcomes[0] == outcomes[1]
    assert outcomes[0][:4] == ("raised", "APIConnectionError", "Connection error.", "ConnectError")
    assert [(record.ending, record.error_type) for record in calls] == [("error", "ConnectError")] * 2
