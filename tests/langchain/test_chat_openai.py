"""The handler with a real langchain-openai ChatOpenAI over an httpx2 MockTransport and a loopback server."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx2
import openai
import pytest
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from llmmeter.testing import record_calls
from tests import fakes
from tests.langchain.conftest import FakeOpenAI, chat_openai
from tests.otel import llm_spans, points

M = Decimal(1_000_000)


def gpt4o(input_tokens: int, output_tokens: int, cached: int = 0) -> Decimal:
    """gpt-4o at $2.50 input, $1.25 cached input, $10.00 output per 1M tokens."""
    return (
        Decimal("2.50") * (input_tokens - cached)
        + Decimal("1.25") * cached
        + Decimal("10.00") * output_tokens
    ) / M


def test_invoke_span_has_gen_ai_and_cost_attributes(chat_model, handler, span_exporter):
    """One invoke makes one CLIENT span named after the model, with usage and the priced cost."""
    run_id = uuid.uuid4()

    chat_model.invoke("hi", config={"callbacks": [handler], "run_id": run_id})

    (span,) = span_exporter.get_finished_spans()
    assert span.name == "chat gpt-4o"
    assert span.kind.name == "CLIENT"
    assert dict(span.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.response.id": "chatcmpl-123",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 20,
        "gen_ai.usage.cost.amount": float(gpt4o(100, 20)),
        "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local",
        "llmmeter.cost.input": float(Decimal("2.50") * 100 / M),
        "llmmeter.cost.output": float(Decimal("10.00") * 20 / M),
        "llmmeter.cost.status": "ok",
        "llmmeter.pricing.model": "gpt-4o",
        "llmmeter.pricing.source": "genai-prices",
        "llmmeter.capture": "langchain",
        "openai.response.service_tier": "default",
        "langchain.run_id": str(run_id),
    }


def test_invoke_records_metrics_once(chat_model, handler, metric_reader):
    """The cost counter, token counters and histograms each get exactly this call's values."""
    chat_model.invoke("hi", config={"callbacks": [handler]})

    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
    }
    assert points(metric_reader, "llmmeter.cost") == [(attributes, float(gpt4o(100, 20)))]
    assert points(metric_reader, "llmmeter.tokens") == [
        ({**attributes, "gen_ai.token.type": "input"}, 100),
        ({**attributes, "gen_ai.token.type": "output"}, 20),
    ]
    assert points(metric_reader, "gen_ai.client.token.usage") == [
        ({**attributes, "gen_ai.token.type": "input"}, (1, 100)),
        ({**attributes, "gen_ai.token.type": "output"}, (1, 20)),
    ]
    ((duration_attributes, (count, _)),) = points(metric_reader, "gen_ai.client.operation.duration")
    assert (duration_attributes, count) == (attributes, 1)


async def test_ainvoke_is_priced(chat_model, handler):
    """An async invoke is recorded like a sync one."""
    with record_calls() as calls:
        await chat_model.ainvoke("hi", config={"callbacks": [handler]})

    assert [(c.capture, c.cost.total, c.counted) for c in calls] == [("langchain", gpt4o(100, 20), True)]


def test_request_parameters_become_attributes(transport, handler, span_exporter):
    """temperature, max_tokens, top_p, stop and seed are written as gen_ai.request.* attributes."""
    model = chat_openai(transport, temperature=0.2, max_tokens=64, top_p=0.9, seed=7)

    model.invoke("hi", stop=["END"], config={"callbacks": [handler]})

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.request.temperature"] == 0.2
    assert span.attributes["gen_ai.request.max_tokens"] == 64
    assert span.attributes["gen_ai.request.top_p"] == 0.9
    assert span.attributes["gen_ai.request.seed"] == 7
    assert span.attributes["gen_ai.request.stop_sequences"] == ("END",)


