"""Converse and InvokeModel through a real boto3 client: usage, exact cost, errors, budgets, secrets.

Prices per 1M tokens from aws.amazon.com/bedrock/pricing (Anthropic, Claude Sonnet 4.5): the global
cross-region inference profile costs $3.00 input, $15.00 output, $0.30 cache read, $3.75 cache
write; geographic (``us.``, ``eu.``, ``apac.``) profiles and in-region ids cost 10% more: $3.30,
$16.50, $0.33, $4.125. (The 10% regional premium over global, from Sonnet 4.5 / Haiku 4.5 / Opus 4.5
on, is also described at clauder-navi.com/en/bedrock-claude-cost/ and
sam.mehdi.consulting/posts/saving-money-on-bedrock-is-hard/.) Llama 3.3 70B: $0.72 in and out.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from opentelemetry import trace

import llmmeter
from llmmeter.testing import record_calls
from tests.bedrock.conftest import SECRET_KEY, SESSION_TOKEN
from tests.bedrock.server import Reply, converse_body
from tests.otel import llm_spans

SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Hi"}]}]
M = Decimal(1_000_000)
GLOBAL = {
    "input": Decimal("3.00"),
    "output": Decimal("15.00"),
    "read": Decimal("0.30"),
    "write": Decimal("3.75"),
}
REGIONAL = {
    "input": Decimal("3.30"),
    "output": Decimal("16.50"),
    "read": Decimal("0.33"),
    "write": Decimal("4.125"),
}


def expected(rates: dict[str, Decimal], uncached: int, output: int, read: int = 0, write: int = 0) -> Decimal:
    return (
        uncached * rates["input"] + output * rates["output"] + read * rates["read"] + write * rates["write"]
    ) / M


def only_span(span_exporter: Any) -> Any:
    spans = llm_spans(span_exporter.get_finished_spans())
    assert len(spans) == 1
    return spans[0]


def test_converse_cost_counts_cache_reads_and_writes_once(server, client, instrumented, span_exporter):
    """inputTokens excludes the cache: the span's input is their sum, and each part has its own rate."""
    server.reply = Reply(
        body=converse_body(input_tokens=100, output_tokens=50, cache_read=2000, cache_write=300)
    )
    with record_calls() as calls:
        response = client.converse(modelId=f"global.{SONNET}", messages=MESSAGES)
    assert response["usage"]["inputTokens"] == 100
    assert calls[0].cost.total == expected(GLOBAL, 100, 50, read=2000, write=300)
    attributes = only_span(span_exporter).attributes
    assert attributes["gen_ai.usage.input_tokens"] == 2400
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 2000
    assert attributes["gen_ai.usage.cache_creation.input_tokens"] == 300
    assert attributes["gen_ai.usage.output_tokens"] == 50
    assert attributes["gen_ai.usage.cost.amount"] == float(expected(GLOBAL, 100, 50, 2000, 300))


