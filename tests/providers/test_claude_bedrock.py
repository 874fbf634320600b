"""Claude on Bedrock through the anthropic SDK's AnthropicBedrock (InvokeModel over httpx2)."""

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
# Claude Sonnet 4.5 on Bedrock: global cross-region profiles $3 input / $0.30 cache read / $3.75
# cache write / $15 output per 1M; regional and geographic (us., eu., in-region) endpoints 10% more:
# $3.30 / $0.33 / $4.125 / $16.50. https://aws.amazon.com/bedrock/pricing/ (Anthropic),
# https://platform.claude.com/docs/en/about-claude/pricing (Third-party platform pricing).
GLOBAL_IN, GLOBAL_OUT = Decimal("3"), Decimal("15")
REGIONAL_IN, REGIONAL_READ, REGIONAL_OUT = Decimal("3.30"), Decimal("0.33"), Decimal("16.50")
MODEL = "claude-sonnet-4-5-20250929"
ACCESS_KEY, SECRET_KEY, SESSION_TOKEN = "AKIDSECRET0123456789", "aws-secret-key-xyz", "SESSIONSECRETTOKEN42"
MESSAGES = [{"role": "user", "content": "hi"}]


def handler(method: str, path: str, body: bytes) -> fakes.Reply:
    """Bedrock's answers: 403 for a model named ``denied``, a stream or a message otherwise."""
    if "denied" in path:
        return fakes.Reply({"message": "User is not authorized to perform: bedrock:InvokeModel"}, status=403)
    if path.endswith("/invoke-with-response-stream"):
        chunks = wire.bedrock_stream(model=MODEL, input_tokens=120, output_tokens=30, cache_read=1000)
        if "throttled" in path:
            chunks = [*chunks[:4], wire.exception("throttlingException", "Too many requests")]
        return fakes.Reply(chunks=chunks, headers={"content-type": wire.EVENT_STREAM})
    return fakes.Reply(
        fakes.anthropic_message(model=MODEL, input_tokens=120, output_tokens=30, cache_read=1000)
    )


def bedrock(server: fakes.LoopbackServer, http: Any, **options: Any) -> anthropic.AnthropicBedrock:
    """The real SDK client, signing with SigV4 (botocore), pointed at the loopback server."""
    return anthropic.AnthropicBedrock(
        aws_access_key=ACCESS_KEY,
        aws_secret_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN,
        aws_region="us-east-1",
        base_url=server.url,
        http_client=http,
        max_retries=0,
        **options,
    )


def test_geographic_profile_is_priced_at_regional_rates(httpx2_client, span_exporter):
    """A ``us.`` profile is billed 10% above global; the span keeps the id the app asked for."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        message = bedrock(server, httpx2_client).messages.create(
            model=f"us.anthropic.{MODEL}-v1:0", max_tokens=64, messages=MESSAGES
        )

    assert message.content[0].text == "Hello from Claude"
    (record,) = calls
    assert record.cost.total == (120 * REGIONAL_IN + 1000 * REGIONAL_READ + 30 * REGIONAL_OUT) / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.name == f"chat us.anthropic.{MODEL}-v1:0"
    assert span.attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert span.attributes["gen_ai.request.model"] == f"us.anthropic.{MODEL}-v1:0"
    assert span.attributes["gen_ai.response.model"] == MODEL
    assert span.attributes["gen_ai.usage.input_tokens"] == 1120
    assert span.attributes["llmmeter.pricing.model"] == f"regional.anthropic.{MODEL}-v1:0"
    assert "gen_ai.request.stream" not in span.attributes


def test_global_profile_stream_is_priced_at_global_rates(httpx2_client, span_exporter):
    """A streamed ``global.`` profile: event-stream chunks read as the caller reads them, global rates."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls, llmmeter.track() as spend:
        client = bedrock(server, httpx2_client)
        with client.messages.stream(
            model=f"global.anthropic.{MODEL}-v1:0", max_tokens=64, messages=MESSAGES
        ) as s:
            text = "".join(s.text_stream)

    assert text == "Hello"
    (record,) = calls
    assert (record.ending, record.cost.status, record.stream) == ("complete", "ok", True)
    expected = (120 * GLOBAL_IN + 1000 * Decimal("0.30") + 30 * GLOBAL_OUT) / M
    assert record.cost.total == expected
    assert (spend.cost_usd, spend.calls, spend.input_tokens, spend.output_tokens) == (expected, 1, 1120, 30)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(expected))
    assert span.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)


async def test_async_client_stream_is_metered(metered):
    """AsyncAnthropicBedrock over an AsyncMeteredTransport: one priced record per streamed call."""
    transport = llmmeter.AsyncMeteredTransport(httpx2.AsyncHTTPTransport(), **metered)
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        async with httpx2.AsyncClient(transport=transport) as http:
            client = anthropic.AsyncAnthropicBedrock(
                aws_access_key=ACCESS_KEY,
                aws_secret_key=SECRET_KEY,
                aws_region="eu-west-1",
                base_url=server.url,
                http_client=http,
            )
            stream = await client.messages.create(
                model=f"eu.anthropic.{MODEL}-v1:0", max_tokens=64, messages=MESSAGES, stream=True
            )
            kinds = [event.type async for event in stream]

    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    (record,) = calls
    assert record.cost.total == (120 * REGIONAL_IN + 1000 * REGIONAL_READ + 30 * REGIONAL_OUT) / M


