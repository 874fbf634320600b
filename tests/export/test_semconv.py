"""Both generations of the GenAI conventions, chosen by OTEL_SEMCONV_STABILITY_OPT_IN when llmmeter
is imported: semantic-conventions v1.41.1 by default, semantic-conventions-genai (and the cost
histogram proposed in its PR #443) with ``gen_ai_latest_experimental``.

Each case runs in a fresh interpreter, since the variable is read once at import.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.export.conftest import clean_env, run_python

# One streamed Anthropic call, claude-sonnet-4-6: 100 uncached input, 40 cache-read, 30 cache-write
# (5-minute) and 50 output tokens.
SCRIPT = """
    import json
    import httpx
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import llmmeter
    from tests.fakes import Reply, anthropic_stream, mock_handler

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    reply = Reply(chunks=anthropic_stream(input_tokens=100, output_tokens=50, cache_read=40, cache_write=30))
    inner = httpx.MockTransport(mock_handler(httpx, reply))
    client = httpx.Client(transport=llmmeter.MeteredTransport(inner))
    with client.stream(
        "POST",
        "https://api.anthropic.com/v1/messages",
        json={"model": "claude-sonnet-4-6", "max_tokens": 100, "stream": True,
              "messages": [{"role": "user", "content": "hi"}]},
    ) as response:
        response.read()

    (span,) = exporter.get_finished_spans()
    found = {
        "span": dict(span.attributes),
        "span_schema_url": span.instrumentation_scope.schema_url,
        "metrics": {},
    }
    for resource_metrics in reader.get_metrics_data().resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            found["metric_schema_url"] = scope_metrics.scope.schema_url
            for metric in scope_metrics.metrics:
                found["metrics"][metric.name] = {
                    "unit": metric.unit,
                    "points": [
                        {
                            "attributes": dict(point.attributes),
                            "value": getattr(point, "value", None),
                            "sum": getattr(point, "sum", None),
                            "bounds": list(getattr(point, "explicit_bounds", []) or []),
                        }
                        for point in metric.data.data_points
                    ],
                }
    print(json.dumps(found))
"""

# claude-sonnet-4-6 per 1M tokens: $3.00 input, $15.00 output (https://c-ai.chat/model-guides/claude-haiku/
# quoting Anthropic's price list); cache reads at 0.1x and 5-minute writes at 1.25x the input rate
# (Anthropic's prompt caching multipliers): $0.30 and $3.75.
EXPECTED_COST = (
    Decimal(100) * Decimal("3.00")
    + Decimal(40) * Decimal("0.30")
    + Decimal(30) * Decimal("3.75")
    + Decimal(50) * Decimal("15.00")
) / Decimal(1_000_000)

METRIC_POINT_ATTRIBUTES = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": "claude-sonnet-4-6",
    "gen_ai.response.model": "claude-sonnet-4-6",
    "server.address": "api.anthropic.com",
    "server.port": 443,
}


def run(**env: str) -> dict[str, Any]:
    result = run_python(SCRIPT, env=clean_env(**env))
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


@pytest.fixture(scope="module")
def default() -> dict[str, Any]:
    return run()


@pytest.fixture(scope="module")
def latest() -> dict[str, Any]:
    return run(OTEL_SEMCONV_STABILITY_OPT_IN="http, gen_ai_latest_experimental")


def test_default_span_uses_v1_41_1_names(default):
    """By default the cache write count is gen_ai.usage.cache_creation.input_tokens."""
    span = default["span"]
    assert span["gen_ai.usage.input_tokens"] == 170
    assert span["gen_ai.usage.cache_read.input_tokens"] == 40
    assert span["gen_ai.usage.cache_creation.input_tokens"] == 30
    assert "gen_ai.usage.cache_write.input_tokens" not in span
    assert span["llmmeter.time_to_first_chunk"] > 0
    assert "gen_ai.response.time_to_first_chunk" not in span
    assert span["gen_ai.usage.cost.amount"] == pytest.approx(float(EXPECTED_COST), rel=1e-12)


def test_default_scope_carries_the_v1_41_1_schema_url(default):
    """Tracer and meter are obtained with semantic-conventions v1.41.1's schema URL."""
    assert default["span_schema_url"] == "https://opentelemetry.io/schemas/1.41.1"
    assert default["metric_schema_url"] == "https://opentelemetry.io/schemas/1.41.1"