def test_cached_prompt_tokens_are_priced_at_the_cached_rate(chat_model, handler, openai_api):
    """Cached input tokens are billed at the cached rate, the rest of the input at the input rate."""
    openai_api.prompt_tokens, openai_api.cached_tokens = 1000, 400

    with record_calls() as calls:
        chat_model.invoke("hi", config={"callbacks": [handler]})

    assert calls[0].usage.cache_read_tokens == 400
    assert calls[0].cost.total == gpt4o(1000, 20, cached=400)


def test_n_choices_are_priced_once(transport, handler, openai_api):
    """With n=3 every generation carries the response's usage; it is taken once, not three times."""
    openai_api.n = 3
    model = chat_openai(transport, n=3)

    with record_calls() as calls:
        model.generate([[HumanMessage("hi")]], callbacks=[handler])

    assert len(calls) == 1
    assert (calls[0].usage.input_tokens, calls[0].usage.output_tokens) == (100, 20)
    assert calls[0].cost.total == gpt4o(100, 20)


def test_priority_tier_from_the_response_is_priced(chat_model, handler, openai_api, span_exporter):
    """The service tier the response reports (priority: $4.25 in, $17.00 out) is the one priced."""
    openai_api.service_tier = "priority"

    with record_calls() as calls:
        chat_model.invoke("hi", config={"callbacks": [handler]})

    assert calls[0].cost.service_tier == "priority"
    assert calls[0].cost.total == (Decimal("4.25") * 100 + Decimal("17.00") * 20) / M
    assert span_exporter.get_finished_spans()[0].attributes["openai.response.service_tier"] == "priority"


def test_stream_with_usage_is_priced_and_timed(transport, handler, span_exporter):
    """A stream asked for usage is priced, flagged as a stream and given a time to first chunk."""
    model = chat_openai(transport, stream_usage=True)

    with record_calls() as calls:
        text = "".join(chunk.text for chunk in model.stream("hi", config={"callbacks": [handler]}))

    assert text == "word0 word1 word2 "
    (call,) = calls
    assert (call.stream, call.ending, call.cost.total) == (True, "complete", gpt4o(100, 20))
    assert call.time_to_first_chunk_s is not None
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["llmmeter.stream.ending"] == "complete"
    assert span.attributes["gen_ai.response.model"] == "gpt-4o-2024-08-06"


async def test_astream_with_usage_is_priced(transport, handler):
    """An async stream asked for usage is priced."""
    model = chat_openai(transport, stream_usage=True)

    with record_calls() as calls:
        async for _ in model.astream("hi", config={"callbacks": [handler]}):
            pass

    assert [(c.stream, c.cost.total) for c in calls] == [(True, gpt4o(100, 20))]


def test_stream_without_usage_is_unpriced_not_free(chat_model, handler):
    """ChatOpenAI with an http_client streams without usage: the call is no_usage, never $0."""
    with record_calls() as calls:
        for _ in chat_model.stream("hi", config={"callbacks": [handler]}):
            pass

    assert (calls[0].cost.status, calls[0].cost.total, calls[0].usage) == ("no_usage", None, None)


def test_stream_closed_early_ends_its_span(transport, handler, span_exporter):
    """A stream the caller stops reading ends its span as closed early, without an error."""
    model = chat_openai(transport, stream_usage=True)

    with record_calls() as calls:
        stream = model.stream("hi", config={"callbacks": [handler]})
        next(stream)
        stream.close()

    assert [(c.ending, c.error_type) for c in calls] == [("closed_early", None)]
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["llmmeter.stream.ending"] == "closed_early"
    assert span.status.is_ok


async def test_astream_closed_early_ends_its_span(transport, handler):
    """An async stream closed early ends its span too."""
    model = chat_openai(transport, stream_usage=True)

    with record_calls() as calls:
        stream = model.astream("hi", config={"callbacks": [handler]})
        await anext(stream)
        await stream.aclose()

    assert [c.ending for c in calls] == ["closed_early"]


