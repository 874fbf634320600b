"""The real openai SDK through MeteredTransport: httpx2 and legacy httpx clients, sync and async."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import httpx2
import openai
import pytest

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans, metric_total, points

M = Decimal(1_000_000)
GPT4O_IN, GPT4O_CACHED, GPT4O_OUT = Decimal("2.50"), Decimal("1.25"), Decimal("10.00")
LIBRARIES = [httpx2, httpx]


def sync_client(library: Any, reply: fakes.Reply, tracer_provider: Any, meter_provider: Any, seen=None):
    transport = llmmeter.MeteredTransport(
        library.MockTransport(fakes.mock_handler(library, reply, seen)),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    return openai.OpenAI(
        api_key="sk-secret-test-key",
        base_url="https://api.openai.com/v1",
        http_client=library.Client(transport=transport),
    )


def async_client(library: Any, reply: fakes.Reply, tracer_provider: Any, meter_provider: Any):
    transport = llmmeter.AsyncMeteredTransport(
        library.MockTransport(fakes.mock_handler(library, reply)),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    return openai.AsyncOpenAI(
        api_key="sk-secret-test-key",
        base_url="https://api.openai.com/v1",
        http_client=library.AsyncClient(transport=transport),
    )


def gpt4o_cost(prompt: int, completion: int, cached: int = 0) -> Decimal:
    return (
        Decimal(prompt - cached) * GPT4O_IN + Decimal(cached) * GPT4O_CACHED + Decimal(completion) * GPT4O_OUT
    ) / M


@pytest.mark.parametrize("library", LIBRARIES, ids=["httpx2", "httpx"])
def test_chat_call_makes_one_span_with_usage_and_cost(
    library, tracer_provider, meter_provider, span_exporter
):
    """A non-streaming chat call yields one CLIENT span with the conventions' attributes and its cost."""
    reply = fakes.Reply(fakes.chat_completion(prompt_tokens=1200, completion_tokens=300, cached_tokens=1000))
    client = sync_client(library, reply, tracer_provider, meter_provider)

    result = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], temperature=0.2, max_tokens=500
    )

    assert result.choices[0].message.content == "Hello!"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    expected = gpt4o_cost(1200, 300, cached=1000)
    assert span.name == "chat gpt-4o"
    assert span.kind.name == "CLIENT"
    attributes = dict(span.attributes)
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-4o"
    assert attributes["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attributes["gen_ai.response.id"] == "chatcmpl-123"
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.max_tokens"] == 500
    assert attributes["gen_ai.usage.input_tokens"] == 1200
    assert attributes["gen_ai.usage.output_tokens"] == 300
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 1000
    assert attributes["server.address"] == "api.openai.com"
    assert attributes["server.port"] == 443
    assert attributes["openai.response.service_tier"] == "default"
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(expected), rel=1e-12)
    assert attributes["gen_ai.usage.cost.currency"] == "USD"
    assert attributes["gen_ai.usage.cost.source"] == "local"
    assert attributes["llmmeter.cost.status"] == "ok"
    assert attributes["llmmeter.cost.input"] == pytest.approx(float(200 * GPT4O_IN / M))
    assert attributes["llmmeter.cost.cache_read"] == pytest.approx(float(1000 * GPT4O_CACHED / M))
    assert attributes["llmmeter.cost.output"] == pytest.approx(float(300 * GPT4O_OUT / M))
    assert "gen_ai.request.stream" not in attributes
    assert "gen_ai.input.messages" not in attributes


@pytest.mark.parametrize("library", LIBRARIES, ids=["httpx2", "httpx"])
def test_chat_call_records_metrics_once(library, tracer_provider, meter_provider, metric_reader):
    """Cost, token and duration metrics each get exactly one call's worth of points."""
    reply = fakes.Reply(fakes.chat_completion(prompt_tokens=100, completion_tokens=20))
    client = sync_client(library, reply, tracer_provider, meter_provider)

    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])

    expected = gpt4o_cost(100, 20)
    assert metric_total(metric_reader, "llmmeter.cost") == pytest.approx(float(expected), rel=1e-12)
    (cost_point,) = points(metric_reader, "llmmeter.cost")
    assert cost_point[0] == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "server.address": "api.openai.com",
        "server.port": 443,
    }
    usage = {
        attrs["gen_ai.token.type"]: value
        for attrs, value in points(metric_reader, "gen_ai.client.token.usage")
    }
    assert usage == {"input": (1, 100), "output": (1, 20)}
    tokens = {attrs["gen_ai.token.type"]: value for attrs, value in points(metric_reader, "llmmeter.tokens")}
    assert tokens == {"input": 100, "output": 20}
    ((_, (count, _)),) = points(metric_reader, "gen_ai.client.operation.duration")
    assert count == 1
    assert points(metric_reader, "gen_ai.client.operation.time_to_first_chunk") == []