def test_default_metrics_are_the_v1_41_1_instruments(default):
    """Exactly the v1.41.1 instruments and llmmeter's counters, with server.port beside server.address."""
    found = default["metrics"]
    assert set(found) == {
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.duration",
        "gen_ai.client.operation.time_to_first_chunk",
        "llmmeter.cost",
        "llmmeter.tokens",
        "llmmeter.calls",
    }
    (duration,) = found["gen_ai.client.operation.duration"]["points"]
    assert duration["attributes"] == METRIC_POINT_ATTRIBUTES
    tokens = {
        p["attributes"]["gen_ai.token.type"]: p["sum"] for p in found["gen_ai.client.token.usage"]["points"]
    }
    assert tokens == {"input": 170, "output": 50}


def test_latest_span_uses_genai_repository_names(latest):
    """With the opt-in, cache writes are gen_ai.usage.cache_write.input_tokens and time to first chunk
    is the conventions' gen_ai.response.time_to_first_chunk."""
    span = latest["span"]
    assert span["gen_ai.usage.input_tokens"] == 170
    assert span["gen_ai.usage.cache_read.input_tokens"] == 40
    assert span["gen_ai.usage.cache_write.input_tokens"] == 30
    assert "gen_ai.usage.cache_creation.input_tokens" not in span
    assert span["gen_ai.response.time_to_first_chunk"] > 0
    assert "llmmeter.time_to_first_chunk" not in span


def test_latest_scope_carries_the_genai_schema_url(latest):
    """Tracer and meter are obtained with semantic-conventions-genai's schema URL."""
    assert latest["span_schema_url"] == "https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev"
    assert latest["metric_schema_url"] == "https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev"


def test_latest_metrics_are_the_inference_instruments(latest):
    """The gen_ai.client.inference.* instruments replace v1.41.1's, beside llmmeter's counters and
    the proposed cost histogram."""
    found = latest["metrics"]
    assert set(found) == {
        "gen_ai.client.inference.duration",
        "gen_ai.client.inference.time_to_first_chunk",
        "gen_ai.client.inference.operation.input_tokens",
        "gen_ai.client.inference.operation.output_tokens",
        "gen_ai.client.inference.usage.input_tokens",
        "gen_ai.client.inference.usage.output_tokens",
        "gen_ai.client.inference.usage.cache_read.input_tokens",
        "gen_ai.client.inference.usage.cache_write.input_tokens",
        "gen_ai.client.operation.cost",
        "llmmeter.cost",
        "llmmeter.tokens",
        "llmmeter.calls",
    }
    (duration,) = found["gen_ai.client.inference.duration"]["points"]
    assert duration["attributes"] == METRIC_POINT_ATTRIBUTES
    (input_histogram,) = found["gen_ai.client.inference.operation.input_tokens"]["points"]
    assert input_histogram["sum"] == 170
    assert input_histogram["attributes"] == METRIC_POINT_ATTRIBUTES


def test_latest_usage_counters_carry_a_token_modality(latest):
    """Usage counters are dimensioned by gen_ai.token.modality: unknown when the provider does not
    break usage down by modality."""
    found = latest["metrics"]
    for name, value in (
        ("gen_ai.client.inference.usage.input_tokens", 170),
        ("gen_ai.client.inference.usage.output_tokens", 50),
        ("gen_ai.client.inference.usage.cache_read.input_tokens", 40),
        ("gen_ai.client.inference.usage.cache_write.input_tokens", 30),
    ):
        (point,) = found[name]["points"]
        assert point["value"] == value, name
        assert point["attributes"] == {**METRIC_POINT_ATTRIBUTES, "gen_ai.token.modality": "unknown"}
        assert found[name]["unit"] == "{token}"


def test_latest_cost_histogram_follows_the_proposal(latest):
    """gen_ai.client.operation.cost: unit {cost}, the proposal's buckets, currency and source."""
    cost = latest["metrics"]["gen_ai.client.operation.cost"]
    assert cost["unit"] == "{cost}"
    (point,) = cost["points"]
    assert point["sum"] == pytest.approx(float(EXPECTED_COST), rel=1e-12)
    assert point["bounds"] == [0.001, 0.004, 0.016, 0.064, 0.256, 1.024, 4.096, 16.384, 65.536]
    assert point["attributes"] == {
        **METRIC_POINT_ATTRIBUTES,
        "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local",
    }
    (counter,) = latest["metrics"]["llmmeter.cost"]["points"]
    assert counter["value"] == pytest.approx(float(EXPECTED_COST), rel=1e-12)


