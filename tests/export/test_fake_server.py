"""The demo's fake provider: real wire formats, usage that depends only on the request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from llmmeter._demo._server import FAIL_HEADER, FakeProviderServer, count_tokens


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    """A fake provider on a free loopback port."""
    with FakeProviderServer() as running:
        yield running


def post(server: FakeProviderServer, path: str, body: dict[str, Any], **headers: str) -> httpx2.Response:
    """POST JSON to the fake server, unmetered."""
    return httpx2.post(f"{server.url}{path}", json=body, headers=headers, timeout=5)


def events(response: httpx2.Response) -> list[Any]:
    """The JSON data of a server-sent event stream."""
    datas = [line[len("data: ") :] for line in response.text.splitlines() if line.startswith("data: ")]
    return [json.loads(data) for data in datas if data != "[DONE]"]


CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "How much is this call?"}]}


def test_usage_depends_only_on_the_request(server):
    """The same request reports the same usage every time: prompt tokens from its text."""
    first = post(server, "/v1/chat/completions", CHAT).json()
    second = post(server, "/v1/chat/completions", CHAT).json()
    assert first["usage"] == second["usage"]
    assert first["usage"]["prompt_tokens"] == count_tokens("How much is this call?") + 4
    assert first["model"] == "gpt-4o-mini-2024-07-18"


def test_stream_reports_usage_only_when_asked(server):
    """Like OpenAI, a streamed chat carries a usage chunk only with stream_options.include_usage."""
    plain = events(post(server, "/v1/chat/completions", {**CHAT, "stream": True}))
    asked = events(
        post(
            server,
            "/v1/chat/completions",
            {**CHAT, "stream": True, "stream_options": {"include_usage": True}},
        )
    )
    assert all(not chunk.get("usage") for chunk in plain)
    assert asked[-1]["choices"] == []
    assert asked[-1]["usage"]["completion_tokens"] > 0


def test_tools_get_a_tool_call_then_an_answer(server):
    """A request with tools gets a tool call; once the tool's result is sent back, a text answer."""
    tool = {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {}}}},
    }
    first = post(server, "/v1/chat/completions", {**CHAT, "tools": [tool]}).json()
    (call,) = first["choices"][0]["message"]["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert first["choices"][0]["finish_reason"] == "tool_calls"
    messages = [
        *CHAT["messages"],
        first["choices"][0]["message"],
        {"role": "tool", "tool_call_id": call["id"], "content": "sunny"},
    ]
    second = post(server, "/v1/chat/completions", {**CHAT, "messages": messages, "tools": [tool]}).json()
    assert "sunny" in second["choices"][0]["message"]["content"]


def test_reasoning_models_report_reasoning_inside_output(server):
    """gpt-5 models report reasoning tokens, included in their output tokens."""
    body = post(server, "/v1/responses", {"model": "gpt-5.4", "input": "hi"}).json()
    usage = body["usage"]
    assert usage["output_tokens_details"]["reasoning_tokens"] == 64
    assert usage["output_tokens"] > 64


def test_anthropic_cache_is_written_then_read(server):
    """A cache_control'd system prompt is a cache write on the first call and a cache read after."""
    system = [{"type": "text", "text": "x" * 400, "cache_control": {"type": "ephemeral"}}]
    body = {"model": "claude-sonnet-4-6", "max_tokens": 10, "system": system, "messages": CHAT["messages"]}
    first = post(server, "/v1/messages", body).json()["usage"]
    second = post(server, "/v1/messages", body).json()["usage"]
    assert (first["cache_creation_input_tokens"], first["cache_read_input_tokens"]) == (100, 0)
    assert (second["cache_creation_input_tokens"], second["cache_read_input_tokens"]) == (0, 100)


def test_anthropic_stream_ends_with_cumulative_output_tokens(server):
    """A streamed message starts with input usage and ends with the output count in message_delta."""
    body = {"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": CHAT["messages"], "stream": True}
    stream = events(post(server, "/v1/messages", body))
    assert stream[0]["type"] == "message_start"
    delta = next(event for event in stream if event["type"] == "message_delta")
    assert delta["usage"]["output_tokens"] > 1
    assert stream[-1]["type"] == "message_stop"


def test_fail_header_answers_with_a_provider_error(server):
    """The x-fake-status header makes the server fail in the provider's error format."""
    response = post(server, "/v1/chat/completions", CHAT, **{FAIL_HEADER: "503"})
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "server_error"


def test_embeddings_count_every_input(server):
    """Embeddings return one vector per input and count the tokens of all of them."""
    body = post(
        server, "/v1/embeddings", {"model": "text-embedding-3-small", "input": ["abcd", "efgh"]}
    ).json()
    assert len(body["data"]) == 2
    assert body["usage"]["prompt_tokens"] == 2
