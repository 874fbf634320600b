"""Load: a thousand concurrent async streams and eight threads of sync calls, and memory over 20,000 calls."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import json
import threading
import tracemalloc
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx
import httpx2
import pytest

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans, metric_total, points

ASYNC_CALLS = 1000
THREADS = 8
CALLS_PER_THREAD = 100
URL = "https://api.openai.com/v1/chat/completions"
M = Decimal(1_000_000)


def tokens(call: int) -> tuple[int, int]:
    """The (prompt, completion) tokens the fake server reports for call number ``call``."""
    return 100 + call % 997, 10 + call % 89


def gpt4o(call: int) -> Decimal:
    """What call number ``call`` costs on gpt-4o ($2.50 input, $10.00 output per 1M tokens)."""
    prompt, completion = tokens(call)
    return (prompt * Decimal("2.50") + completion * Decimal("10.00")) / M


def reply(library, request, concurrency: dict[str, int] | None = None):
    """A streamed or plain completion whose usage depends on the call number in the request."""
    body = json.loads(request.read())
    prompt, completion = tokens(body["metadata"]["call"])
    if not body.get("stream"):
        return library.Response(
            200, json=fakes.chat_completion(prompt_tokens=prompt, completion_tokens=completion)
        )
    chunks = fakes.chat_stream(prompt_tokens=prompt, completion_tokens=completion)
    stream = stream_of(library, chunks, concurrency, fail=body["metadata"].get("fail", False))
    return library.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)


def stream_of(library, chunks: list[bytes], concurrency: dict[str, int] | None, fail: bool = False):
    """A stream of ``chunks`` for ``library``; its async side counts how many are open at once, and
    breaks with a ReadError after two chunks when ``fail``."""

    class Stream(library.SyncByteStream, library.AsyncByteStream):
        """Yields the chunks; the async side lets every other task run between two chunks."""

        def __iter__(self):
            yield from chunks

        async def __aiter__(self):
            concurrency["open"] += 1
            concurrency["peak"] = max(concurrency["peak"], concurrency["open"])
            try:
                for index, chunk in enumerate(chunks):
                    await asyncio.sleep(0)
                    if fail and index == 2:
                        raise library.ReadError("connection lost")
                    yield chunk
            finally:
                concurrency["open"] -= 1

    return Stream()


def request(call: int, stream: bool) -> dict:
    """A chat request carrying its call number."""
    return {"model": "gpt-4o", "stream": stream, "messages": [], "metadata": {"call": call}}


async def async_stream(client: httpx2.AsyncClient, call: int) -> int:
    """One streamed call, read to the end; returns the number of bytes read."""
    async with client.stream("POST", URL, json=request(call, stream=True)) as response:
        return len(b"".join([part async for part in response.aiter_bytes()]))


def sync_calls(library, thread: int, providers: dict) -> None:
    """One thread's calls, alternately streamed and plain, through its own metered client."""
    transport = llmmeter.MeteredTransport(library.MockTransport(lambda r: reply(library, r)), **providers)
    with library.Client(transport=transport) as client:
        for index in range(CALLS_PER_THREAD):
            call = ASYNC_CALLS + thread * CALLS_PER_THREAD + index
            with client.stream("POST", URL, json=request(call, stream=index % 2 == 0)) as response:
                response.read()