AUDIO_SCRIPT = """
    import json
    import httpx
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import llmmeter
    from tests.fakes import Reply, chat_completion, mock_handler

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    body = chat_completion(model="gpt-4o-audio-preview", prompt_tokens=100, completion_tokens=50)
    body["usage"]["prompt_tokens_details"]["audio_tokens"] = 30
    body["usage"]["completion_tokens_details"]["audio_tokens"] = 20
    inner = httpx.MockTransport(mock_handler(httpx, Reply(body)))
    client = httpx.Client(transport=llmmeter.MeteredTransport(inner))
    client.post("https://api.openai.com/v1/chat/completions",
                json={"model": "gpt-4o-audio-preview", "messages": [{"role": "user", "content": "hi"}]})

    (span,) = exporter.get_finished_spans()
    counters = {}
    for resource_metrics in reader.get_metrics_data().resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name.startswith("gen_ai.client.inference.usage."):
                    points = metric.data.data_points
                    counters[metric.name] = {p.attributes["gen_ai.token.modality"]: p.value for p in points}
    print(json.dumps({"span": dict(span.attributes), "counters": counters}))
"""


def test_latest_splits_tokens_by_modality():
    """When the provider reports audio tokens, the latest conventions' per-modality attributes and
    counters split each total: audio as reported, text the remainder."""
    result = run_python(
        AUDIO_SCRIPT, env=clean_env(OTEL_SEMCONV_STABILITY_OPT_IN="gen_ai_latest_experimental")
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    span = found["span"]
    assert span["gen_ai.usage.input_tokens"] == 100
    assert span["gen_ai.usage.text.input_tokens"] == 70
    assert span["gen_ai.usage.audio.input_tokens"] == 30
    assert span["gen_ai.usage.output_tokens"] == 50
    assert span["gen_ai.usage.text.output_tokens"] == 30
    assert span["gen_ai.usage.audio.output_tokens"] == 20
    assert "gen_ai.usage.image.input_tokens" not in span
    assert found["counters"] == {
        "gen_ai.client.inference.usage.input_tokens": {"audio": 30, "text": 70},
        "gen_ai.client.inference.usage.output_tokens": {"audio": 20, "text": 30},
    }


def test_default_has_no_modality_attributes():
    """The default (v1.41.1) names no modality: the same call has only the totals."""
    result = run_python(AUDIO_SCRIPT, env=clean_env())
    span = json.loads(result.stdout.strip().splitlines()[-1])["span"]
    assert span["gen_ai.usage.input_tokens"] == 100
    assert not [name for name in span if name.startswith(("gen_ai.usage.text.", "gen_ai.usage.audio."))]


LANGCHAIN_SCRIPT = """
    import json
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llmmeter_langchain import LLMMeterCallbackHandler

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    usage = {"input_tokens": 130, "output_tokens": 20, "total_tokens": 150,
             "input_token_details": {"cache_read": 40, "cache_creation": 30}}
    model = GenericFakeChatModel(messages=iter([AIMessage("Hello", usage_metadata=usage)]))
    model.invoke("hi", config={"callbacks": [LLMMeterCallbackHandler()]})
    (span,) = exporter.get_finished_spans()
    print(json.dumps({"span": dict(span.attributes), "schema_url": span.instrumentation_scope.schema_url}))
"""


@pytest.mark.parametrize(
    ("opt_in", "cache_write", "schema_url"),
    [
        ("", "gen_ai.usage.cache_creation.input_tokens", "https://opentelemetry.io/schemas/1.41.1"),
        (
            "gen_ai_latest_experimental",
            "gen_ai.usage.cache_write.input_tokens",
            "https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev",
        ),
    ],
    ids=["default", "latest"],
)
def test_langchain_handler_follows_the_chosen_conventions(opt_in, cache_write, schema_url):
    """The LangChain handler's model spans use the same generation of names as the transport."""
    env = clean_env(OTEL_SEMCONV_STABILITY_OPT_IN=opt_in) if opt_in else clean_env()
    found = json.loads(run_python(LANGCHAIN_SCRIPT, env=env).stdout.strip().splitlines()[-1])
    assert found["schema_url"] == schema_url
    assert found["span"][cache_write] == 30
    other = {"gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_write.input_tokens"} - {
        cache_write
    }
    assert not other & found["span"].keys()
