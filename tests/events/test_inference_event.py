"""The gen_ai.client.inference.operation.details event: one log record per call, in the span's
context, with the span's attributes, the usage, the cost, and (in the modes that say so) the
content as structured values.

Real openai SDK clients through MeteredTransport over httpx2.MockTransport, ChatOpenAI under the
LangChain handler, and a Realtime session against the loopback server; the events are read from an
in-memory log exporter right after each call.

Rates: gpt-4o-2024-08-06 is $2.50 input and $10.00 output per 1M tokens (OpenAI's pricing page,
https://openai.com/api/pricing/, and https://platform.openai.com/docs/models/gpt-4o).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import openai
import pytest

import llmmeter
from llmmeter import ConfigurationError
from llmmeter_langchain import LLMMeterCallbackHandler
from tests import fakes
from tests.langchain.conftest import FakeOpenAI, chat_openai
from tests.otel import inference_events, llm_spans
from tests.realtime.server import RealtimeServer, Turn

M = Decimal(1_000_000)
GPT_4O_IN, GPT_4O_OUT = Decimal("2.50"), Decimal("10.00")
ONE_CALL_COST = (100 * GPT_4O_IN + 20 * GPT_4O_OUT) / M  # the fakes' 100 prompt, 20 completion tokens

CONTENT_KEYS = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
)
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def client(reply: fakes.Reply, tracer_provider: Any, logger_provider: Any) -> openai.OpenAI:
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, reply)),
        tracer_provider=tracer_provider,
        logger_provider=logger_provider,
    )
    http_client = httpx2.Client(transport=transport)
    return openai.OpenAI(api_key="sk-test", base_url="https://api.openai.com/v1", http_client=http_client)


def ask(reply: fakes.Reply, tracer_provider: Any, logger_provider: Any, **kwargs: Any) -> Any:
    return client(reply, tracer_provider, logger_provider).chat.completions.create(
        model="gpt-4o-2024-08-06",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "the-prompt"},
        ],
        tools=[WEATHER_TOOL],
        temperature=0.5,
        **kwargs,
    )


def plain(value: Any) -> Any:
    """A log attribute value with the SDK's tuples turned back into lists."""
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def test_a_call_writes_one_event_with_its_attributes_usage_and_cost(
    tracer_provider, span_exporter, logger_provider, log_exporter
):
    """SPAN_AND_EVENT: one event per call, in the span's context, with the request and response
    attributes, the usage and the cost the span carries."""
    llmmeter.configure(capture_content="SPAN_AND_EVENT")
    ask(fakes.Reply(fakes.chat_completion(content="the-completion")), tracer_provider, logger_provider)
    [event] = inference_events(log_exporter)
    [span] = llm_spans(span_exporter.get_finished_spans())
    assert event.event_name == "gen_ai.client.inference.operation.details"
    assert event.trace_id == span.context.trace_id
    assert event.span_id == span.context.span_id
    attributes = event.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-4o-2024-08-06"
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attributes["gen_ai.response.id"] == "chatcmpl-123"
    assert list(attributes["gen_ai.response.finish_reasons"]) == ["stop"]
    assert attributes["server.address"] == "api.openai.com"
    assert attributes["gen_ai.usage.input_tokens"] == 100
    assert attributes["gen_ai.usage.output_tokens"] == 20
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(ONE_CALL_COST))
    assert attributes["gen_ai.usage.cost.amount"] == span.attributes["gen_ai.usage.cost.amount"]
    assert attributes["gen_ai.usage.cost.currency"] == "USD"
    assert attributes["llmmeter.cost.status"] == "ok"
    assert attributes["llmmeter.cost.input"] == pytest.approx(float(100 * GPT_4O_IN / M))
    assert attributes["llmmeter.pricing.model"] == span.attributes["llmmeter.pricing.model"]


