"""Claude on Vertex AI through the anthropic SDK's AnthropicVertex (rawPredict over httpx2)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import pytest

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans
from tests.providers import wire

M = Decimal(1_000_000)
# Claude Sonnet 4.5 on Vertex AI: the global endpoint $3 input / $15 output per 1M tokens; a
# regional endpoint (us-east5) 10% more, $3.30 / $16.50.
# https://platform.claude.com/docs/en/build-with-claude/claude-on-vertex-ai (Global vs regional endpoints),
# https://cloud.google.com/vertex-ai/generative-ai/pricing (Anthropic's Claude models).
GLOBAL_IN, GLOBAL_OUT = Decimal("3"), Decimal("15")
REGIONAL_IN, REGIONAL_OUT = Decimal("3.30"), Decimal("16.50")
MODEL = "claude-sonnet-4-5@20250929"
REPORTED = "claude-sonnet-4-5-20250929"
TOKEN = "ya29.SECRET-vertex-access-token"
MESSAGES = [{"role": "user", "content": "hi"}]


def handler(method: str, path: str, body: bytes) -> fakes.Reply:
    """Vertex's answers: 403 for project ``denied``, Anthropic's stream or message otherwise."""
    if "/projects/denied/" in path:
        error = {
            "error": {
                "code": 403,
                "message": "Permission denied on resource project denied.",
                "status": "PERMISSION_DENIED",
            }
        }
        return fakes.Reply(error, status=403)
    if path.endswith(":streamRawPredict"):
        events = wire.anthropic_events(model=REPORTED, input_tokens=200, output_tokens=40)
        return fakes.Reply(chunks=wire.sse_stream(events))
    return fakes.Reply(fakes.anthropic_message(model=REPORTED, input_tokens=200, output_tokens=40))


def vertex(
    server: fakes.LoopbackServer, http: Any, region: str = "us-east5", project: str = "proj", **options: Any
):
    """The real SDK client, with an access token (no Google credentials lookup), at the loopback server."""
    return anthropic.AnthropicVertex(
        region=region,
        project_id=project,
        access_token=TOKEN,
        base_url=f"{server.url}/v1",
        http_client=http,
        max_retries=0,
        **options,
    )


def test_regional_endpoint_is_priced_above_global(httpx2_client, span_exporter):
    """At ``us-east5`` Sonnet 4.5 costs 10% more; the model comes from the URL."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        vertex(server, httpx2_client).messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
        path = server.requests[0][1]

    assert path == f"/v1/projects/proj/locations/us-east5/publishers/anthropic/models/{MODEL}:rawPredict"
    (record,) = calls
    assert record.cost.total == (200 * REGIONAL_IN + 40 * REGIONAL_OUT) / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.name == f"chat {MODEL}"
    assert span.attributes["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert span.attributes["gen_ai.request.model"] == MODEL
    assert span.attributes["gen_ai.response.model"] == REPORTED
    assert span.attributes["llmmeter.pricing.model"] == "regional.claude-sonnet-4-5"


def test_global_endpoint_stream_is_priced_at_global_rates(httpx2_client, span_exporter):
    """``streamRawPredict`` at the ``global`` location: SSE read as it streams, global rates."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls, llmmeter.track() as spend:
        client = vertex(server, httpx2_client, region="global")
        with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
            text = "".join(stream.text_stream)

    assert text == "Hello"
    (record,) = calls
    expected = (200 * GLOBAL_IN + 40 * GLOBAL_OUT) / M
    assert (record.ending, record.stream, record.cost.total) == ("complete", True, expected)
    assert (spend.cost_usd, spend.calls) == (expected, 1)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(expected))


async def test_async_client_is_metered(metered):
    """AsyncAnthropicVertex over an AsyncMeteredTransport prices the call."""
    transport = llmmeter.AsyncMeteredTransport(httpx2.AsyncHTTPTransport(), **metered)
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        async with httpx2.AsyncClient(transport=transport) as http:
            client = anthropic.AsyncAnthropicVertex(
                region="europe-west1",
                project_id="proj",
                access_token=TOKEN,
                base_url=f"{server.url}/v1",
                http_client=http,
            )
            await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)

    (record,) = calls
    assert record.cost.total == (200 * REGIONAL_IN + 40 * REGIONAL_OUT) / M


def test_stream_closed_early_is_recorded_once(httpx2_client):
    """A stream left after its first text is recorded once, closed early and estimated."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        with vertex(server, httpx2_client).messages.stream(
            model=MODEL, max_tokens=64, messages=MESSAGES
        ) as stream:
            next(iter(stream.text_stream))

    (record,) = calls
    assert (record.ending, record.cost.status) == ("closed_early", "estimated")


def test_permission_denied_keeps_the_sdk_error(httpx2_client, span_exporter):
    """A 403: the caller gets the SDK's own PermissionDeniedError; the span says 403."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        with pytest.raises(anthropic.PermissionDeniedError, match="Permission denied"):
            vertex(server, httpx2_client, project="denied").messages.create(
                model=MODEL, max_tokens=8, messages=MESSAGES
            )

    (record,) = calls
    assert record.error_type == "403"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["error.type"] == "403"


def test_bearer_token_never_reaches_telemetry(httpx2_client, span_exporter, metric_reader):
    """The access token is sent as a Bearer token and never exported, on success or failure."""
    with fakes.LoopbackServer(handler) as server:
        vertex(server, httpx2_client).messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
        with pytest.raises(anthropic.PermissionDeniedError):
            vertex(server, httpx2_client, project="denied").messages.create(
                model=MODEL, max_tokens=8, messages=MESSAGES
            )
        headers = server.requests[0][3]

    assert headers["Authorization"] == f"Bearer {TOKEN}"
    spans = span_exporter.get_finished_spans()
    exported = json.dumps([span.to_json() for span in spans]) + metric_reader.get_metrics_data().to_json()
    assert "SECRET-vertex" not in exported


def test_count_tokens_is_not_a_call(httpx2_client, span_exporter):
    """``count-tokens:rawPredict`` counts a prompt: no span, no record."""

    def counting(method: str, path: str, body: bytes) -> fakes.Reply:
        return fakes.Reply({"input_tokens": 12})

    with fakes.LoopbackServer(counting) as server, record_calls() as calls:
        vertex(server, httpx2_client).messages.count_tokens(model=MODEL, messages=MESSAGES)

    assert calls == []
    assert llm_spans(span_exporter.get_finished_spans()) == []


def test_sdk_vertex_span_carries_the_cost_once(httpx2_client, tracer_provider, span_exporter):
    """The SDK's own span (scope ``com.anthropic.sdk.python.vertex``) gets the cost; ours defers to it."""
    with fakes.LoopbackServer(handler) as server:
        client = vertex(server, httpx2_client, open_telemetry={"tracer_provider": tracer_provider})
        client.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)

    spans = span_exporter.get_finished_spans()
    (ours,) = llm_spans(spans)
    (theirs,) = [s for s in spans if s.instrumentation_scope.name == "com.anthropic.sdk.python.vertex"]
    assert ours.parent.span_id == theirs.context.span_id
    expected = (200 * REGIONAL_IN + 40 * REGIONAL_OUT) / M
    assert theirs.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(expected))
    assert ours.attributes["llmmeter.counted_by"] == "parent"
    costs = [s.attributes.get("gen_ai.usage.cost.amount") for s in spans]
    assert sum(cost for cost in costs if cost is not None) == pytest.approx(float(expected))