def test_inference_profile_arn_is_priced_by_the_model_it_names(httpx2_client, span_exporter):
    """An inference-profile ARN (URL-encoded in the path) is priced by the profile it names."""
    arn = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.{MODEL}-v1:0"
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        bedrock(server, httpx2_client).messages.create(model=arn, max_tokens=64, messages=MESSAGES)
        path = server.requests[0][1]

    assert "%2F" in path  # the SDK encodes the ARN's slash
    (record,) = calls
    assert record.cost.total == (120 * GLOBAL_IN + 1000 * Decimal("0.30") + 30 * GLOBAL_OUT) / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.request.model"] == arn


def test_stream_closed_early_is_recorded_once_as_estimated(httpx2_client):
    """A stream the caller leaves after its first text is closed early; its usage is partial."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        client = bedrock(server, httpx2_client)
        with client.messages.stream(
            model=f"us.anthropic.{MODEL}-v1:0", max_tokens=64, messages=MESSAGES
        ) as s:
            next(iter(s.text_stream))

    (record,) = calls
    assert (record.ending, record.cost.status) == ("closed_early", "estimated")
    assert record.usage.input_tokens == 1120


def test_exception_in_the_stream_sets_error_type_and_reaches_the_caller(httpx2_client, span_exporter):
    """A ``throttlingException`` message mid-stream: the SDK raises its own error, the span says which."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        client = bedrock(server, httpx2_client)
        with pytest.raises(anthropic.APIStatusError, match="Too many requests"):
            with client.messages.stream(
                model=f"us.anthropic.{MODEL}-v1:0-throttled", max_tokens=64, messages=MESSAGES
            ) as s:
                "".join(s.text_stream)

    (record,) = calls
    assert record.error_type == "throttlingException"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["error.type"] == "throttlingException"


def test_denied_call_keeps_the_sdk_error_and_records_its_status(httpx2_client, span_exporter):
    """A 403: the caller gets the SDK's PermissionDeniedError; the record says 403 and costs nothing."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        with pytest.raises(anthropic.PermissionDeniedError):
            bedrock(server, httpx2_client).messages.create(model="denied", max_tokens=8, messages=MESSAGES)

    (record,) = calls
    assert (record.error_type, record.cost.total) == ("403", None)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["error.type"] == "403"


def test_sigv4_credentials_never_reach_telemetry(httpx2_client, span_exporter, metric_reader):
    """The SigV4 Authorization header and the session token are sent, and never exported."""
    with fakes.LoopbackServer(handler) as server:
        client = bedrock(server, httpx2_client)
        client.messages.create(model=f"us.anthropic.{MODEL}-v1:0", max_tokens=8, messages=MESSAGES)
        with pytest.raises(anthropic.PermissionDeniedError):
            client.messages.create(model="denied", max_tokens=8, messages=MESSAGES)
        headers = server.requests[0][3]

    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=" + ACCESS_KEY)
    assert headers["X-Amz-Security-Token"] == SESSION_TOKEN
    spans = span_exporter.get_finished_spans()
    exported = json.dumps([span.to_json() for span in spans]) + metric_reader.get_metrics_data().to_json()
    for secret in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, headers["Authorization"].rsplit("=", 1)[-1]):
        assert secret not in exported


def test_sdk_bedrock_span_carries_the_cost_once(httpx2_client, tracer_provider, span_exporter):
    """The SDK's own span (scope ``com.anthropic.sdk.python.bedrock``) gets the cost; ours defers to it."""
    with fakes.LoopbackServer(handler) as server:
        client = bedrock(server, httpx2_client, open_telemetry={"tracer_provider": tracer_provider})
        client.messages.create(model=f"us.anthropic.{MODEL}-v1:0", max_tokens=8, messages=MESSAGES)

    spans = span_exporter.get_finished_spans()
    (ours,) = llm_spans(spans)
    (theirs,) = [s for s in spans if s.instrumentation_scope.name == "com.anthropic.sdk.python.bedrock"]
    assert ours.parent.span_id == theirs.context.span_id
    expected = (120 * REGIONAL_IN + 1000 * REGIONAL_READ + 30 * REGIONAL_OUT) / M
    assert theirs.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(expected))
    assert ours.attributes["llmmeter.counted_by"] == "parent"
    assert "gen_ai.usage.cost.amount" not in ours.attributes
    costs = [s.attributes.get("gen_ai.usage.cost.amount") for s in spans]
    assert sum(cost for cost in costs if cost is not None) == pytest.approx(float(expected))


def test_credentials_quoted_in_a_transport_error_are_not_exported(metered, span_exporter):
    """An error below the metered transport that quotes the signed headers reaches the SDK untouched;
    the span's exception event has the session token and the signature replaced."""
    quoted: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        signed = request.headers
        headers = f"authorization={signed['authorization']} token={signed['x-amz-security-token']}"
        quoted.append(headers)
        raise httpx2.ConnectError(f"proxy refused request with {headers}", request=request)

    transport = llmmeter.MeteredTransport(httpx2.MockTransport(handler), **metered)
    with httpx2.Client(transport=transport) as http:
        client = anthropic.AnthropicBedrock(
            aws_access_key=ACCESS_KEY,
            aws_secret_key=SECRET_KEY,
            aws_session_token=SESSION_TOKEN,
            aws_region="us-east-1",
            http_client=http,
            max_retries=0,
        )
        with pytest.raises(anthropic.APIConnectionError) as raised:
            client.messages.create(model=f"us.anthropic.{MODEL}-v1:0", max_tokens=8, messages=MESSAGES)

    assert SESSION_TOKEN in str(raised.value.__cause__)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["error.type"] == "ConnectError"
    exported = span.to_json()
    signature = quoted[0].split("Signature=", 1)[1].split(" ", 1)[0]
    assert SESSION_TOKEN not in exported
    assert signature not in exported