def test_event_content_is_structured_and_span_content_is_json(
    tracer_provider, span_exporter, logger_provider, log_exporter
):
    """SPAN_AND_EVENT: the event carries the messages, system instructions and tool definitions as
    structured values; the span carries the same content as JSON strings."""
    llmmeter.configure(capture_content="SPAN_AND_EVENT")
    ask(fakes.Reply(fakes.chat_completion(content="the-completion")), tracer_provider, logger_provider)
    [event] = inference_events(log_exporter)
    [span] = llm_spans(span_exporter.get_finished_spans())
    expected = {
        "gen_ai.system_instructions": [{"type": "text", "content": "Be brief."}],
        "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "the-prompt"}]}],
        "gen_ai.output.messages": [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": "the-completion"}],
                "finish_reason": "stop",
            }
        ],
        "gen_ai.tool.definitions": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
    }
    for key, value in expected.items():
        assert plain(event.attributes[key]) == value, key
        assert isinstance(span.attributes[key], str), key
        assert json.loads(span.attributes[key]) == value, key


def test_event_only_puts_content_on_the_event_alone(
    tracer_provider, span_exporter, logger_provider, log_exporter
):
    """EVENT_ONLY: the prompt and completion are on the event and nowhere on the span."""
    llmmeter.configure(capture_content="EVENT_ONLY")
    ask(fakes.Reply(fakes.chat_completion(content="the-completion")), tracer_provider, logger_provider)
    [event] = inference_events(log_exporter)
    [span] = llm_spans(span_exporter.get_finished_spans())
    assert all(key in event.attributes for key in CONTENT_KEYS)
    assert not any(key in span.attributes for key in CONTENT_KEYS)
    assert "the-prompt" not in span.to_json()
    assert "the-completion" not in span.to_json()
    assert event.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(ONE_CALL_COST))


def test_no_content_writes_no_content_anywhere(tracer_provider, span_exporter, logger_provider, log_exporter):
    """NO_CONTENT with the event forced on: the event and the span carry no content at all."""
    llmmeter.configure(capture_content="NO_CONTENT", emit_events=True)
    ask(fakes.Reply(fakes.chat_completion(content="the-completion")), tracer_provider, logger_provider)
    [event] = inference_events(log_exporter)
    [span] = llm_spans(span_exporter.get_finished_spans())
    for record in (str(plain(dict(event.attributes))), span.to_json()):
        assert "the-prompt" not in record
        assert "the-completion" not in record
        assert "Be brief" not in record
        assert "get_weather" not in record
    assert event.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(ONE_CALL_COST))


@pytest.mark.parametrize("mode", ["NO_CONTENT", "SPAN_ONLY"])
def test_modes_without_event_content_write_no_event(mode, tracer_provider, logger_provider, log_exporter):
    """NO_CONTENT and SPAN_ONLY write no event unless it is forced on."""
    llmmeter.configure(capture_content=mode)
    ask(fakes.Reply(fakes.chat_completion()), tracer_provider, logger_provider)
    assert inference_events(log_exporter) == []


def test_event_forced_off_captures_no_content(tracer_provider, span_exporter, logger_provider, log_exporter):
    """EVENT_ONLY with the event forced off: no event, and the content goes nowhere."""
    llmmeter.configure(capture_content="EVENT_ONLY", emit_events=False)
    ask(fakes.Reply(fakes.chat_completion(content="the-completion")), tracer_provider, logger_provider)
    assert inference_events(log_exporter) == []
    [span] = llm_spans(span_exporter.get_finished_spans())
    assert "the-prompt" not in span.to_json()


def test_the_redact_hook_applies_to_event_content(tracer_provider, logger_provider, log_exporter):
    """The redact hook sees event content as it sees span content; None drops it."""
    llmmeter.configure(
        capture_content="EVENT_ONLY",
        redact=lambda value: None if isinstance(value, list) and value and "parts" not in value[0] else value,
    )
    ask(fakes.Reply(fakes.chat_completion(content="the-completion")), tracer_provider, logger_provider)
    [event] = inference_events(log_exporter)
    assert "gen_ai.system_instructions" not in event.attributes  # a list of parts: dropped
    assert "gen_ai.tool.definitions" not in event.attributes
    assert plain(event.attributes["gen_ai.input.messages"])[0]["parts"][0]["content"] == "the-prompt"