@pytest.mark.parametrize(
    ("model_id", "rates"),
    [
        (f"global.{SONNET}", GLOBAL),
        (f"us.{SONNET}", REGIONAL),
        (f"eu.{SONNET}", REGIONAL),
        (f"apac.{SONNET}", REGIONAL),
        (SONNET, REGIONAL),
        (f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.{SONNET}", GLOBAL),
        (f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{SONNET}", REGIONAL),
        (f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET}", REGIONAL),
    ],
)
def test_the_addressed_profile_sets_the_rate(model_id, rates, server, client, instrumented, span_exporter):
    """A global profile is priced at the global rate, geographic and in-region ids at theirs;
    gen_ai.request.model keeps what the app asked for."""
    server.reply = Reply(
        body=converse_body(input_tokens=1000, output_tokens=200, cache_read=500, cache_write=100)
    )
    with record_calls() as calls:
        client.converse(modelId=model_id, messages=MESSAGES)
    assert calls[0].cost.total == expected(rates, 1000, 200, read=500, write=100)
    span = only_span(span_exporter)
    assert span.attributes["gen_ai.request.model"] == model_id
    assert span.name == f"chat {model_id}"
    assert server.requests[0].model == model_id


def test_converse_span_describes_the_request_and_answer(server, client, instrumented, span_exporter):
    """Provider, operation, address, inferenceConfig, stop reason, latency and service tier."""
    server.reply = Reply(
        body=converse_body(stop_reason="max_tokens", extra={"serviceTier": {"type": "flex"}})
    )
    client.converse(
        modelId=f"us.{SONNET}",
        messages=MESSAGES,
        inferenceConfig={"maxTokens": 256, "temperature": 0.25, "topP": 0.9, "stopSequences": ["END"]},
    )
    attributes = only_span(span_exporter).attributes
    assert attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["llmmeter.capture"] == "botocore"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == int(server.url.rsplit(":", 1)[1])
    assert attributes["gen_ai.request.max_tokens"] == 256
    assert attributes["gen_ai.request.temperature"] == 0.25
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.stop_sequences"] == ("END",)
    assert attributes["gen_ai.response.finish_reasons"] == ("max_tokens",)
    assert attributes["llmmeter.bedrock.latency_ms"] == 321
    assert attributes["llmmeter.bedrock.service_tier"] == "flex"
    assert "gen_ai.request.stream" not in attributes


def test_a_client_made_before_instrument_is_metered(server, tracer_provider, meter_provider, client):
    """Patching the client class covers clients that already exist."""
    server.reply = Reply(body=converse_body())
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    try:
        with record_calls() as calls:
            client.converse(modelId=SONNET, messages=MESSAGES)
    finally:
        llmmeter.uninstrument()
    assert len(calls) == 1


def test_uninstrument_restores_the_client_class(server, client, tracer_provider):
    """After uninstrument() the class holds botocore's own method and nothing is recorded."""
    pristine = BaseClient.__dict__["_make_request"]
    llmmeter.instrument(tracer_provider=tracer_provider, integrations=False)
    assert BaseClient.__dict__["_make_request"] is not pristine
    llmmeter.uninstrument()
    assert BaseClient.__dict__["_make_request"] is pristine
    server.reply = Reply(body=converse_body())
    with record_calls() as calls:
        client.converse(modelId=SONNET, messages=MESSAGES)
    assert calls == []


def test_other_aws_services_pass_untouched(server, instrumented, span_exporter):
    """A control-plane ``bedrock`` client's call is not metered."""
    server.reply = Reply(body={"modelSummaries": []})
    other = boto3.client(
        "bedrock",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret-example-key",
    )
    with record_calls() as calls:
        assert other.list_foundation_models()["modelSummaries"] == []
    assert calls == []
    assert llm_spans(span_exporter.get_finished_spans()) == []


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "ThrottlingException"), (400, "ValidationException"), (503, "ServiceUnavailableException")],
)
def test_errors_carry_the_aws_error_code(status, code, server, client, instrumented, span_exporter):
    """The app gets botocore's own ClientError; the span says error.type = the AWS code."""
    server.reply = Reply(
        status=status, body={"message": "no"}, headers={"x-amzn-errortype": f"{code}:http://x/"}
    )
    with record_calls() as calls, pytest.raises(ClientError) as raised:
        client.converse(modelId=SONNET, messages=MESSAGES)
    assert type(raised.value) is getattr(client.exceptions, code)
    assert raised.value.response["Error"]["Code"] == code
    assert calls[0].error_type == code
    span = only_span(span_exporter)
    assert span.attributes["error.type"] == code
    assert span.status.status_code.name == "ERROR"


def test_invoke_model_claude_body_is_read_as_the_app_reads_it(server, client, instrumented, span_exporter):
    """Anthropic's body: cache reads and writes priced at the addressed profile's rates."""
    body = {
        "id": "msg_bdrk_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Hi"}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 40,
            "output_tokens": 60,
            "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 200,
        },
    }
    server.reply = Reply(body=body, headers={"x-amzn-bedrock-input-token-count": "40"})
    request = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 512,
        "messages": [],
        "temperature": 0.5,
    }
    with record_calls() as calls:
        response = client.invoke_model(modelId=f"global.{SONNET}", body=json.dumps(request))
        assert calls == []  # nothing read yet
        assert json.loads(response["body"].read()) == body
    assert calls[0].cost.total == expected(GLOBAL, 40, 60, read=1000, write=200)
    attributes = only_span(span_exporter).attributes
    assert attributes["gen_ai.request.model"] == f"global.{SONNET}"
    assert attributes["gen_ai.response.model"] == "claude-sonnet-4-5-20250929"
    assert attributes["gen_ai.response.id"] == "msg_bdrk_1"
    assert attributes["gen_ai.request.max_tokens"] == 512
    assert attributes["gen_ai.usage.input_tokens"] == 1240