@pytest.mark.parametrize("library", LIBRARIES, ids=["httpx2", "httpx"])
async def test_async_chat_call_is_metered(library, tracer_provider, meter_provider, span_exporter):
    """AsyncOpenAI over AsyncMeteredTransport records the same span and cost."""
    reply = fakes.Reply(fakes.chat_completion(prompt_tokens=500, completion_tokens=50))
    client = async_client(library, reply, tracer_provider, meter_provider)

    with record_calls() as calls:
        await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])

    (record,) = calls
    assert record.cost.total == gpt4o_cost(500, 50)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.usage.input_tokens"] == 500


@pytest.mark.parametrize("library", LIBRARIES, ids=["httpx2", "httpx"])
def test_streamed_chat_takes_usage_from_last_chunk(library, tracer_provider, meter_provider, span_exporter):
    """A stream with include_usage is priced from its final usage chunk, with time to first chunk."""
    reply = fakes.Reply(
        chunks=fakes.chat_stream(words=5, prompt_tokens=300, completion_tokens=40, cached_tokens=100)
    )
    client = sync_client(library, reply, tracer_provider, meter_provider)

    with record_calls() as calls:
        stream = client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    assert text == "word0 word1 word2 word3 word4 "
    (record,) = calls
    assert record.ending == "complete"
    assert record.cost.status == "ok"
    assert record.cost.total == gpt4o_cost(300, 40, cached=100)
    assert record.time_to_first_chunk_s is not None
    assert 0 <= record.time_to_first_chunk_s <= record.duration_s
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["llmmeter.stream.ending"] == "complete"


@pytest.mark.parametrize("library", LIBRARIES, ids=["httpx2", "httpx"])
async def test_async_stream_is_metered(library, tracer_provider, meter_provider):
    """An async stream read to its end yields one complete, priced record."""
    reply = fakes.Reply(chunks=fakes.chat_stream(prompt_tokens=80, completion_tokens=8))
    client = async_client(library, reply, tracer_provider, meter_provider)

    with record_calls() as calls:
        stream = await client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        async for _ in stream:
            pass

    (record,) = calls
    assert record.ending == "complete"
    assert record.cost.total == gpt4o_cost(80, 8)


def test_stream_without_usage_is_no_usage_not_zero(
    tracer_provider, meter_provider, span_exporter, metric_reader
):
    """A stream that reports no usage is `no_usage`: no cost attribute, no cost point, never $0."""
    reply = fakes.Reply(chunks=fakes.chat_stream(include_usage=False))
    client = sync_client(httpx2, reply, tracer_provider, meter_provider)

    for _ in client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
    ):
        pass

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["llmmeter.cost.status"] == "no_usage"
    assert "gen_ai.usage.cost.amount" not in span.attributes
    assert points(metric_reader, "llmmeter.cost") == []


def test_include_stream_usage_option_adds_stream_options(tracer_provider, meter_provider):
    """With include_stream_usage on, a streamed chat request lacking stream_options gets include_usage."""
    llmmeter.configure(include_stream_usage=True)
    seen: list[Any] = []
    reply = fakes.Reply(chunks=fakes.chat_stream())
    client = sync_client(httpx2, reply, tracer_provider, meter_provider, seen)

    for _ in client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
    ):
        pass

    import json

    sent = json.loads(seen[0].content)
    assert sent["stream_options"] == {"include_usage": True}
    assert int(seen[0].headers["content-length"]) == len(seen[0].content)


def test_stream_usage_option_is_off_by_default(tracer_provider, meter_provider):
    """By default the request body is sent exactly as the SDK built it."""
    seen: list[Any] = []
    reply = fakes.Reply(chunks=fakes.chat_stream())
    client = sync_client(httpx2, reply, tracer_provider, meter_provider, seen)

    for _ in client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
    ):
        pass

    import json

    assert "stream_options" not in json.loads(seen[0].content)


