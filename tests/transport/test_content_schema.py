"""Captured content follows the conventions' message schema (role and parts, finish_reason on output
messages, system prompts in gen_ai.system_instructions), whatever the provider's own shape.

Real openai and anthropic SDK clients through MeteredTransport over httpx2.MockTransport.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import openai
import pytest

import llmmeter
from tests import fakes
from tests.otel import llm_spans


@pytest.fixture(autouse=True)
def _capture() -> None:
    llmmeter.configure(capture_content=True)


def transport(reply: fakes.Reply, tracer_provider: Any, meter_provider: Any) -> llmmeter.MeteredTransport:
    return llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, reply)),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )


def openai_client(reply: fakes.Reply, tracer_provider: Any, meter_provider: Any) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-test",
        base_url="https://api.openai.com/v1",
        http_client=httpx2.Client(transport=transport(reply, tracer_provider, meter_provider)),
    )


def anthropic_client(reply: fakes.Reply, tracer_provider: Any, meter_provider: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="https://api.anthropic.com",
        http_client=httpx2.Client(transport=transport(reply, tracer_provider, meter_provider)),
    )


def content(span: Any, name: str) -> Any:
    return json.loads(span.attributes[name])


def test_openai_chat_messages_follow_the_schema(tracer_provider, meter_provider, span_exporter):
    """System and developer messages become system instructions; user, assistant tool calls and
    tool results become messages of parts; the choice is an output message with its finish reason."""
    client = openai_client(
        fakes.Reply(fakes.chat_completion(content="Sunny.")), tracer_provider, meter_provider
    )

    client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21C"},
        ],
    )

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert content(span, "gen_ai.system_instructions") == [{"type": "text", "content": "Be brief."}]
    assert content(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "sunny, 21C"}]},
    ]
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Sunny."}], "finish_reason": "stop"}
    ]


def test_openai_chat_tool_call_output(tracer_provider, meter_provider, span_exporter):
    """A choice that calls a tool is an output message with a tool_call part and finish_reason tool_call."""
    body = fakes.chat_completion(tool_call={"name": "get_weather", "arguments": {"city": "Paris"}})
    client = openai_client(fakes.Reply(body), tracer_provider, meter_provider)

    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Weather?"}])

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert content(span, "gen_ai.output.messages") == [
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
            ],
            "finish_reason": "tool_call",
        }
    ]
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)


def test_openai_chat_stream_assembles_text_from_deltas(tracer_provider, meter_provider, span_exporter):
    """A streamed completion's text is assembled from its deltas into one output message."""
    chunks = fakes.chat_stream(words=3)
    client = openai_client(fakes.Reply(chunks=chunks), tracer_provider, meter_provider)

    for _ in client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    ):
        pass

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert content(span, "gen_ai.output.messages") == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "word0 word1 word2 "}],
            "finish_reason": "stop",
        }
    ]


def test_openai_responses_follow_the_schema(tracer_provider, meter_provider, span_exporter):
    """Responses: instructions are system instructions, input items messages, output items parts."""
    client = openai_client(fakes.Reply(fakes.responses_body()), tracer_provider, meter_provider)

    client.responses.create(model="gpt-5.4", instructions="Be brief.", input="Say hello")

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert content(span, "gen_ai.system_instructions") == [{"type": "text", "content": "Be brief."}]
    assert content(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}
    ]
    (message,) = content(span, "gen_ai.output.messages")
    assert message["role"] == "assistant"
    assert message["finish_reason"] == "stop"
    assert [part["type"] for part in message["parts"]] == ["text"]


def test_anthropic_messages_follow_the_schema(tracer_provider, meter_provider, span_exporter):
    """Anthropic: system is system instructions, tool_use and tool_result blocks are tool parts,
    end_turn is the finish reason stop."""
    client = anthropic_client(fakes.Reply(fakes.anthropic_message()), tracer_provider, meter_provider)

    client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=100,
        system="Be brief.",
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {"city": "Paris"}}
                ],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu_1", "content": "sunny"}]},
        ],
    )

    spans = llm_spans(span_exporter.get_finished_spans())
    span = next(s for s in spans if s.instrumentation_scope.name == "llmmeter")
    assert content(span, "gen_ai.system_instructions") == [{"type": "text", "content": "Be brief."}]
    assert content(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "tu_1", "name": "get_weather", "arguments": {"city": "Paris"}}
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "tu_1", "response": "sunny"}]},
    ]
    assert content(span, "gen_ai.output.messages") == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello from Claude"}],
            "finish_reason": "stop",
        }
    ]


def test_anthropic_stream_assembles_text_from_deltas(tracer_provider, meter_provider, span_exporter):
    """A streamed Anthropic message's text comes from its text deltas, with its stop reason."""
    client = anthropic_client(fakes.Reply(chunks=fakes.anthropic_stream()), tracer_provider, meter_provider)

    with client.messages.stream(
        model="claude-sonnet-4-6", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        stream.until_done()

    spans = llm_spans(span_exporter.get_finished_spans())
    span = next(s for s in spans if s.instrumentation_scope.name == "llmmeter")
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hello"}], "finish_reason": "stop"}
    ]


def test_no_content_without_opt_in(tracer_provider, meter_provider, span_exporter):
    """With capture off (the default), no content attribute is written, system instructions included."""
    llmmeter.configure(capture_content=False)
    client = openai_client(fakes.Reply(fakes.chat_completion()), tracer_provider, meter_provider)

    client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
    )

    (span,) = llm_spans(span_exporter.get_finished_spans())
    for name in ("gen_ai.system_instructions", "gen_ai.input.messages", "gen_ai.output.messages"):
        assert name not in span.attributes


def test_openai_responses_stream_assembles_text_from_deltas(tracer_provider, meter_provider, span_exporter):
    """A Responses stream cut after its text deltas (no response.completed) still has their text,
    with the finish reason error."""
    chunks = fakes.responses_stream()[:-1]
    client = openai_client(fakes.Reply(chunks=chunks), tracer_provider, meter_provider)

    for _ in client.responses.create(model="gpt-5.4", input="Say hello", stream=True):
        pass

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hi there"}], "finish_reason": "error"}
    ]