def test_invoke_model_body_read_in_chunks(server, client, instrumented):
    """iter_chunks reads through the metered body: one record when it ends."""
    body = {
        "type": "message",
        "model": "claude",
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 7, "output_tokens": 9},
    }
    server.reply = Reply(body=body)
    with record_calls() as calls:
        response = client.invoke_model(
            modelId=SONNET, body=json.dumps({"anthropic_version": "x", "messages": []})
        )
        data = b"".join(response["body"].iter_chunks(chunk_size=5))
    assert json.loads(data) == body
    assert len(calls) == 1
    assert (calls[0].usage.input_tokens, calls[0].usage.output_tokens) == (7, 9)
    assert calls[0].cost.total == expected(REGIONAL, 7, 9)


def test_invoke_model_of_other_families_uses_the_token_count_headers(server, client, instrumented):
    """A Llama body says nothing of usage: the x-amzn-bedrock-*-token-count headers do."""
    server.reply = Reply(
        body={"generation": "Hi", "stop_reason": "stop"},
        headers={"x-amzn-bedrock-input-token-count": "1200", "x-amzn-bedrock-output-token-count": "300"},
    )
    with record_calls() as calls:
        response = client.invoke_model(
            modelId="us.meta.llama3-3-70b-instruct-v1:0",
            body=json.dumps({"prompt": "Hi", "max_gen_len": 300}),
        )
    assert len(calls) == 1  # finished before the app reads the body, which is left untouched
    assert json.loads(response["body"].read())["generation"] == "Hi"
    assert calls[0].cost.total == (1200 * Decimal("0.72") + 300 * Decimal("0.72")) / M


def test_budget_refuses_before_the_request_leaves(server, client, instrumented):
    """Once the budget is spent, the next call raises BudgetExceeded and never reaches the server."""
    server.reply = Reply(body=converse_body(input_tokens=1000, output_tokens=1000))
    with llmmeter.budget(usd="0.001"):
        client.converse(modelId=SONNET, messages=MESSAGES)
        with pytest.raises(llmmeter.BudgetExceeded):
            client.converse(modelId=SONNET, messages=MESSAGES)
    assert len(server.requests) == 1


def test_track_sums_bedrock_calls(server, client, instrumented):
    """track() sees the call's exact cost and tokens."""
    server.reply = Reply(body=converse_body(input_tokens=10, output_tokens=20, cache_read=30))
    with llmmeter.track() as spend:
        client.converse(modelId=f"global.{SONNET}", messages=MESSAGES)
    assert spend.cost_usd == expected(GLOBAL, 10, 20, read=30)
    assert (spend.input_tokens, spend.output_tokens, spend.calls) == (40, 20, 1)


def test_credentials_never_reach_telemetry(server, client, instrumented, span_exporter):
    """Neither the secret key, the session token nor the SigV4 signature appears on any span."""
    server.reply = Reply(
        status=429, body={"message": "slow"}, headers={"x-amzn-errortype": "ThrottlingException"}
    )
    with pytest.raises(ClientError):
        client.converse(modelId=SONNET, messages=MESSAGES)
    server.reply = Reply(body=converse_body())
    client.converse(modelId=SONNET, messages=MESSAGES)
    authorization = server.requests[0].headers["Authorization"]
    signature = authorization.rsplit("Signature=", 1)[1]
    assert server.requests[0].headers["X-Amz-Security-Token"] == SESSION_TOKEN
    written = repr(
        [
            (dict(s.attributes), [(e.name, dict(e.attributes)) for e in s.events])
            for s in span_exporter.get_finished_spans()
        ]
    )
    for secret in (SECRET_KEY, SESSION_TOKEN, signature, authorization):
        assert secret not in written


def test_one_hour_cache_writes_have_their_own_rate(server, client, instrumented):
    """cacheDetails splits the writes by TTL: 1-hour writes at $6.00 per 1M (global Sonnet 4.5),
    5-minute writes at $3.75."""
    body = converse_body(input_tokens=10, output_tokens=10, cache_write=1000)
    body["usage"]["cacheDetails"] = [{"ttl": "1h", "inputTokens": 600}, {"ttl": "5m", "inputTokens": 400}]
    server.reply = Reply(body=body)
    with record_calls() as calls:
        client.converse(modelId=f"global.{SONNET}", messages=MESSAGES)
    usage = calls[0].usage
    assert (usage.cache_write_tokens, usage.cache_write_1h_tokens, usage.input_tokens) == (400, 600, 1010)
    assert calls[0].cost.total == expected(GLOBAL, 10, 10, write=400) + 600 * Decimal("6.00") / M


