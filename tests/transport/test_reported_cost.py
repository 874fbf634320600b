"""Costs that gateways state, through the real openai SDK against loopback servers answering as they do.

OpenRouter (openrouter.ai/docs/use-cases/usage-accounting): ``usage.cost`` in credits (one credit is
one USD) in a body and in the last SSE chunk of a stream, ``usage.cost_details
.upstream_inference_cost`` and ``usage.is_byok`` (BYOK: ``cost`` is OpenRouter's fee, the upstream
amount is billed to the team's own key). LiteLLM proxy (docs.litellm.ai, "Response headers"): the
``x-litellm-response-cost`` header, with ``x-litellm-call-id`` and ``x-litellm-version`` beside it.
Perplexity (docs.perplexity.ai/api-reference/chat-completions-post): ``usage.cost`` itemised, with
``total_cost``. xAI: ``usage.cost_in_usd_ticks``, 10^10 ticks to the dollar.

The local estimates use openai/gpt-4o-mini at OpenRouter's listed $0.15 input / $0.60 output per
1M tokens (openrouter.ai/openai/gpt-4o-mini, the same as platform.openai.com/docs/pricing).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx2
import openai
import pytest

import llmmeter
from llmmeter import _reported
from llmmeter._providers import _routing
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans, metric_total
from tests.transport.test_caller_path import openai_sdk

M = Decimal(1_000_000)
MINI_IN, MINI_OUT = Decimal("0.15"), Decimal("0.60")
PROMPT, COMPLETION = 194, 2
LOCAL = (PROMPT * MINI_IN + COMPLETION * MINI_OUT) / M  # $0.0000303
LLAMA = "meta-llama/llama-3.3-70b-instruct"


_clients: list[Any] = []


@pytest.fixture(autouse=True)
def _fresh_warnings() -> Iterator[None]:
    """Each test sees the once-per-model and once-per-header warnings anew, and closes its clients."""
    _reported._warned.clear()
    yield
    _reported._warned.clear()
    while _clients:
        _clients.pop().close()


def openrouter_usage(cost: Any, *, byok: bool = False, upstream: Any = None) -> dict[str, Any]:
    """An OpenRouter ``usage`` object as its usage-accounting page shows it."""
    return {
        "prompt_tokens": PROMPT,
        "completion_tokens": COMPLETION,
        "total_tokens": PROMPT + COMPLETION,
        "cost": cost,
        "is_byok": byok,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "cost_details": {"upstream_inference_cost": upstream},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def openrouter_body(usage: dict[str, Any], model: str = "openai/gpt-4o-mini") -> dict[str, Any]:
    return {
        "id": "gen-1733-abc",
        "provider": "OpenAI",
        "model": model,
        "object": "chat.completion",
        "created": 1_733_000_000,
        "choices": [
            {
                "logprobs": None,
                "finish_reason": "stop",
                "native_finish_reason": "stop",
                "index": 0,
                "message": {"role": "assistant", "content": "Hi", "refusal": None, "reasoning": None},
            }
        ],
        "usage": usage,
    }


def openrouter_stream(usage: dict[str, Any], model: str = "openai/gpt-4o-mini") -> list[bytes]:
    """OpenRouter's SSE: a processing comment, content chunks, and usage (with cost) in the last chunk."""
    base = {
        "id": "gen-1733-abc",
        "provider": "OpenAI",
        "model": model,
        "object": "chat.completion.chunk",
        "created": 1_733_000_000,
    }
    events = [
        (
            None,
            {
                **base,
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": w}, "finish_reason": None}
                ],
            },
        )
        for w in ("Hi", " there")
    ]
    events.append((None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    events.append((None, {**base, "choices": [], "usage": usage}))
    events.append((None, "[DONE]"))
    return [b": OPENROUTER PROCESSING\n\n", *fakes.sse(events)]


class Gateway(fakes.LoopbackServer):
    """A loopback server answering every chat request with the next queued reply (or the last one)."""

    def __init__(self, *replies: fakes.Reply) -> None:
        self.replies = list(replies)
        super().__init__(self.answer)

    def answer(self, method: str, path: str, body: bytes) -> fakes.Reply:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def sdk(gateway: Gateway, tracer_provider: Any, meter_provider: Any, path: str = "/api/v1") -> openai.OpenAI:
    transport = llmmeter.MeteredTransport(
        httpx2.HTTPTransport(), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    client = openai.OpenAI(
        api_key="sk-or-test", base_url=gateway.url + path, http_client=httpx2.Client(transport=transport)
    )
    _clients.append(client)
    return client


def async_sdk(gateway: Gateway, tracer_provider: Any, meter_provider: Any) -> openai.AsyncOpenAI:
    transport = llmmeter.AsyncMeteredTransport(
        httpx2.AsyncHTTPTransport(), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    return openai.AsyncOpenAI(
        api_key="sk-or-test",
        base_url=gateway.url + "/api/v1",
        http_client=httpx2.AsyncClient(transport=transport),
    )


def ask(client: openai.OpenAI, model: str = "openai/gpt-4o-mini", **options: Any) -> None:
    result = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}], **options
    )
    if options.get("stream"):
        for _ in result:
            pass


def only_span(span_exporter: Any) -> dict[str, Any]:
    (span,) = llm_spans(span_exporter.get_finished_spans())
    return dict(span.attributes)


# --- OpenRouter ----------------------------------------------------------------------------------


def test_openrouter_reported_cost_wins_everywhere(
    tracer_provider, meter_provider, span_exporter, metric_reader
):
    """OpenRouter's ``usage.cost`` is the call's cost on the span, the metric, track() and budget()."""
    reported = Decimal("0.0000305")
    with Gateway(fakes.Reply(openrouter_body(openrouter_usage(0.0000305)))) as gateway:
        llmmeter.configure(provider_hosts={f"127.0.0.1:{gateway.port}": "openrouter"})
        with record_calls() as calls, llmmeter.track() as spend, llmmeter.budget(usd="1") as limit:
            ask(sdk(gateway, tracer_provider, meter_provider))

    (record,) = calls
    assert record.cost.total == reported
    assert record.cost.status == "ok"
    assert record.cost.origin == "provider"
    assert record.cost.local_total == LOCAL
    assert spend.cost_usd == reported
    assert limit.cost_usd == reported
    attributes = only_span(span_exporter)
    assert attributes["gen_ai.provider.name"] == "openrouter"
    assert attributes["gen_ai.usage.cost.amount"] == float(reported)
    assert attributes["gen_ai.usage.cost.source"] == "provider"
    assert attributes["llmmeter.cost.local_amount"] == float(LOCAL)
    assert attributes["llmmeter.cost.status"] == "ok"
    assert metric_total(metric_reader, "llmmeter.cost", gen_ai__provider__name="openrouter") == float(
        reported
    )


async def test_openrouter_async_call_reports_its_cost(tracer_provider, meter_provider, span_exporter):
    """The async SDK's call through OpenRouter is priced from the body's cost."""
    with Gateway(fakes.Reply(openrouter_body(openrouter_usage(0.0000303)))) as gateway:
        async with async_sdk(gateway, tracer_provider, meter_provider) as client:
            with record_calls() as calls:
                await client.chat.completions.create(
                    model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                )

    (record,) = calls
    assert record.cost.total == Decimal("0.0000303")
    assert only_span(span_exporter)["gen_ai.usage.cost.source"] == "provider"


def test_openrouter_stream_cost_comes_from_the_last_chunk(tracer_provider, meter_provider, span_exporter):
    """A stream's cost is read from the usage of its last SSE chunk."""
    reply = fakes.Reply(chunks=openrouter_stream(openrouter_usage(0.0000303)))
    with Gateway(reply) as gateway, record_calls() as calls:
        ask(
            sdk(gateway, tracer_provider, meter_provider), stream=True, stream_options={"include_usage": True}
        )

    (record,) = calls
    assert record.cost.total == Decimal("0.0000303")
    assert record.cost.origin == "provider"
    assert record.cost.local_total == LOCAL
    assert record.usage.input_tokens == PROMPT
    assert only_span(span_exporter)["llmmeter.stream.ending"] == "complete"


def test_openrouter_byok_cost_is_fee_plus_upstream(tracer_provider, meter_provider, span_exporter):
    """With the team's own key (BYOK) a call costs OpenRouter's fee plus the upstream amount: two parts."""
    fee, upstream = Decimal("0.0000015"), Decimal("0.0000303")
    usage = openrouter_usage(0.0000015, byok=True, upstream=0.0000303)
    with Gateway(fakes.Reply(openrouter_body(usage))) as gateway, record_calls() as calls:
        ask(sdk(gateway, tracer_provider, meter_provider))

    (record,) = calls
    assert record.cost.total == fee + upstream
    assert record.cost.components == {"upstream_inference": upstream, "gateway_fee": fee}
    attributes = only_span(span_exporter)
    assert attributes["llmmeter.cost.upstream_inference"] == float(upstream)
    assert attributes["llmmeter.cost.gateway_fee"] == float(fee)
    assert attributes["gen_ai.usage.cost.amount"] == float(fee + upstream)


def test_openrouter_upstream_cost_without_byok_is_informational(tracer_provider, meter_provider):
    """Without BYOK the upstream figure is not added: the call costs ``usage.cost``."""
    usage = openrouter_usage(0.0000303, byok=False, upstream=0.0000303)
    with Gateway(fakes.Reply(openrouter_body(usage))) as gateway, record_calls() as calls:
        ask(sdk(gateway, tracer_provider, meter_provider))

    assert calls[0].cost.total == Decimal("0.0000303")


def test_model_the_table_lacks_is_priced_exactly_from_the_report(
    tracer_provider, meter_provider, span_exporter, caplog
):
    """meta-llama/llama-3.3-70b-instruct, unknown to the table, costs exactly what OpenRouter reported."""
    body = openrouter_body(openrouter_usage(0.00000738), model=LLAMA)
    with Gateway(fakes.Reply(body)) as gateway, record_calls() as calls:
        with caplog.at_level(logging.WARNING, logger="llmmeter"):
            ask(sdk(gateway, tracer_provider, meter_provider), model=LLAMA)

    assert not [r for r in caplog.records if "no price" in r.getMessage()]  # its cost is known

    (record,) = calls
    assert record.cost.total == Decimal("0.00000738")
    assert record.cost.status == "ok"
    assert record.cost.local_total is None
    attributes = only_span(span_exporter)
    assert attributes["gen_ai.usage.cost.source"] == "provider"
    assert "llmmeter.cost.local_amount" not in attributes


def test_drift_between_report_and_table_is_warned_once_per_model(tracer_provider, meter_provider, caplog):
    """A report 32% above the table's estimate is warned about once for the model, however many calls."""
    drifting = fakes.Reply(openrouter_body(openrouter_usage(0.00004)))
    close = fakes.Reply(openrouter_body(openrouter_usage(0.0000305)))  # within 2%
    with Gateway(close, drifting, drifting, drifting) as gateway, record_calls() as calls:
        client = sdk(gateway, tracer_provider, meter_provider)
        with caplog.at_level(logging.WARNING, logger="llmmeter"):
            ask(client)
            assert not [r for r in caplog.records if "gateway reported" in r.getMessage()]
            for _ in range(3):
                ask(client)

    warnings = [r.getMessage() for r in caplog.records if "gateway reported" in r.getMessage()]
    assert len(warnings) == 1
    assert "gpt-4o-mini" in warnings[0]
    assert [record.cost.total for record in calls] == [Decimal("0.0000305")] + [Decimal("0.00004")] * 3


@pytest.mark.parametrize("cost", ["0.0001", -0.0001, None, {"unexpected": 1}, True])
def test_malformed_body_cost_is_priced_locally(cost, tracer_provider, meter_provider, span_exporter):
    """A ``usage.cost`` that is not a non-negative number is ignored: the call is priced from the table."""
    usage = openrouter_usage(cost)
    with Gateway(fakes.Reply(openrouter_body(usage))) as gateway, record_calls() as calls:
        ask(sdk(gateway, tracer_provider, meter_provider))

    (record,) = calls
    if cost == "0.0001":  # a numeric string is a figure still
        assert record.cost.total == Decimal("0.0001")
        return
    assert record.cost.total == LOCAL
    assert record.cost.origin == "local"
    assert only_span(span_exporter)["gen_ai.usage.cost.source"] == "local"


# --- LiteLLM proxy and other gateways' headers ------------------------------------------------------

LITELLM_HEADERS = {
    "x-litellm-call-id": "0b6e-call",
    "x-litellm-version": "1.74.0",
    "x-litellm-model-id": "m1",
}


def litellm_reply(cost: str | None) -> fakes.Reply:
    headers = dict(LITELLM_HEADERS)
    if cost is not None:
        headers["x-litellm-response-cost"] = cost
    return fakes.Reply(
        fakes.chat_completion(
            model="gpt-4o-mini-2024-07-18",
            prompt_tokens=PROMPT,
            completion_tokens=COMPLETION,
            service_tier=None,
        ),
        headers=headers,
    )


def test_litellm_header_cost_wins(tracer_provider, meter_provider, span_exporter, metric_reader):
    """LiteLLM proxy's ``x-litellm-response-cost`` is the call's cost; the table's estimate sits beside it."""
    with Gateway(litellm_reply("3.1e-05")) as gateway, record_calls() as calls:
        ask(sdk(gateway, tracer_provider, meter_provider, path="/v1"), model="gpt-4o-mini")

    (record,) = calls
    assert record.cost.total == Decimal("0.000031")
    assert record.cost.local_total == LOCAL
    attributes = only_span(span_exporter)
    assert attributes["gen_ai.usage.cost.source"] == "provider"
    assert attributes["llmmeter.cost.local_amount"] == float(LOCAL)
    assert metric_total(metric_reader, "llmmeter.cost") == float(Decimal("0.000031"))


@pytest.mark.parametrize("cost", [None, "0.0"])
def test_litellm_stream_is_priced_locally_with_the_reason(
    cost, tracer_provider, meter_provider, span_exporter
):
    """A LiteLLM stream has no usable cost header (sent before its tokens): priced locally, saying so."""
    headers = dict(LITELLM_HEADERS)
    if cost is not None:
        headers["x-litellm-response-cost"] = cost
    chunks = fakes.chat_stream(
        model="gpt-4o-mini-2024-07-18", prompt_tokens=PROMPT, completion_tokens=COMPLETION
    )
    with Gateway(fakes.Reply(chunks=chunks, headers=headers)) as gateway, record_calls() as calls:
        ask(
            sdk(gateway, tracer_provider, meter_provider, path="/v1"),
            model="gpt-4o-mini",
            stream=True,
            stream_options={"include_usage": True},
        )

    (record,) = calls
    assert record.cost.total == LOCAL
    assert record.cost.status == "ok"
    attributes = only_span(span_exporter)
    assert attributes["gen_ai.usage.cost.source"] == "local"
    assert "x-litellm-response-cost" in attributes["llmmeter.cost.reason"]
    assert "stream" in attributes["llmmeter.cost.reason"]


@pytest.mark.parametrize("value", ["about a cent", "-0.01", "NaN", "nan", "inf", "1e300", "2000000"])
def test_bad_header_values_are_ignored_with_one_warning(
    value, tracer_provider, meter_provider, span_exporter, caplog
):
    """Text, negative, NaN, infinite or huge header values: priced locally, one warning, never a crash."""
    with Gateway(litellm_reply(value)) as gateway, record_calls() as calls:
        client = sdk(gateway, tracer_provider, meter_provider, path="/v1")
        with caplog.at_level(logging.WARNING, logger="llmmeter"):
            ask(client, model="gpt-4o-mini")
            ask(client, model="gpt-4o-mini")

    assert [record.cost.total for record in calls] == [LOCAL, LOCAL]
    assert all(record.cost.origin == "local" for record in calls)
    warnings = [r.getMessage() for r in caplog.records if "x-litellm-response-cost" in r.getMessage()]
    assert len(warnings) == 1
    spans = llm_spans(span_exporter.get_finished_spans())
    assert all("x-litellm-response-cost" in span.attributes["llmmeter.cost.reason"] for span in spans)


def public_host_sdk(reply: fakes.Reply, tracer_provider: Any, meter_provider: Any) -> openai.OpenAI:
    """A client of ``api.openai.com`` itself (answered in process, its body streamed as the network would)."""
    inner = httpx2.MockTransport(fakes.mock_handler(httpx2, reply))
    client = openai_sdk(httpx2, inner, tracer_provider, meter_provider)
    _clients.append(client)
    return client


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_litellm_headers_are_not_looked_for_on_a_providers_own_host(stream, tracer_provider, meter_provider):
    """No LiteLLM proxy answers for ``api.openai.com``: its headers are not read there (reading
    response headers costs more the more there are), so the call is priced locally, with no note."""
    reply = litellm_reply("0.5")
    if stream:
        chunks = fakes.chat_stream(
            model="gpt-4o-mini-2024-07-18",
            prompt_tokens=PROMPT,
            completion_tokens=COMPLETION,
            service_tier=None,
        )
        reply = fakes.Reply(chunks=chunks, headers=reply.headers)
    with record_calls() as calls:
        ask(public_host_sdk(reply, tracer_provider, meter_provider), model="gpt-4o-mini", stream=stream)

    (record,) = calls
    assert (record.cost.total, record.cost.origin, record.cost.reason) == (LOCAL, "local", None)


@pytest.mark.parametrize(
    ("host", "path", "proxied"),
    [
        ("api.openai.com", "/v1/chat/completions", False),
        ("myres.openai.azure.com", "/openai/deployments/gpt4o/chat/completions", False),
        ("api.anthropic.com", "/v1/messages", False),
        ("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:generateContent", False),
        ("bedrock-runtime.us-east-1.amazonaws.com", "/model/anthropic.claude-sonnet-4-5/invoke", False),
        ("openrouter.ai", "/api/v1/chat/completions", False),
        ("127.0.0.1", "/v1/chat/completions", True),
        ("litellm.internal.example.com", "/v1/chat/completions", True),
        ("gateway.example.com", "/v1/messages", True),
        ("openai.azure.com.example.net", "/v1/chat/completions", True),
        ("a1b2c3.execute-api.us-east-1.amazonaws.com", "/v1/chat/completions", True),
        ("litellm-123.us-east-1.elb.amazonaws.com", "/v1/chat/completions", True),
    ],
)
def test_which_hosts_may_be_a_teams_proxy(host, path, proxied):
    """Providers' own public hosts are not proxies; any other host may be one."""
    found = _routing.route("POST", host, path)
    assert found is not None
    assert found.proxied is proxied


def test_configured_header_is_read_on_a_providers_own_host_too(tracer_provider, meter_provider):
    """The header a team names is read wherever the answer comes from: the team said it is there."""
    llmmeter.configure(reported_cost_header="X-Gateway-Cost-USD")
    reply = fakes.Reply(
        fakes.chat_completion(model="gpt-4o-mini", prompt_tokens=PROMPT, completion_tokens=COMPLETION),
        headers={"x-gateway-cost-usd": "0.0000290"},
    )
    try:
        with record_calls() as calls:
            ask(public_host_sdk(reply, tracer_provider, meter_provider), model="gpt-4o-mini")
    finally:
        llmmeter.configure(reported_cost_header="")

    (record,) = calls
    assert (record.cost.total, record.cost.origin) == (Decimal("0.0000290"), "provider")


def test_configured_header_of_an_inhouse_gateway(tracer_provider, meter_provider, span_exporter):
    """``configure(reported_cost_header=...)`` names a gateway's own header, in USD."""
    llmmeter.configure(reported_cost_header="X-Gateway-Cost-USD")
    reply = fakes.Reply(
        fakes.chat_completion(model="gpt-4o-mini", prompt_tokens=PROMPT, completion_tokens=COMPLETION),
        headers={"x-gateway-cost-usd": "0.0000290"},
    )
    with Gateway(reply) as gateway, record_calls() as calls:
        ask(sdk(gateway, tracer_provider, meter_provider, path="/v1"), model="gpt-4o-mini")
        llmmeter.configure(reported_cost_header="")
        ask(sdk(gateway, tracer_provider, meter_provider, path="/v1"), model="gpt-4o-mini")

    assert [record.cost.total for record in calls] == [Decimal("0.0000290"), LOCAL]
    assert [record.cost.origin for record in calls] == ["provider", "local"]


def test_reported_cost_header_from_environment(monkeypatch, caplog):
    """``LLMMETER_REPORTED_COST_HEADER`` names the header; a value that is none is named, then ignored."""
    from llmmeter._settings import Settings

    monkeypatch.setenv("LLMMETER_REPORTED_COST_HEADER", "X-Cost")
    assert Settings().reported_cost_header == "x-cost"
    monkeypatch.setenv("LLMMETER_REPORTED_COST_HEADER", "x cost: 1")
    with caplog.at_level(logging.WARNING, logger="llmmeter"):
        assert Settings().reported_cost_header is None
    assert any("LLMMETER_REPORTED_COST_HEADER" in r.getMessage() for r in caplog.records)


def test_configure_refuses_a_header_name_that_is_none():
    """``configure(reported_cost_header=...)`` refuses what cannot be a header name."""
    from llmmeter import ConfigurationError

    with pytest.raises(ConfigurationError, match="reported_cost_header"):
        llmmeter.configure(reported_cost_header="x cost: 1")


# --- providers that state their own cost ----------------------------------------------------------


def test_perplexity_itemised_cost(tracer_provider, meter_provider, span_exporter):
    """Perplexity's ``usage.cost.total_cost`` is the cost, its ``*_cost`` items the components."""
    usage = {
        "prompt_tokens": 9,
        "completion_tokens": 180,
        "total_tokens": 189,
        "search_context_size": "low",
        "cost": {
            "input_tokens_cost": 0.000009,
            "output_tokens_cost": 0.00018,
            "request_cost": 0.005,
            "total_cost": 0.005189,
        },
    }
    body = {**openrouter_body(usage, model="sonar"), "citations": ["https://example.com/a"]}
    with Gateway(fakes.Reply(body)) as gateway, record_calls() as calls:
        ask(sdk(gateway, tracer_provider, meter_provider, path="/v1"), model="sonar")

    (record,) = calls
    assert record.cost.total == Decimal("0.005189")
    assert record.cost.components == {
        "input": Decimal("0.000009"),
        "output": Decimal("0.00018"),
        "request": Decimal("0.005"),
    }
    assert only_span(span_exporter)["gen_ai.usage.cost.source"] == "provider"


def test_xai_cost_in_usd_ticks():
    """xAI's ``cost_in_usd_ticks`` (10^10 to the dollar) is read exactly; a malformed one is ignored."""
    from llmmeter._reported import from_openai_usage

    assert from_openai_usage({"cost_in_usd_ticks": 232856000}).total == Decimal("0.0232856")
    assert from_openai_usage({"cost_in_usd_ticks": -5}).total is None
    assert from_openai_usage({"cost_in_usd_ticks": "232856000"}).total is None


def test_request_body_is_left_as_sent(tracer_provider, meter_provider):
    """The request body is left as sent: llmmeter never asks OpenRouter for usage itself."""
    with Gateway(fakes.Reply(openrouter_body(openrouter_usage(0.0000303)))) as gateway:
        ask(sdk(gateway, tracer_provider, meter_provider))
        (_, _, body, _) = gateway.requests[0]
    assert "usage" not in json.loads(body)