def test_a_stream_writes_its_event_when_it_ends(
    tracer_provider, span_exporter, logger_provider, log_exporter
):
    """A streamed call's event is written when the stream ends, with the stream's usage, cost and text."""
    llmmeter.configure(capture_content="EVENT_ONLY")
    stream = ask(
        fakes.Reply(chunks=fakes.chat_stream(words=2)),
        tracer_provider,
        logger_provider,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks
    [event] = inference_events(log_exporter)
    [span] = llm_spans(span_exporter.get_finished_spans())
    assert event.span_id == span.context.span_id
    assert event.attributes["gen_ai.request.stream"] is True
    assert event.attributes["gen_ai.usage.output_tokens"] == 20
    assert event.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(ONE_CALL_COST))
    [message] = plain(event.attributes["gen_ai.output.messages"])
    assert message["parts"] == [{"type": "text", "content": "word0 word1 "}]


def test_langchain_run_writes_one_event(tracer_provider, logger_provider, log_exporter):
    """A ChatOpenAI run under the handler writes one event with its usage, cost and messages."""
    llmmeter.configure(capture_content="EVENT_ONLY")
    handler = LLMMeterCallbackHandler(tracer_provider=tracer_provider, logger_provider=logger_provider)
    model = chat_openai(httpx2.MockTransport(fakes.mock_handler(httpx2, FakeOpenAI())))
    model.invoke("the-prompt", config={"callbacks": [handler]})
    [event] = inference_events(log_exporter)
    assert event.attributes["llmmeter.capture"] == "langchain"
    assert event.attributes["gen_ai.usage.input_tokens"] == 100
    assert event.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(ONE_CALL_COST))
    [message] = plain(event.attributes["gen_ai.input.messages"])
    assert message["parts"] == [{"type": "text", "content": "the-prompt"}]


def test_langchain_over_a_metered_client_writes_one_event(tracer_provider, logger_provider, log_exporter):
    """A run whose HTTP call is metered too is one event, written by the call that carries the cost."""
    llmmeter.configure(emit_events=True)
    providers = {"tracer_provider": tracer_provider, "logger_provider": logger_provider}
    handler = LLMMeterCallbackHandler(**providers)
    transport = httpx2.MockTransport(fakes.mock_handler(httpx2, FakeOpenAI()))
    model = chat_openai(transport, metered=True, providers=providers)
    model.invoke("the-prompt", config={"callbacks": [handler]})
    [event] = inference_events(log_exporter)
    assert event.attributes["llmmeter.capture"] == "http"
    assert event.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(ONE_CALL_COST))


@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager")
def test_realtime_response_writes_an_event(tracer_provider, meter_provider, logger_provider, log_exporter):
    """Each Realtime response is one event with the session id, its usage, its cost and its transcript."""
    llmmeter.configure(capture_content="EVENT_ONLY")
    llmmeter.instrument(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        integrations=False,
    )
    # gpt-realtime: $4.00 text input, $16.00 text output per 1M (https://openai.com/api/pricing/).
    usage = {
        "total_tokens": 130,
        "input_tokens": 100,
        "output_tokens": 30,
        "input_token_details": {"text_tokens": 100, "audio_tokens": 0, "cached_tokens": 0},
        "output_token_details": {"text_tokens": 30, "audio_tokens": 0},
    }
    cost = (100 * Decimal("4.00") + 30 * Decimal("16.00")) / M
    try:
        with RealtimeServer() as server:
            server.turns.append(Turn(usage))
            api = openai.OpenAI(api_key="sk-test", base_url=server.http_url)
            with api.realtime.connect(model="gpt-realtime") as connection:
                connection.response.create()
                for event in connection:
                    if event.type == "response.done":
                        break
                [event] = inference_events(log_exporter)
    finally:
        llmmeter.uninstrument()
    assert event.attributes["llmmeter.capture"] == "realtime"
    assert event.attributes["gen_ai.conversation.id"] == "sess_test1"
    assert event.attributes["gen_ai.usage.output_tokens"] == 30
    assert event.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(cost))
    [message] = plain(event.attributes["gen_ai.output.messages"])
    assert message == {
        "role": "assistant",
        "parts": [{"type": "text", "content": "Hello Hello "}],
        "finish_reason": "stop",
    }