def test_batch_records_each_input(chat_model, handler, metric_reader):
    """batch() records one call per input and the cost counter sums them."""
    with record_calls() as calls:
        chat_model.batch(["a", "b", "c"], config={"callbacks": [handler]})

    assert [c.cost.total for c in calls] == [gpt4o(100, 20)] * 3
    ((_, total),) = points(metric_reader, "llmmeter.cost")
    assert total == pytest.approx(float(3 * gpt4o(100, 20)))


async def test_abatch_records_each_input(chat_model, handler):
    """abatch() records one call per input."""
    with record_calls() as calls:
        await chat_model.abatch(["a", "b"], config={"callbacks": [handler]})

    assert [c.cost.total for c in calls] == [gpt4o(100, 20)] * 2


async def test_astream_events_records_the_model_call(transport, handler):
    """astream_events drives the model as a stream; it is recorded once, with usage."""
    model = chat_openai(transport, stream_usage=True)

    with record_calls() as calls:
        events = [event["event"] async for event in model.astream_events("hi", {"callbacks": [handler]})]

    assert "on_chat_model_stream" in events
    assert [(c.stream, c.cost.total) for c in calls] == [(True, gpt4o(100, 20))]


def test_tool_call_response_is_recorded(chat_model, handler, openai_api, span_exporter):
    """A response asking for a tool call is priced and its finish reason is tool_calls."""
    openai_api.replies.append(
        fakes.chat_completion(tool_call={"name": "get_weather", "arguments": {"city": "Oslo"}})
    )

    def get_weather(city: str) -> str:
        """Weather for a city."""
        return "sunny"

    message = chat_model.bind_tools([get_weather]).invoke("weather?", config={"callbacks": [handler]})

    assert message.tool_calls[0]["name"] == "get_weather"
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert span.attributes["gen_ai.usage.cost.amount"] == float(gpt4o(100, 20))


def test_http_error_sets_error_type(chat_model, handler, openai_api, span_exporter, metric_reader):
    """A 500 from the API ends the span with the class of the exception the caller got as error.type."""
    openai_api.status = 500

    with pytest.raises(openai.InternalServerError) as raised:
        chat_model.invoke("hi", config={"callbacks": [handler]})

    assert type(raised.value).__name__ == "OpenAIAPIError"  # langchain-openai's subclass
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["error.type"] == "OpenAIAPIError"
    assert not span.status.is_ok
    ((attributes, _),) = points(metric_reader, "gen_ai.client.operation.duration")
    assert attributes["error.type"] == "OpenAIAPIError"


def test_loopback_server_default_client(handler, span_exporter):
    """ChatOpenAI with its own default HTTP client, against a loopback server, is recorded."""
    api = FakeOpenAI(prompt_tokens=300, completion_tokens=50)
    with fakes.LoopbackServer(api) as server:
        model = ChatOpenAI(model="gpt-4o", api_key="sk-test", base_url=server.url + "/v1", max_retries=0)
        with record_calls() as calls:
            model.invoke("hi", config={"callbacks": [handler]})
            for _ in model.stream("hi", stream_usage=True, config={"callbacks": [handler]}):
                pass

    assert [(c.stream, c.cost.total) for c in calls] == [(False, gpt4o(300, 50)), (True, gpt4o(300, 50))]
    assert [s.name for s in llm_spans(span_exporter.get_finished_spans())] == ["chat gpt-4o", "chat gpt-4o"]


async def test_loopback_server_async(handler):
    """The async default client against a loopback server is recorded."""
    api = FakeOpenAI(prompt_tokens=10, completion_tokens=5)
    with fakes.LoopbackServer(api) as server:
        model = ChatOpenAI(model="gpt-4o", api_key="sk-test", base_url=server.url + "/v1", max_retries=0)
        with record_calls() as calls:
            await model.ainvoke("hi", config={"callbacks": [handler]})

    assert [c.cost.total for c in calls] == [gpt4o(10, 5)]


def test_httpx2_is_the_client_library():
    """These tests drive ChatOpenAI over httpx2, the library openai 3.x is built on."""
    assert isinstance(chat_openai(httpx2.MockTransport(lambda r: None)).http_client, httpx2.Client)
