"""The Responses API's ``image_generation`` tool: its ``image_generation_call`` output item reports
no usage, but the response's ``tool_usage.image_gen`` does; it is billed at the image model's rates
and added to the call's cost.

Rates, USD per 1M tokens, from OpenAI's API pricing page: gpt-4.1-mini input $0.40, output $1.60;
gpt-image-1.5 text input $5.00, image output $32.00.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from llmmeter._providers._images import from_openai_images
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans

M = Decimal(1_000_000)
MAIN = (1_000 * Decimal("0.40") + 100 * Decimal("1.60")) / M
TOOL = (50 * Decimal("5.00") + 4_160 * Decimal("32.00")) / M


def response_with_image(tool_model: str | None, image_bytes: int = 2_000_000) -> dict[str, Any]:
    body = fakes.responses_body(model="gpt-4.1-mini-2025-04-14", input_tokens=1_000, output_tokens=100)
    usage = body.pop("usage")
    tool: dict[str, Any] = {"type": "image_generation", "quality": "high", "size": "1024x1024"}
    if tool_model is not None:
        tool["model"] = tool_model
    image_call = {
        "id": "ig_1",
        "type": "image_generation_call",
        "status": "completed",
        "result": base64.b64encode(b"\x89PNG" + b"\x00" * image_bytes).decode(),
    }
    body["output"] = [image_call, *body["output"]]
    body["tools"] = [tool]
    body["tool_usage"] = {
        "image_gen": {
            "input_tokens": 50,
            "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
            "output_tokens": 4_160,
            "total_tokens": 4_210,
        },
        "web_search": {"num_requests": 0},
    }
    body["usage"] = usage
    return body


def test_image_tool_usage_is_priced_at_the_image_model_rates(server, make_client, span_exporter):
    """A 2.7 MB response (read by its ends): the model's tokens plus the tool's image tokens."""
    server.reply = fakes.Reply(response_with_image("gpt-image-1.5"))
    client = make_client()

    with record_calls() as calls:
        client.responses.create(
            model="gpt-4.1-mini",
            input="draw a fox",
            tools=[{"type": "image_generation", "model": "gpt-image-1.5", "quality": "high"}],
        )

    (call,) = calls
    assert call.cost.total == MAIN + TOOL
    assert call.cost.status == "ok"
    assert call.cost.components["image_generation_output_image"] == 4_160 * Decimal("32.00") / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["llmmeter.request.image_generation.model"] == "gpt-image-1.5"
    assert span.attributes["gen_ai.usage.input_tokens"] == 1_000  # the model's own tokens
    assert span.attributes["gen_ai.usage.cost.amount"] == float(MAIN + TOOL)


def test_streamed_response_takes_the_tool_model_from_the_echoed_tools(server, make_client):
    """Streamed, with no model named in the request: the tools the response echoes name it."""
    final = response_with_image("gpt-image-1.5", image_bytes=1000)
    created = {**final, "status": "in_progress", "output": [], "tool_usage": None}
    del created["usage"]
    events = [
        ("response.created", {"type": "response.created", "sequence_number": 0, "response": created}),
        ("response.completed", {"type": "response.completed", "sequence_number": 1, "response": final}),
    ]
    server.reply = fakes.Reply(chunks=fakes.sse(events))
    client = make_client()

    with record_calls() as calls:
        stream = client.responses.create(
            model="gpt-4.1-mini", input="draw", tools=[{"type": "image_generation"}], stream=True
        )
        for _ in stream:
            pass

    assert calls[0].cost.total == MAIN + TOOL


def test_unknown_image_model_leaves_the_cost_estimated(server, make_client):
    """An image tool whose model has no price: the model's part is kept, marked estimated."""
    server.reply = fakes.Reply(response_with_image("gpt-image-9-unreleased", image_bytes=1000))
    client = make_client()

    with record_calls() as calls:
        client.responses.create(model="gpt-4.1-mini", input="x", tools=[{"type": "image_generation"}])

    assert calls[0].cost.total == MAIN
    assert calls[0].cost.status == "estimated"


def test_zero_tool_usage_changes_nothing(server, make_client):
    """A response whose tool_usage counts nothing is priced as the model's own call, status ok."""
    body = fakes.responses_body(model="gpt-4.1-mini-2025-04-14", input_tokens=1_000, output_tokens=100)
    body["tool_usage"] = {
        "image_gen": {"input_tokens": 0, "input_tokens_details": {"text_tokens": 0, "image_tokens": 0},
                      "output_tokens": 0, "total_tokens": 0},
        "web_search": {"num_requests": 0},
    }  # fmt: skip
    server.reply = fakes.Reply(body)
    client = make_client()

    with record_calls() as calls:
        client.responses.create(model="gpt-4.1-mini", input="x")

    assert calls[0].cost.total == MAIN
    assert calls[0].cost.status == "ok"


def test_cached_tool_tokens_are_billed_once():
    """tool_usage.image_gen with cached text and image tokens: cached text at the cache rate, cached
    image tokens at the image input rate (no cached-image rate is known), nothing billed twice."""
    usage = from_openai_images(
        {
            "input_tokens": 300,
            "input_tokens_details": {"text_tokens": 100, "image_tokens": 200},
            "cached_tokens": 150,
            "cached_tokens_details": {"cached_text_tokens": 50, "cached_image_tokens": 100},
            "output_tokens": 1_000,
            "total_tokens": 1_300,
        }
    )

    assert (usage.input_tokens, usage.cache_read_tokens, usage.input_image_tokens) == (300, 50, 200)
    assert usage.output_image_tokens == 1_000