def test_stream_closed_early_yields_one_record_saying_so(tracer_provider, meter_provider):
    """Closing a stream before its end finishes the call once, marked closed_early."""
    reply = fakes.Reply(chunks=fakes.chat_stream(words=10))
    client = sync_client(httpx2, reply, tracer_provider, meter_provider)

    with record_calls() as calls:
        stream = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
        )
        next(iter(stream))
        stream.close()

    (record,) = calls
    assert record.ending == "closed_early"
    assert record.cost.status == "no_usage"


def test_responses_api_call_is_priced_with_reasoning_inside_output(
    tracer_provider, meter_provider, span_exporter
):
    """A Responses call on gpt-5.4 prices cached input at the cache rate and reasoning as output."""
    body = fakes.responses_body(
        input_tokens=10_000, cached_tokens=4_000, output_tokens=2_000, reasoning_tokens=1_500
    )
    client = sync_client(httpx2, fakes.Reply(body), tracer_provider, meter_provider)

    with record_calls() as calls:
        client.responses.create(model="gpt-5.4", input="hello")

    (record,) = calls
    expected = (
        Decimal(6_000) * Decimal("2.50")
        + Decimal(4_000) * Decimal("0.25")
        + Decimal(2_000) * Decimal("15.00")
    ) / M
    assert record.cost.total == expected
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.name == "chat gpt-5.4"
    assert span.attributes["gen_ai.usage.reasoning.output_tokens"] == 1_500
    assert span.attributes["gen_ai.usage.output_tokens"] == 2_000


def test_streamed_responses_api_takes_usage_from_completed_event(tracer_provider, meter_provider):
    """A streamed Responses call is priced from response.completed."""
    client = sync_client(
        httpx2,
        fakes.Reply(chunks=fakes.responses_stream(input_tokens=1000, output_tokens=100)),
        tracer_provider,
        meter_provider,
    )

    with record_calls() as calls:
        for _ in client.responses.create(model="gpt-5.4", input="hello", stream=True):
            pass

    (record,) = calls
    assert record.ending == "complete"
    assert record.cost.total == (Decimal(1000) * Decimal("2.50") + Decimal(100) * Decimal("15.00")) / M


def test_priority_tier_reported_by_response_wins(tracer_provider, meter_provider, span_exporter):
    """The service tier in the response, not the requested one, picks the prices."""
    body = fakes.responses_body(input_tokens=1000, output_tokens=1000, service_tier="priority")
    client = sync_client(httpx2, fakes.Reply(body), tracer_provider, meter_provider)

    with record_calls() as calls:
        client.responses.create(model="gpt-5.4", input="hello", service_tier="auto")

    (record,) = calls
    assert record.cost.total == (Decimal(1000) * Decimal("5.00") + Decimal(1000) * Decimal("30.00")) / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["openai.request.service_tier"] == "auto"
    assert span.attributes["openai.response.service_tier"] == "priority"


def test_embeddings_call_is_priced(tracer_provider, meter_provider, span_exporter):
    """An embeddings call is an `embeddings` operation priced on its input tokens."""
    client = sync_client(
        httpx2, fakes.Reply(fakes.embeddings_body(prompt_tokens=1000)), tracer_provider, meter_provider
    )

    with record_calls() as calls:
        client.embeddings.create(model="text-embedding-3-small", input="hello")

    (record,) = calls
    assert record.operation == "embeddings"
    assert record.cost.total == Decimal(1000) * Decimal("0.02") / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.name == "embeddings text-embedding-3-small"


def test_n_choices_are_not_multiplied(tracer_provider, meter_provider):
    """Usage of a response with n=3 choices is taken once, not three times."""
    body = fakes.chat_completion(prompt_tokens=100, completion_tokens=60, n=3)
    client = sync_client(httpx2, fakes.Reply(body), tracer_provider, meter_provider)

    with record_calls() as calls:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}], n=3)

    (record,) = calls
    assert record.usage.input_tokens == 100
    assert record.cost.total == gpt4o_cost(100, 60)


def test_http_error_is_recorded_with_status_code(
    tracer_provider, meter_provider, span_exporter, metric_reader
):
    """A 400 reaches the caller as the SDK's error and is recorded with error.type = the status code."""
    reply = fakes.Reply({"error": {"message": "bad", "type": "invalid_request_error"}}, status=400)
    client = sync_client(httpx2, reply, tracer_provider, meter_provider)

    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["error.type"] == "400"
    assert span.status.status_code.name == "ERROR"
    ((attributes, (count, _)),) = points(metric_reader, "gen_ai.client.operation.duration")
    assert attributes["error.type"] == "400"
    assert count == 1


