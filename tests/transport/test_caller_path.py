"""Telemetry on the caller's path, read from outside the way an app's own tests read it.

The moment an SDK call returns (or its stream is exhausted or closed) the app's
``SimpleSpanProcessor`` has exported the call's span and its metric points are recorded, with no
llmmeter call in between; the HTTP span is the current span while its request is sent; points link
to the span through exemplars; cost and usage summed over a trace equal what ``track()`` reports;
and nothing llmmeter does ever stalls an event loop.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import llmmeter
from llmmeter_langchain import LLMMeterCallbackHandler
from tests import fakes
from tests.otel import llm_spans, metric_total, points
from tests.test_pricing_cases import per_m

LIBRARIES = [httpx2, httpx]
LIBRARY_IDS = ["httpx2", "httpx"]
SONNET = "claude-sonnet-4-6"
MESSAGES = [{"role": "user", "content": "hi"}]

# gpt-4o-2024-08-06 resolves to gpt-4o: $2.50 input, $1.25 cached input, $10.00 output per 1M tokens.
# Every fake OpenAI answer reports 1,200 prompt tokens (1,000 of them cached) and 300 completion tokens.
PROMPT, CACHED, COMPLETION = 1_200, 1_000, 300
GPT4O_CALL = per_m("2.50", PROMPT - CACHED) + per_m("1.25", CACHED) + per_m("10.00", COMPLETION)

# claude-sonnet-4-6: $3.00 input, $0.30 cache read, $3.75 5-minute cache write, $15.00 output per 1M
# tokens. A fake Anthropic answer without cache tokens: 100 input and 50 output tokens.
SONNET_CALL = per_m("3.00", 100) + per_m("15.00", 50)

COST = "gen_ai.usage.cost.amount"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
DURATION = "gen_ai.client.operation.duration"


# --- fakes and clients -------------------------------------------------------------------------------


def openai_reply(method: str, path: str, body: bytes) -> fakes.Reply:
    """A Chat Completions answer with the usage above: a stream when the request asks for one."""
    if json.loads(body).get("stream"):
        return fakes.Reply(
            chunks=fakes.chat_stream(prompt_tokens=PROMPT, completion_tokens=COMPLETION, cached_tokens=CACHED)
        )
    return fakes.Reply(
        fakes.chat_completion(prompt_tokens=PROMPT, completion_tokens=COMPLETION, cached_tokens=CACHED)
    )


def anthropic_reply(method: str, path: str, body: bytes) -> fakes.Reply:
    """A Messages answer of 100 input and 50 output tokens: a stream when the request asks for one."""
    if json.loads(body).get("stream"):
        return fakes.Reply(chunks=fakes.anthropic_stream())
    return fakes.Reply(fakes.anthropic_message())


class _Sees:
    """Notes the current span each time a request is sent, then sends it with ``inner`` (or raises)."""

    def __init__(self, inner: Any, error: Exception | None = None) -> None:
        self.inner = inner
        self.error = error
        self.current: list[trace.Span] = []

    def _see(self) -> None:
        self.current.append(trace.get_current_span())
        if self.error is not None:
            raise self.error

    def handle_request(self, request: Any) -> Any:
        self._see()
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: Any) -> Any:
        self._see()
        return await self.inner.handle_async_request(request)


class SeeingTransport(_Sees, httpx2.BaseTransport):
    """An httpx2 transport that notes the current span."""


class AsyncSeeingTransport(_Sees, httpx2.AsyncBaseTransport):
    """An httpx2 async transport that notes the current span."""


class LegacySeeingTransport(_Sees, httpx.BaseTransport):
    """An httpx transport that notes the current span."""


class LegacyAsyncSeeingTransport(_Sees, httpx.AsyncBaseTransport):
    """An httpx async transport that notes the current span."""


SEEING = {
    (httpx2, False): SeeingTransport,
    (httpx2, True): AsyncSeeingTransport,
    (httpx, False): LegacySeeingTransport,
    (httpx, True): LegacyAsyncSeeingTransport,
}


def seeing(library: Any, *, asynchronous: bool = False, error: Exception | None = None) -> _Sees:
    """A transport of ``library`` answering as the fake OpenAI API and noting the current span."""
    inner = library.MockTransport(fakes.mock_handler(library, openai_reply))
    return SEEING[library, asynchronous](inner, error)  # type: ignore[abstract]


def openai_sdk(library: Any, inner: Any, tracer_provider: Any, meter_provider: Any) -> openai.OpenAI:
    """The openai SDK on a ``library`` client whose transport is ``inner`` wrapped in MeteredTransport."""
    transport = llmmeter.MeteredTransport(
        inner, tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    return openai.OpenAI(api_key="sk-test", http_client=library.Client(transport=transport), max_retries=0)


def async_openai_sdk(
    library: Any, inner: Any, tracer_provider: Any, meter_provider: Any
) -> openai.AsyncOpenAI:
    """AsyncOpenAI on a ``library`` async client whose transport is ``inner`` wrapped for metering."""
    transport = llmmeter.AsyncMeteredTransport(
        inner, tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    return openai.AsyncOpenAI(
        api_key="sk-test", http_client=library.AsyncClient(transport=transport), max_retries=0
    )


def mock(library: Any, reply: Any, seen: list[Any] | None = None) -> Any:
    """A MockTransport of ``library`` answering with ``reply``."""
    return library.MockTransport(fakes.mock_handler(library, reply, seen))


def anthropic_sdk(
    inner: Any, tracer_provider: Any, meter_provider: Any, *, sdk_traces: bool, **options: Any
) -> anthropic.Anthropic:
    """The anthropic SDK over MeteredTransport(inner), with or without its own tracing."""
    transport = llmmeter.MeteredTransport(
        inner, tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    telemetry: Any = {"tracer_provider": tracer_provider} if sdk_traces else {"traces": False}
    return anthropic.Anthropic(
        api_key="sk-ant-test",
        http_client=httpx2.Client(transport=transport),
        open_telemetry=telemetry,
        **options,
    )


def async_anthropic_sdk(
    inner: Any, tracer_provider: Any, meter_provider: Any, *, sdk_traces: bool, **options: Any
) -> anthropic.AsyncAnthropic:
    """AsyncAnthropic over AsyncMeteredTransport(inner), with or without its own tracing."""
    transport = llmmeter.AsyncMeteredTransport(
        inner, tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    telemetry: Any = {"tracer_provider": tracer_provider} if sdk_traces else {"traces": False}
    return anthropic.AsyncAnthropic(
        api_key="sk-ant-test",
        http_client=httpx2.AsyncClient(transport=transport),
        open_telemetry=telemetry,
        **options,
    )


def stream_options() -> dict[str, Any]:
    """The arguments of a streamed chat call that reports its usage."""
    return {"stream": True, "stream_options": {"include_usage": True}}


# --- reading what was collected ----------------------------------------------------------------------


def assert_recorded(span_exporter: Any, metric_reader: InMemoryMetricReader, cost: Decimal | None) -> Any:
    """Exactly one llmmeter span is exported and one call's points are recorded; returns the span."""
    (span,) = llm_spans(span_exporter.get_finished_spans())
    ((_, (count, _)),) = points(metric_reader, DURATION)
    assert count == 1
    if cost is None:
        assert points(metric_reader, "llmmeter.cost") == []
    else:
        assert metric_total(metric_reader, "llmmeter.cost") == pytest.approx(float(cost), rel=1e-12)
    return span