def test_content_is_captured_in_the_conventions_schema_when_asked(
    server, client, instrumented, span_exporter
):
    """With content capture on: system, messages (text and tool results) and the answer's text."""
    llmmeter.configure(capture_content=True)
    server.reply = Reply(body=converse_body(text="Paris."))
    client.converse(
        modelId=SONNET,
        system=[{"text": "Be brief."}],
        messages=[
            {"role": "user", "content": [{"text": "Capital of France?"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "look", "input": {}}}]},
            {
                "role": "user",
                "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "Paris"}]}}],
            },
        ],
    )
    attributes = only_span(span_exporter).attributes
    assert json.loads(attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
    messages = json.loads(attributes["gen_ai.input.messages"])
    assert messages[0] == {"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]}
    assert messages[1]["parts"][0] == {"type": "tool_call", "id": "t1", "name": "look", "arguments": {}}
    assert messages[2] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "t1", "response": "Paris"}],
    }
    assert json.loads(attributes["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Paris."}], "finish_reason": "stop"}
    ]


def test_an_exception_quoting_credentials_is_recorded_without_them(
    server, client, instrumented, span_exporter
):
    """A handler below the call raises with the secret key and session token in its message: the app
    gets it unchanged, the span's exception event has them redacted."""

    def leaky(request: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"refused: key={SECRET_KEY} token={SESSION_TOKEN}")

    client.meta.events.register("before-send.bedrock-runtime.Converse", leaky)
    with pytest.raises(RuntimeError, match="refused") as raised:
        client.converse(modelId=SONNET, messages=MESSAGES)
    assert SECRET_KEY in str(raised.value)
    span = only_span(span_exporter)
    assert span.attributes["error.type"] == "RuntimeError"
    (event,) = span.events
    recorded = event.attributes["exception.message"] + event.attributes["exception.stacktrace"]
    assert "[REDACTED]" in recorded
    assert SECRET_KEY not in recorded
    assert SESSION_TOKEN not in recorded


def test_attributes_blocks_reach_the_bedrock_span(server, client, instrumented, span_exporter):
    """llmmeter.attributes() applies to botocore's calls as to any other capture point."""
    server.reply = Reply(body=converse_body())
    with llmmeter.attributes(tenant="acme"):
        client.converse(modelId=SONNET, messages=MESSAGES)
    assert only_span(span_exporter).attributes["tenant"] == "acme"


def test_an_invoke_model_body_closed_unread_is_recorded_with_the_header_counts(server, client, instrumented):
    """Closed before it was read: one record, closed early, the headers' counts priced as an estimate."""
    server.reply = Reply(
        body={"type": "message", "usage": {"input_tokens": 5, "output_tokens": 5}},
        headers={"x-amzn-bedrock-input-token-count": "5", "x-amzn-bedrock-output-token-count": "5"},
    )
    with record_calls() as calls:
        response = client.invoke_model(
            modelId=SONNET, body=json.dumps({"anthropic_version": "x", "messages": []})
        )
        response["body"].close()
        response["body"].close()
    assert [(call.ending, call.cost.status) for call in calls] == [("closed_early", "estimated")]
    assert calls[0].cost.total == expected(REGIONAL, 5, 5)


def test_the_calls_span_is_current_while_the_request_is_sent(server, client, instrumented, span_exporter):
    """What runs as botocore sends (a before-send handler here) sees llmmeter's span as the current one."""
    seen = []

    def spy(request: Any, **kwargs: Any) -> None:
        seen.append(trace.get_current_span().get_span_context().span_id)

    client.meta.events.register("before-send.bedrock-runtime.Converse", spy)
    server.reply = Reply(body=converse_body())
    client.converse(modelId=SONNET, messages=MESSAGES)
    assert seen == [only_span(span_exporter).context.span_id]
    assert trace.get_current_span().get_span_context().span_id != seen[0]


def test_a_budget_reserves_the_stated_output_limit_before_sending(server, client, instrumented):
    """inferenceConfig.maxTokens of 100,000 at $16.50 per 1M could cost $1.65: refused under a $1 budget,
    before anything reaches the server; a smaller limit passes."""
    server.reply = Reply(body=converse_body())
    with llmmeter.budget(usd="1"):
        with pytest.raises(llmmeter.BudgetExceeded):
            client.converse(modelId=SONNET, messages=MESSAGES, inferenceConfig={"maxTokens": 100_000})
        assert server.requests == []
        client.converse(modelId=SONNET, messages=MESSAGES, inferenceConfig={"maxTokens": 1_000})
    assert len(server.requests) == 1