def test_retried_server_errors_are_one_record_per_attempt(tracer_provider, meter_provider):
    """Each HTTP attempt of the SDK's retries is one record: two 500s, then a success."""
    replies = iter(
        [fakes.Reply({"error": {"message": "boom"}}, status=500)] * 2 + [fakes.Reply(fakes.chat_completion())]
    )
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, lambda *_: next(replies))),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    client = openai.OpenAI(
        api_key="sk-x",
        base_url="https://api.openai.com/v1",
        http_client=httpx2.Client(transport=transport),
        max_retries=2,
    )
    with record_calls() as calls:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])

    assert [record.error_type for record in calls] == ["500", "500", None]
    assert calls[-1].cost.total == gpt4o_cost(100, 20)


def test_transport_error_is_recorded_and_reraised(tracer_provider, meter_provider, span_exporter):
    """A connection error reaches the caller unchanged and is recorded with its class name."""

    def refuse(request):
        raise httpx2.ConnectError("refused", request=request)

    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(refuse), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    client = httpx2.Client(transport=transport)

    with pytest.raises(httpx2.ConnectError, match="refused"):
        client.post("https://api.openai.com/v1/chat/completions", json={"model": "gpt-4o", "messages": []})

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["error.type"] == "ConnectError"


def test_api_key_never_reaches_telemetry(tracer_provider, meter_provider, span_exporter, metric_reader):
    """No span attribute or metric attribute carries the API key or the Authorization header."""
    llmmeter.configure(capture_content=True)
    client = sync_client(httpx2, fakes.Reply(fakes.chat_completion()), tracer_provider, meter_provider)

    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])

    (span,) = llm_spans(span_exporter.get_finished_spans())
    everything = repr(dict(span.attributes)) + repr(metric_reader.get_metrics_data().to_json())
    assert "sk-secret-test-key" not in everything
    assert "Bearer" not in everything
    assert "gen_ai.input.messages" in span.attributes


def test_content_is_captured_only_when_opted_in(tracer_provider, meter_provider, span_exporter):
    """Prompts and completions appear on the span only with capture_content on, through the redact hook."""
    llmmeter.configure(capture_content=True, redact=lambda value: str(value).replace("secret", "[redacted]"))
    client = sync_client(
        httpx2,
        fakes.Reply(fakes.chat_completion(content="the secret answer")),
        tracer_provider,
        meter_provider,
    )

    client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "my secret question"}]
    )

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert "my [redacted] question" in span.attributes["gen_ai.input.messages"]
    assert "the [redacted] answer" in span.attributes["gen_ai.output.messages"]
    assert (
        "secret" not in span.attributes["gen_ai.input.messages"] + span.attributes["gen_ai.output.messages"]
    )


def test_azure_client_prices_from_response_model(tracer_provider, meter_provider, span_exporter):
    """An AzureOpenAI call is azure.ai.openai, named by deployment, priced by the response's model."""
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(
            fakes.mock_handler(httpx2, fakes.Reply(fakes.chat_completion(model="gpt-4o-2024-11-20")))
        ),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    client = openai.AzureOpenAI(
        api_key="azure-secret-key",
        api_version="2024-10-21",
        azure_endpoint="https://contoso.openai.azure.com",
        azure_deployment="prod-chat",
        http_client=httpx2.Client(transport=transport),
    )

    with record_calls() as calls:
        client.chat.completions.create(model="prod-chat", messages=[{"role": "user", "content": "x"}])

    (record,) = calls
    assert record.provider == "azure.ai.openai"
    assert record.cost.total == gpt4o_cost(100, 20)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["server.address"] == "contoso.openai.azure.com"
    assert "azure-secret-key" not in repr(dict(span.attributes))


def test_azure_deployment_map_prices_when_response_has_no_model(tracer_provider, meter_provider):
    """Without a model in the response, the configured deployment map names the model to price."""
    llmmeter.configure(azure_deployments={"prod-chat": "gpt-4o"})
    body = fakes.chat_completion()
    del body["model"]
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, fakes.Reply(body))),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    client = httpx2.Client(transport=transport)

    with record_calls() as calls:
        client.post(
            "https://contoso.openai.azure.com/openai/deployments/prod-chat/chat/completions?api-version=2024-10-21",
            json={"messages": [{"role": "user", "content": "x"}]},
        )

    (record,) = calls
    assert record.request_model == "prod-chat"
    assert record.cost.total == gpt4o_cost(100, 20)