def data_points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    """The SDK's own data point objects of metric ``name`` (with their exemplars)."""
    data = reader.get_metrics_data()
    return [
        point
        for resource_metrics in (data.resource_metrics if data else ())
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def trace_totals(spans: Any, trace_id: int) -> tuple[float, int, int]:
    """Cost, input tokens and output tokens summed over every span of the trace, whatever its scope."""
    in_trace = [span for span in spans if span.context.trace_id == trace_id]
    return (
        sum(span.attributes.get(COST, 0.0) for span in in_trace),
        sum(span.attributes.get(INPUT_TOKENS, 0) for span in in_trace),
        sum(span.attributes.get(OUTPUT_TOKENS, 0) for span in in_trace),
    )


def assert_trace_sums_to_spend(span_exporter: Any, app: Any, spend: llmmeter.Spend, cost: Decimal) -> None:
    """Every span is in the app's trace, and its cost and tokens summed once equal the spend."""
    spans = span_exporter.get_finished_spans()
    trace_id = app.get_span_context().trace_id
    assert {span.context.trace_id for span in spans} == {trace_id}
    assert spend.cost_usd == cost
    total_cost, input_tokens, output_tokens = trace_totals(spans, trace_id)
    assert total_cost == pytest.approx(float(spend.cost_usd), rel=1e-12)
    assert (input_tokens, output_tokens) == (spend.input_tokens, spend.output_tokens)


# --- exported the moment the call returns ------------------------------------------------------------


@pytest.mark.parametrize("library", LIBRARIES, ids=LIBRARY_IDS)
def test_span_and_points_are_there_when_create_returns(
    library, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """Right after chat.completions.create returns, the exporter holds its span and the reader its points."""
    client = openai_sdk(library, mock(library, openai_reply), tracer_provider, meter_provider)

    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    span = assert_recorded(span_exporter, metric_reader, GPT4O_CALL)
    assert span.attributes[COST] == pytest.approx(float(GPT4O_CALL), rel=1e-12)


@pytest.mark.parametrize("library", LIBRARIES, ids=LIBRARY_IDS)
async def test_span_and_points_are_there_when_async_create_returns(
    library, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """Right after an AsyncOpenAI create returns, the exporter holds its span and the reader its points."""
    client = async_openai_sdk(library, mock(library, openai_reply), tracer_provider, meter_provider)

    await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    assert_recorded(span_exporter, metric_reader, GPT4O_CALL)


@pytest.mark.parametrize("library", LIBRARIES, ids=LIBRARY_IDS)
def test_a_stream_is_exported_when_exhausted_not_before(
    library, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """A stream's span is still open while it is read and exported the moment the loop ends."""
    client = openai_sdk(library, mock(library, openai_reply), tracer_provider, meter_provider)

    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **stream_options())
    assert llm_spans(span_exporter.get_finished_spans()) == []
    for _ in stream:
        pass

    span = assert_recorded(span_exporter, metric_reader, GPT4O_CALL)
    assert span.attributes["llmmeter.stream.ending"] == "complete"
    ((_, (count, _)),) = points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")
    assert count == 1


@pytest.mark.parametrize("library", LIBRARIES, ids=LIBRARY_IDS)
async def test_an_async_stream_is_exported_when_exhausted(
    library, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """An AsyncOpenAI stream's span is exported the moment its async for loop ends."""
    client = async_openai_sdk(library, mock(library, openai_reply), tracer_provider, meter_provider)

    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **stream_options())
    assert llm_spans(span_exporter.get_finished_spans()) == []
    async for _ in stream:
        pass

    assert_recorded(span_exporter, metric_reader, GPT4O_CALL)


@pytest.mark.parametrize("library", LIBRARIES, ids=LIBRARY_IDS)
def test_a_stream_closed_after_its_first_chunk_is_exported_at_close(
    library, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """stream.close() after the first chunk ends the span there: closed early, unpriced, points recorded."""
    client = openai_sdk(library, mock(library, openai_reply), tracer_provider, meter_provider)

    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **stream_options())
    next(stream)
    stream.close()

    span = assert_recorded(span_exporter, metric_reader, None)
    assert span.attributes["llmmeter.stream.ending"] == "closed_early"
    assert "gen_ai.usage.cost.amount" not in span.attributes


@pytest.mark.parametrize("library", LIBRARIES, ids=LIBRARY_IDS)
async def test_an_async_stream_closed_after_its_first_chunk_is_exported_at_close(
    library, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """await stream.close() after the first chunk ends the span there."""
    client = async_openai_sdk(library, mock(library, openai_reply), tracer_provider, meter_provider)

    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **stream_options())
    await anext(aiter(stream))
    await stream.close()

    span = assert_recorded(span_exporter, metric_reader, None)
    assert span.attributes["llmmeter.stream.ending"] == "closed_early"


@pytest.mark.parametrize("sdk_traces", [True, False], ids=["sdk-traces", "no-sdk-traces"])
def test_anthropic_span_and_points_are_there_when_create_returns(
    sdk_traces, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """Right after messages.create returns, llmmeter's span (and the SDK's own, if it traces) is exported."""
    sdk = anthropic_sdk(mock(httpx2, anthropic_reply), tracer_provider, meter_provider, sdk_traces=sdk_traces)

    sdk.messages.create(model=SONNET, max_tokens=64, messages=MESSAGES)

    assert_recorded(span_exporter, metric_reader, SONNET_CALL)
    scopes = sorted(span.instrumentation_scope.name for span in span_exporter.get_finished_spans())
    assert scopes == (["com.anthropic.sdk.python", "llmmeter"] if sdk_traces else ["llmmeter"])


@pytest.mark.parametrize("sdk_traces", [True, False], ids=["sdk-traces", "no-sdk-traces"])
async def test_async_anthropic_span_and_points_are_there_when_create_returns(
    sdk_traces, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """Right after an AsyncAnthropic messages.create returns, its span is exported and its points recorded."""
    sdk = async_anthropic_sdk(
        mock(httpx2, anthropic_reply), tracer_provider, meter_provider, sdk_traces=sdk_traces
    )

    await sdk.messages.create(model=SONNET, max_tokens=64, messages=MESSAGES)

    assert_recorded(span_exporter, metric_reader, SONNET_CALL)


def test_anthropic_stream_is_exported_when_its_block_ends(
    tracer_provider, meter_provider, span_exporter, metric_reader
):
    """messages.stream: the span is exported, priced, by the time the with block is left."""
    sdk = anthropic_sdk(mock(httpx2, anthropic_reply), tracer_provider, meter_provider, sdk_traces=False)

    with sdk.messages.stream(model=SONNET, max_tokens=64, messages=MESSAGES) as stream:
        assert "".join(stream.text_stream) == "Hello"

    span = assert_recorded(span_exporter, metric_reader, SONNET_CALL)
    assert span.attributes["llmmeter.stream.ending"] == "complete"


# --- the HTTP span is current while its request is sent ----------------------------------------------


@pytest.mark.parametrize("library", LIBRARIES, ids=LIBRARY_IDS)
def test_the_http_span_is_current_while_the_request_is_sent(
    library, tracer_provider, meter_provider, span_exporter
):
    """The transport below llmmeter sees llmmeter's span as current; the caller's context is back after."""
    inner = seeing(library)
    client = openai_sdk(library, inner, tracer_provider, meter_provider)

    with tracer_provider.get_tracer("app").start_as_current_span("app") as app:
        before = otel_context.get_current()
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert otel_context.get_current() is before

    (span,) = llm_spans(span_exporter.get_finished_spans())
    (current,) = inner.current
    assert current.get_span_context().span_id == span.context.span_id
    assert span.parent.span_id == app.get_span_context().span_id


@pytest.mark.parametrize("library", LIBRARIES, ids=LIBRARY_IDS)
async def test_the_http_span_is_current_while_an_async_request_is_sent(
    library, tracer_provider, meter_provider, span_exporter
):
    """The same for AsyncOpenAI: llmmeter's span is current below it, the task's context is back after."""
    inner = seeing(library, asynchronous=True)
    client = async_openai_sdk(library, inner, tracer_provider, meter_provider)

    with tracer_provider.get_tracer("app").start_as_current_span("app"):
        before = otel_context.get_current()
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert otel_context.get_current() is before

    (span,) = llm_spans(span_exporter.get_finished_spans())
    (current,) = inner.current
    assert current.get_span_context().span_id == span.context.span_id


def test_an_open_stream_leaves_the_callers_context_as_it_was(tracer_provider, meter_provider, span_exporter):
    """create(stream=True) returns with the caller's span current again, llmmeter's span still open."""
    inner = seeing(httpx2)
    client = openai_sdk(httpx2, inner, tracer_provider, meter_provider)

    with tracer_provider.get_tracer("app").start_as_current_span("app"):
        before = otel_context.get_current()
        stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **stream_options())
        assert otel_context.get_current() is before
        for _ in stream:
            assert otel_context.get_current() is before
        assert otel_context.get_current() is before

    (span,) = llm_spans(span_exporter.get_finished_spans())
    (current,) = inner.current
    assert current.get_span_context().span_id == span.context.span_id


@pytest.mark.parametrize("library", LIBRARIES, ids=LIBRARY_IDS)
def test_the_context_is_restored_when_the_transport_raises(
    library, tracer_provider, meter_provider, span_exporter
):
    """A transport error below llmmeter: its span was current, is ended as failed, and the context is back."""
    inner = seeing(library, error=library.ConnectError("connection refused"))
    client = openai_sdk(library, inner, tracer_provider, meter_provider)

    with tracer_provider.get_tracer("app").start_as_current_span("app"):
        before = otel_context.get_current()
        with pytest.raises(openai.APIConnectionError):
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert otel_context.get_current() is before

    (span,) = llm_spans(span_exporter.get_finished_spans())
    (current,) = inner.current
    assert current.get_span_context().span_id == span.context.span_id
    assert span.attributes["error.type"] == "ConnectError"
    assert span.status.status_code.name == "ERROR"


@pytest.mark.parametrize("library", LIBRARIES, ids=LIBRARY_IDS)
async def test_the_context_is_restored_when_an_async_transport_raises(
    library, tracer_provider, meter_provider, span_exporter
):
    """The same when an async transport raises."""
    inner = seeing(library, asynchronous=True, error=library.ConnectError("connection refused"))
    client = async_openai_sdk(library, inner, tracer_provider, meter_provider)

    before = otel_context.get_current()
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    assert otel_context.get_current() is before
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert inner.current[0].get_span_context().span_id == span.context.span_id
    assert span.attributes["error.type"] == "ConnectError"


# --- exemplars ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["create", "stream"])
def test_the_duration_point_has_an_exemplar_of_the_span(
    streamed, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """The duration point links to llmmeter's span (default trace-based exemplar filter, sampled app span)."""
    client = openai_sdk(httpx2, mock(httpx2, openai_reply), tracer_provider, meter_provider)

    with tracer_provider.get_tracer("app").start_as_current_span("app") as app:
        assert app.get_span_context().trace_flags.sampled
        if streamed:
            for _ in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **stream_options()):
                pass
        else:
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    (span,) = llm_spans(span_exporter.get_finished_spans())
    (point,) = data_points(metric_reader, DURATION)
    (exemplar,) = point.exemplars
    assert (exemplar.trace_id, exemplar.span_id) == (span.context.trace_id, span.context.span_id)


# --- cost and usage once per trace -------------------------------------------------------------------


def test_anthropic_trace_sums_to_the_tracked_spend(tracer_provider, meter_provider, span_exporter):
    """With the anthropic SDK tracing (a retried call, a stream), the trace sums to what track() reports."""
    replies = iter(
        [
            fakes.Reply(
                {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
                status=529,
                headers={"retry-after-ms": "1"},
            ),
            fakes.Reply(
                fakes.anthropic_message(input_tokens=100, output_tokens=50, cache_read=2000, cache_write=500)
            ),
            fakes.Reply(chunks=fakes.anthropic_stream(input_tokens=40, output_tokens=25, cache_read=1000)),
        ]
    )
    sdk = anthropic_sdk(
        mock(httpx2, lambda *_: next(replies)),
        tracer_provider,
        meter_provider,
        sdk_traces=True,
        max_retries=1,
    )
    expected = (per_m("3.00", 100) + per_m("0.30", 2000) + per_m("3.75", 500) + per_m("15.00", 50)) + (
        per_m("3.00", 40) + per_m("0.30", 1000) + per_m("15.00", 25)
    )

    with llmmeter.track() as spend, tracer_provider.get_tracer("app").start_as_current_span("app") as app:
        sdk.messages.create(model=SONNET, max_tokens=64, messages=MESSAGES)
        with sdk.messages.stream(model=SONNET, max_tokens=64, messages=MESSAGES) as stream:
            stream.until_done()

    assert spend.calls == 3  # the failed attempt, its retry and the stream
    assert (spend.input_tokens, spend.output_tokens) == (100 + 2000 + 500 + 40 + 1000, 75)
    assert_trace_sums_to_spend(span_exporter, app, spend, expected)


def chat_model(**kwargs: Any) -> ChatOpenAI:
    """A real ChatOpenAI for gpt-4o whose streams report usage."""
    return ChatOpenAI(model="gpt-4o", api_key="sk-test", max_retries=0, stream_usage=True, **kwargs)


def run_langchain(model: ChatOpenAI, config: dict[str, Any]) -> None:
    """A prompt-and-model chain, a stream and a batch of two: four model calls."""
    chain = ChatPromptTemplate.from_messages([("user", "{question}")]) | model
    chain.invoke({"question": "hi"}, config=config)
    for _ in model.stream("hi", config=config):
        pass
    model.batch(["a", "b"], config=config)


def test_chat_openai_over_a_metered_client_trace_sums_to_the_tracked_spend(
    tracer_provider, meter_provider, span_exporter
):
    """ChatOpenAI with a metered http_client and the handler: the trace's cost and tokens are counted once."""
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    http_client = llmmeter.meter_client(httpx2.Client(transport=mock(httpx2, openai_reply)), **providers)
    model = chat_model(base_url="https://api.openai.com/v1", http_client=http_client)
    handler = LLMMeterCallbackHandler(**providers)

    with llmmeter.track() as spend, tracer_provider.get_tracer("app").start_as_current_span("app") as app:
        run_langchain(model, {"callbacks": [handler]})

    assert spend.calls == 4
    assert_trace_sums_to_spend(span_exporter, app, spend, 4 * GPT4O_CALL)


@pytest.fixture
def openai_server() -> Iterator[fakes.LoopbackServer]:
    """A loopback server answering as the fake OpenAI API."""
    with fakes.LoopbackServer(openai_reply) as running:
        yield running


@pytest.fixture
def instrumented(tracer_provider, meter_provider) -> Iterator[None]:
    """llmmeter.instrument() on the test's providers, with the LangChain hook; undone after."""
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield
    finally:
        llmmeter.uninstrument()


def test_chat_openai_under_instrument_trace_sums_to_the_tracked_spend(
    openai_server, instrumented, tracer_provider, span_exporter
):
    """ChatOpenAI with its default clients under instrument(), no callbacks: counted once per trace."""
    model = chat_model(base_url=openai_server.url + "/v1")

    with llmmeter.track() as spend, tracer_provider.get_tracer("app").start_as_current_span("app") as app:
        run_langchain(model, {})

    assert spend.calls == 4
    captures = [span.attributes.get("llmmeter.capture") for span in span_exporter.get_finished_spans()]
    assert (captures.count("http"), captures.count("langchain")) == (4, 4)
    assert_trace_sums_to_spend(span_exporter, app, spend, 4 * GPT4O_CALL)


# --- the event loop is never blocked -----------------------------------------------------------------


def _waited_for_a_cpu_s() -> float:
    """Seconds the calling thread has spent runnable but waiting for a CPU (Linux's schedstat run
    delay: other processes had the cores); 0.0 where the kernel does not say."""
    try:
        with open("/proc/thread-self/schedstat") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


class Ticker:
    """Wakes every millisecond and records the longest gap between two wake-ups, and the threads that
    appear after it was made (threads that earlier tests left winding down may end meanwhile).

    A gap leaves out the time the loop's thread was ready to run but waited for a CPU that other
    processes held (a loaded machine): what is left is the loop running code or blocked in a wait,
    which is what the tests bound.
    """

    def __init__(self) -> None:
        self.max_gap = 0.0
        self.new_threads: set[str] = set()
        self._before = set(threading.enumerate())
        self._running = True

    async def run(self) -> None:
        last, last_waited = time.perf_counter(), _waited_for_a_cpu_s()
        while self._running:
            await asyncio.sleep(0.001)
            now, waited = time.perf_counter(), _waited_for_a_cpu_s()
            self.max_gap = max(self.max_gap, (now - last) - (waited - last_waited))
            last, last_waited = now, waited
            self.new_threads.update(t.name for t in threading.enumerate() if t not in self._before)

    def stop(self) -> None:
        self._running = False


@contextmanager
def objects_of_earlier_tests_frozen() -> Iterator[None]:
    """Keep what earlier tests left on the heap out of the garbage collector's scans for a while.

    After a whole test session a full collection scans several hundred thousand objects (~0.25 s):
    a pause of the session's making, not of the code measured.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("sdk_traces", [True, False], ids=["sdk-traces", "no-sdk-traces"])
async def test_200_concurrent_anthropic_calls_in_a_budget_never_block_the_loop(
    sdk_traces, tracer_provider, meter_provider, span_exporter
):
    """200 concurrent AsyncAnthropic calls inside budget() (checked before every request) start no thread
    and never stall the event loop for 0.25 s.

    The old design had its telemetry thread, and the loop waited on it (a flush before every request in
    a budget and after every anthropic SDK call): no thread may appear at all now. Starts and answers
    are spread over ~50 ms while all 200 calls are in flight together, so an unblocked loop runs only a
    few calls' own CPU (about a millisecond each) between two ticks: the longest gap measured here is
    under 15 ms. 0.25 s is a bound for a slow, busy machine that still fails a loop held up for good.
    """
    answer = fakes.mock_handler(httpx2, anthropic_reply)
    in_flight = peak = 0

    async def network(request: httpx2.Request) -> httpx2.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.06)
        in_flight -= 1
        return answer(request)

    sdk = async_anthropic_sdk(
        httpx2.MockTransport(network), tracer_provider, meter_provider, sdk_traces=sdk_traces
    )

    async def call(delay: float) -> None:
        await asyncio.sleep(delay)
        await sdk.messages.create(model=SONNET, max_tokens=64, messages=MESSAGES)

    await call(0)  # the SDK starts its own executor thread on its first call: not ours
    peak = 0

    with objects_of_earlier_tests_frozen():
        ticker = Ticker()
        ticking = asyncio.create_task(ticker.run())
        await asyncio.sleep(0.005)
        async with llmmeter.budget(usd="1000") as spend:
            await asyncio.gather(*(call(0.00025 * i) for i in range(200)))
        ticker.stop()
        await ticking

    assert peak == 200
    assert spend.calls == 200
    assert spend.cost_usd == 200 * SONNET_CALL
    assert len(llm_spans(span_exporter.get_finished_spans())) == 201
    assert ticker.max_gap < 0.25
    assert ticker.new_threads == set()


async def test_a_spent_budget_refuses_the_next_async_request_at_once(tracer_provider, meter_provider):
    """Two concurrent calls (one streamed) spend the budget exactly; the next request is refused at once."""
    seen: list[Any] = []
    client = async_openai_sdk(httpx2, mock(httpx2, openai_reply, seen), tracer_provider, meter_provider)

    async def streamed() -> None:
        async for _ in await client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, **stream_options()
        ):
            pass

    async with llmmeter.budget(usd=2 * GPT4O_CALL) as spend:
        await asyncio.gather(client.chat.completions.create(model="gpt-4o", messages=MESSAGES), streamed())
        assert spend.cost_usd == 2 * GPT4O_CALL
        started = time.perf_counter()
        with pytest.raises(llmmeter.BudgetExceeded) as refused:
            await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        refused_after = time.perf_counter() - started

    assert len(seen) == 2
    assert refused.value.spent_usd == refused.value.limit_usd == 2 * GPT4O_CALL
    assert refused_after < 0.1


async def test_a_spent_budget_refuses_an_anthropic_request_with_budget_exceeded(
    tracer_provider, meter_provider
):
    """AsyncAnthropic (default retries) gets BudgetExceeded itself, at once: the refusal is not retried."""
    seen: list[Any] = []
    sdk = async_anthropic_sdk(
        mock(httpx2, anthropic_reply, seen), tracer_provider, meter_provider, sdk_traces=False
    )

    # Room for one request's worst case (its ~90-byte body as input, max_tokens=64 as output), not two.
    async with llmmeter.budget(usd=Decimal("0.0015")) as spend:
        await sdk.messages.create(model=SONNET, max_tokens=64, messages=MESSAGES)
        assert spend.cost_usd == SONNET_CALL
        started = time.perf_counter()
        with pytest.raises(llmmeter.BudgetExceeded) as refused:
            await sdk.messages.create(model=SONNET, max_tokens=64, messages=MESSAGES)
        refused_after = time.perf_counter() - started

    assert len(seen) == 1
    assert refused.value.spent_usd == SONNET_CALL
    assert refused_after < 0.1
