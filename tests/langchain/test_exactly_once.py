"""A call seen by both capture points (the handler and a metered HTTP client) is counted once."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

import pytest
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.langchain.conftest import FakeOpenAI, chat_openai
from tests.otel import points

M = Decimal(1_000_000)
COST = (Decimal("2.50") * 100 + Decimal("10.00") * 20) / M


@pytest.fixture
def metered_model(transport, tracer_provider, meter_provider):
    """ChatOpenAI whose httpx2 clients are metered on the test's providers."""
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    return chat_openai(transport, metered=True, providers=providers, stream_usage=True)


def assert_counted_once(calls, span_exporter, metric_reader, *, expected_calls: int = 1) -> None:
    """Each LangChain span has one HTTP child in its trace, and the cost counter holds one cost per call."""
    assert sorted((c.capture, c.counted) for c in calls) == sorted(
        [("http", True), ("langchain", False)] * expected_calls
    )
    spans = span_exporter.get_finished_spans()
    langchain_spans = {s.context.span_id: s for s in spans if s.attributes["llmmeter.capture"] == "langchain"}
    http_spans = [s for s in spans if s.attributes["llmmeter.capture"] == "http"]
    assert len(http_spans) == len(langchain_spans) == expected_calls
    for http_span in http_spans:
        parent = langchain_spans[http_span.parent.span_id]
        assert http_span.context.trace_id == parent.context.trace_id
        assert parent.attributes["llmmeter.counted_by"] == "http"
        assert http_span.attributes["gen_ai.usage.cost.amount"] == float(COST)
    ((_, total),) = points(metric_reader, "llmmeter.cost")
    assert total == pytest.approx(float(COST * expected_calls), rel=1e-12)
    token_points = points(metric_reader, "llmmeter.tokens")
    assert sorted(value for _, value in token_points) == [20 * expected_calls, 100 * expected_calls]


def test_invoke_over_a_metered_client(metered_model, handler, span_exporter, metric_reader):
    """invoke: the HTTP span is the model span's child and carries the one counted cost."""
    with record_calls() as calls, llmmeter.track() as spend:
        metered_model.invoke("hi", config={"callbacks": [handler]})

    assert_counted_once(calls, span_exporter, metric_reader)
    assert (spend.calls, spend.cost_usd) == (1, COST)


async def test_ainvoke_over_a_metered_client(metered_model, handler, span_exporter, metric_reader):
    """ainvoke: counted once, HTTP span nested under the model span."""
    with record_calls() as calls:
        await metered_model.ainvoke("hi", config={"callbacks": [handler]})

    assert_counted_once(calls, span_exporter, metric_reader)


def test_stream_over_a_metered_client(metered_model, handler, span_exporter, metric_reader):
    """stream: counted once."""
    with record_calls() as calls:
        for _ in metered_model.stream("hi", config={"callbacks": [handler]}):
            pass

    assert_counted_once(calls, span_exporter, metric_reader)


async def test_astream_over_a_metered_client(metered_model, handler, span_exporter, metric_reader):
    """astream: counted once."""
    with record_calls() as calls:
        async for _ in metered_model.astream("hi", config={"callbacks": [handler]}):
            pass

    assert_counted_once(calls, span_exporter, metric_reader)


def test_batch_over_a_metered_client(metered_model, handler, span_exporter, metric_reader):
    """batch: each input's HTTP call nests under its own model span (threads), each counted once."""
    with record_calls() as calls:
        metered_model.batch(["a", "b", "c"], config={"callbacks": [handler]})

    assert_counted_once(calls, span_exporter, metric_reader, expected_calls=3)


async def test_abatch_over_a_metered_client(metered_model, handler, span_exporter, metric_reader):
    """abatch: each input's HTTP call nests under its own model span (tasks), each counted once."""
    with record_calls() as calls:
        await metered_model.abatch(["a", "b", "c"], config={"callbacks": [handler]})

    assert_counted_once(calls, span_exporter, metric_reader, expected_calls=3)


# langchain-openai warns while summing the two responses' usage (their None detail fields).
@pytest.mark.filterwarnings("ignore:Unexpected type for token usage:UserWarning")
def test_generate_with_several_conversations_is_counted_once(
    metered_model, handler, span_exporter, metric_reader
):
    """generate() with two conversations: both HTTP calls nest under the first run; none counted twice."""
    with record_calls() as calls:
        metered_model.generate([[HumanMessage("a")], [HumanMessage("b")]], callbacks=[handler])

    assert sorted((c.capture, c.counted) for c in calls) == [("http", True)] * 2 + [("langchain", False)] * 2
    ((_, total),) = points(metric_reader, "llmmeter.cost")
    assert total == pytest.approx(float(2 * COST), rel=1e-12)


@pytest.mark.filterwarnings("ignore:Unexpected type for token usage:UserWarning")
async def test_agenerate_with_several_conversations_is_counted_once(metered_model, handler):
    """agenerate() with two conversations: each call counted once."""
    with record_calls() as calls:
        await metered_model.agenerate([[HumanMessage("a")], [HumanMessage("b")]], callbacks=[handler])

    assert calls.total_cost == 2 * COST