@pytest.mark.parametrize("value", ["EVERYTHING", 1, None.__class__])
def test_an_unknown_capture_mode_is_a_configuration_error(value):
    """configure(capture_content=...) takes a bool or one of the four modes, any case."""
    with pytest.raises(ConfigurationError, match="SPAN_AND_EVENT"):
        llmmeter.configure(capture_content=value)


def test_emit_events_takes_a_bool():
    """configure(emit_events=...) takes True or False."""
    with pytest.raises(ConfigurationError, match="emit_events"):
        llmmeter.configure(emit_events="yes")  # type: ignore[arg-type]


def test_anthropic_and_responses_tool_definitions_follow_the_schema(
    tracer_provider, logger_provider, log_exporter
):
    """Tools in Anthropic's form and in the Responses API's (hosted tools too) become the
    conventions' tool definitions on the event."""
    llmmeter.configure(capture_content="EVENT_ONLY")
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}

    def transport(reply: fakes.Reply) -> httpx2.Client:
        inner = httpx2.MockTransport(fakes.mock_handler(httpx2, reply))
        metered = llmmeter.MeteredTransport(
            inner, tracer_provider=tracer_provider, logger_provider=logger_provider
        )
        return httpx2.Client(transport=metered)

    claude = anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="https://api.anthropic.com",
        http_client=transport(fakes.Reply(fakes.anthropic_message())),
    )
    claude.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=10,
        messages=[{"role": "user", "content": "hi"}],
        tools=[{"name": "get_weather", "description": "The weather", "input_schema": schema}],
    )
    gpt = openai.OpenAI(
        api_key="sk-test",
        base_url="https://api.openai.com/v1",
        http_client=transport(fakes.Reply(fakes.responses_body())),
    )
    gpt.responses.create(
        model="gpt-5.4",
        input="hi",
        tools=[{"type": "function", "name": "get_weather", "parameters": schema}, {"type": "web_search"}],
    )
    first, second = inference_events(log_exporter)
    assert plain(first.attributes["gen_ai.tool.definitions"]) == [
        {"type": "function", "name": "get_weather", "description": "The weather", "parameters": schema}
    ]
    assert plain(second.attributes["gen_ai.tool.definitions"]) == [
        {"type": "function", "name": "get_weather", "parameters": schema},
        {"type": "web_search"},
    ]


def test_langchain_bound_tools_are_tool_definitions(tracer_provider, logger_provider, log_exporter):
    """Tools bound to a ChatOpenAI (bind_tools) reach the event as tool definitions."""
    llmmeter.configure(capture_content="EVENT_ONLY")
    handler = LLMMeterCallbackHandler(tracer_provider=tracer_provider, logger_provider=logger_provider)
    model = chat_openai(httpx2.MockTransport(fakes.mock_handler(httpx2, FakeOpenAI())))
    model.bind_tools([WEATHER_TOOL]).invoke("the-prompt", config={"callbacks": [handler]})
    [event] = inference_events(log_exporter)
    [definition] = plain(event.attributes["gen_ai.tool.definitions"])
    assert definition["name"] == "get_weather"
    assert definition["type"] == "function"