async def test_concurrent_async_streams_and_sync_threads_are_each_recorded_and_priced_exactly(
    tracer_provider, meter_provider, span_exporter, metric_reader
):
    """1,000 concurrent streams plus 8 threads of sync calls: one record each, and the exact Decimal total."""
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    concurrency = {"open": 0, "peak": 0}
    transport = llmmeter.AsyncMeteredTransport(
        httpx2.MockTransport(lambda r: reply(httpx2, r, concurrency)), **providers
    )
    total_calls = ASYNC_CALLS + THREADS * CALLS_PER_THREAD
    expected = sum((gpt4o(call) for call in range(total_calls)), Decimal(0))

    with record_calls() as calls, llmmeter.track() as spend:
        threads = [
            threading.Thread(
                target=contextvars.copy_context().run,
                args=(sync_calls, httpx2 if thread % 2 else httpx, thread, providers),
            )
            for thread in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        async with httpx2.AsyncClient(transport=transport) as client:
            sizes = await asyncio.gather(*(async_stream(client, call) for call in range(ASYNC_CALLS)))
        for thread in threads:
            thread.join()

    assert all(sizes)
    assert concurrency["peak"] >= ASYNC_CALLS // 2  # the streams really were open at the same time
    assert len(calls) == total_calls
    assert {record.ending for record in calls} == {"complete"}
    assert sum((record.cost.total for record in calls), Decimal(0)) == expected
    assert calls.total_cost == expected
    assert spend.cost_usd == expected
    assert spend.calls == total_calls
    assert spend.input_tokens == sum(tokens(call)[0] for call in range(total_calls))
    assert len(llm_spans(span_exporter.get_finished_spans())) == total_calls
    assert (
        sum(count for _, (count, _) in points(metric_reader, "gen_ai.client.operation.duration"))
        == total_calls
    )
    assert abs(metric_total(metric_reader, "llmmeter.cost") - float(expected)) < 1e-9


WAYS = ("complete", "cancelled", "closed_early", "error")


async def stream_ending(client: httpx2.AsyncClient, call: int) -> None:
    """One streamed call that ends the way ``WAYS[call % 4]`` says."""
    way = WAYS[call % len(WAYS)]
    body = {**request(call, stream=True), "metadata": {"call": call, "fail": way == "error"}}
    async with client.stream("POST", URL, json=body) as response:
        async for _ in response.aiter_raw():
            if way == "cancelled":
                asyncio.current_task().cancel()  # delivered at the next await, inside the stream
            elif way == "closed_early":
                return


async def test_concurrent_streams_ending_every_way_are_each_recorded_once(quiet):
    """1,000 concurrent streams, completed, cancelled, closed early or broken: one record each, saying so."""
    concurrency = {"open": 0, "peak": 0}
    transport = llmmeter.AsyncMeteredTransport(
        httpx2.MockTransport(lambda r: reply(httpx2, r, concurrency)), **quiet
    )

    with record_calls() as calls:
        async with httpx2.AsyncClient(transport=transport) as client:
            outcomes = await asyncio.gather(
                *(stream_ending(client, call) for call in range(ASYNC_CALLS)), return_exceptions=True
            )

    raised = Counter(type(outcome).__name__ for outcome in outcomes)
    assert raised == {"NoneType": 500, "CancelledError": 250, "ReadError": 250}
    assert Counter(record.ending for record in calls) == dict.fromkeys(WAYS, 250)
    complete = [call for call in range(ASYNC_CALLS) if call % 4 == 0]
    assert calls.total_cost == sum((gpt4o(call) for call in complete), Decimal(0))


class _Body(httpx2.SyncByteStream):
    def __iter__(self):
        yield from _STREAM


_STREAM = fakes.chat_stream(words=3)


def test_memory_stays_flat_over_twenty_thousand_calls(quiet):
    """After 10,000 streamed calls, the next 10,000 leave (almost) nothing behind: no per-call leak."""
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(
            lambda r: httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=_Body())
        ),
        **quiet,
    )
    sent = httpx2.Request("POST", URL, json={"model": "gpt-4o", "stream": True, "messages": []})

    def calls(count: int) -> None:
        for _ in range(count):
            response = transport.handle_request(sent)
            for _ in response.stream:
                pass
            response.stream.close()

    calls(10_000)  # the first half also fills every cache (pricing, classes, instruments)
    gc.collect()
    tracemalloc.start()
    try:
        calls(10_000)
        gc.collect()
        left_behind, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert left_behind < 64 * 1024  # one leaked 16-byte object per call would be 160 KB


@pytest.mark.parametrize("processor", ["simple", "batch"])
def test_a_slow_exporter_never_grows_llmmeters_memory(processor):
    """With a slow exporter behind a Simple or Batch span processor, 20,000 calls leave llmmeter's own
    allocations (traced by file) flat: no per-call state outlives its call."""
    import time as _time

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Slow(SpanExporter):
        def export(self, spans):
            _time.sleep(0.00002 if processor == "simple" else 0.002)
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    slow = Slow()
    provider.add_span_processor(
        SimpleSpanProcessor(slow) if processor == "simple" else BatchSpanProcessor(slow)
    )
    body = json.dumps(fakes.chat_completion()).encode()
    inner = httpx2.MockTransport(
        lambda request: httpx2.Response(200, headers={"content-type": "application/json"}, content=body)
    )
    transport = llmmeter.MeteredTransport(inner, tracer_provider=provider)
    request = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions", json={"model": "gpt-4o"})
    ours = tracemalloc.Filter(True, str(Path(llmmeter.__file__).parent / "*"))

    def calls(count: int) -> int:
        for _ in range(count):
            transport.handle_request(request)
        gc.collect()
        return sum(
            stat.size for stat in tracemalloc.take_snapshot().filter_traces([ours]).statistics("filename")
        )

    tracemalloc.start()
    try:
        calls(2_000)
        first = calls(9_000)
        second = calls(9_000)
    finally:
        tracemalloc.stop()
        provider.shutdown()
    assert second - first < 16 * 1024, f"llmmeter's memory grew by {second - first} bytes over 9,000 calls"