async def test_astream_events_over_a_metered_client(metered_model, handler, span_exporter, metric_reader):
    """astream_events: counted once."""
    with record_calls() as calls:
        async for _ in metered_model.astream_events("hi", {"callbacks": [handler]}):
            pass

    assert_counted_once(calls, span_exporter, metric_reader)


def test_include_stream_usage_prices_streams_despite_an_http_client(
    transport, openai_api, handler, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """ChatOpenAI with an http_client streams without usage; configure(include_stream_usage=True) fixes it."""
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    model = chat_openai(transport, metered=True, providers=providers)  # stream_usage left off
    llmmeter.configure(include_stream_usage=True)

    with record_calls() as calls:
        for _ in model.stream("hi", config={"callbacks": [handler]}):
            pass

    assert openai_api.requests[0]["stream_options"] == {"include_usage": True}  # added by the transport
    assert_counted_once(calls, span_exporter, metric_reader)
    assert [c.cost.total for c in calls] == [COST, COST]


def test_without_the_option_the_stream_has_no_usage(transport, openai_api, handler, tracer_provider):
    """Without include_stream_usage the same stream reports no usage at either capture point."""
    model = chat_openai(transport, metered=True, providers={"tracer_provider": tracer_provider})

    with record_calls() as calls:
        for _ in model.stream("hi", config={"callbacks": [handler]}):
            pass

    assert "stream_options" not in openai_api.requests[0]
    assert [(c.capture, c.cost.status) for c in calls] == [("http", "no_usage"), ("langchain", "no_usage")]


@pytest.fixture
def server():
    """A loopback OpenAI-compatible server."""
    with fakes.LoopbackServer(FakeOpenAI()) as running:
        yield running


def loopback_model(server) -> ChatOpenAI:
    """ChatOpenAI with the openai SDK's own default clients, against the loopback server."""
    return ChatOpenAI(
        model="gpt-4o", api_key="sk-test", base_url=server.url + "/v1", max_retries=0, stream_usage=True
    )


def test_instrument_records_runs_without_callbacks(server, instrumented, span_exporter, metric_reader):
    """Under instrument(), a run with no callbacks gets a model span whose HTTP child counts the cost."""
    model = loopback_model(server)

    with record_calls() as calls:
        model.invoke("hi")
        for _ in model.stream("hi"):
            pass

    assert_counted_once(calls, span_exporter, metric_reader, expected_calls=2)


async def test_instrument_records_async_runs(server, instrumented, span_exporter, metric_reader):
    """Under instrument(), ainvoke and astream are recorded once each."""
    model = loopback_model(server)

    with record_calls() as calls:
        await model.ainvoke("hi")
        async for _ in model.astream("hi"):
            pass

    assert_counted_once(calls, span_exporter, metric_reader, expected_calls=2)


def test_explicit_handler_and_instrument_do_not_duplicate(
    server, instrumented, handler, span_exporter, metric_reader
):
    """Passing a handler while instrument() is on still gives one model span per call."""
    model = loopback_model(server)

    with record_calls() as calls:
        model.invoke("hi", config={"callbacks": [handler]})
        model.batch(["a", "b"], config={"callbacks": [handler]})

    assert_counted_once(calls, span_exporter, metric_reader, expected_calls=3)


def test_hook_handler_and_model_level_handler_do_not_duplicate(server, instrumented, handler, span_exporter):
    """A chain run by the hook's handler and a model carrying its own handler: one span per run."""
    model = loopback_model(server).with_config(callbacks=[handler])
    chain = (lambda text: text) | model

    with record_calls() as calls:
        chain.invoke("hi")

    assert sorted(c.capture for c in calls) == ["http", "langchain"]
    names = sorted(s.name for s in span_exporter.get_finished_spans())
    assert names == [
        "chat gpt-4o",
        "chat gpt-4o",
        "invoke_workflow RunnableLambda",
        "invoke_workflow RunnableSequence",
    ]


def test_instrument_reaches_threads_started_later(server, instrumented, span_exporter):
    """The hook's handler is seen in a thread started after instrument(), with a fresh context."""
    model = loopback_model(server)
    seen = []

    def work() -> None:
        with record_calls() as calls:
            model.invoke("hi")
        seen.extend(calls)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()

    assert sorted((c.capture, c.counted) for c in seen) == [("http", True), ("langchain", False)]


async def test_instrument_reaches_tasks(server, instrumented):
    """The hook's handler is seen in concurrent asyncio tasks."""
    model = loopback_model(server)

    with record_calls() as calls:
        await asyncio.gather(*(model.ainvoke(str(i)) for i in range(4)))

    assert sorted(c.capture for c in calls) == ["http"] * 4 + ["langchain"] * 4
    assert sum(c.cost.total for c in calls if c.counted) == 4 * COST


def test_uninstrument_stops_recording_runs(server, tracer_provider, meter_provider, span_exporter):
    """After uninstrument(), new runs are neither traced by the hook nor metered over HTTP."""
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    llmmeter.uninstrument()
    model = loopback_model(server)

    with record_calls() as calls:
        model.invoke("hi")

    assert calls == []
    assert span_exporter.get_finished_spans() == ()
