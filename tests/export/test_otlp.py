"""configure(otlp=True): spans and metrics reach an OTLP/HTTP receiver with their cost (decoded protobuf)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.export.conftest import clean_env, run_python
from tests.export.otlp_receiver import OTLPReceiver, attributes
from tests.export.workload import EXPECTED_COST_BY_MODEL, EXPECTED_TOKENS, FAILED_CALLS, PRICED_CALLS, M

WORKLOAD = """
    import llmmeter
    from tests.export.workload import run_known_calls

    llmmeter.configure(otlp=True, service_name="checkout", metric_attributes=["tenant"])
    run_known_calls()
    # nothing flushed by hand: the providers llmmeter installed export at exit
"""


@pytest.fixture(scope="module")
def received() -> Iterator[OTLPReceiver]:
    """What a process running the known calls with configure(otlp=True) exported."""
    with OTLPReceiver() as receiver:
        env = clean_env(
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_RESOURCE_ATTRIBUTES="deployment.environment.name=test",
        )
        run_python(WORKLOAD, env=env)
        yield receiver


def llmmeter_spans(receiver: OTLPReceiver) -> list[tuple[dict[str, Any], Span]]:
    """(span attributes, span) for the spans llmmeter made."""
    return [(attributes(span.attributes), span) for _, scope, span in receiver.spans() if scope == "llmmeter"]


def test_every_call_arrives_as_a_span(received):
    """One llmmeter span per call, sent as protobuf to /v1/traces."""
    assert received.rejected == []
    spans = llmmeter_spans(received)
    assert len(spans) == PRICED_CALLS + FAILED_CALLS
    assert all(span.kind == Span.SPAN_KIND_CLIENT for _, span in spans)


def test_spans_carry_the_cost_of_their_call(received):
    """Each priced call's gen_ai.usage.cost.amount is its hand-computed cost, in USD, priced locally:
    on llmmeter's span, or on the anthropic SDK's own call span (which carries that call's usage)."""
    costs: dict[str, Decimal] = defaultdict(Decimal)
    costed = [
        attributes(span.attributes)
        for _, scope, span in received.spans()
        if scope in ("llmmeter", "com.anthropic.sdk.python")
    ]
    for attrs in costed:
        if "gen_ai.usage.cost.amount" not in attrs:
            continue
        assert attrs["gen_ai.usage.cost.currency"] == "USD"
        assert attrs["gen_ai.usage.cost.source"] == "local"
        assert attrs["llmmeter.cost.status"] == "ok"
        costs[attrs["gen_ai.response.model"]] += Decimal(str(attrs["gen_ai.usage.cost.amount"]))
    assert costs == EXPECTED_COST_BY_MODEL


def test_span_cost_components_and_usage(received):
    """The gpt-5.4 span splits its cost into input, cache_read and output, with the usage that made it."""
    (attrs,) = [
        a for a, _ in llmmeter_spans(received) if a.get("gen_ai.response.model") == "gpt-5.4-2026-03-05"
    ]
    assert attrs["llmmeter.cost.input"] == float(15_000 * Decimal("2.50") / M)
    assert attrs["llmmeter.cost.cache_read"] == float(5000 * Decimal("0.25") / M)
    assert attrs["llmmeter.cost.output"] == float(3000 * Decimal("15") / M)
    assert attrs["gen_ai.usage.input_tokens"] == 20_000
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 5000
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 1000
    assert attrs["tenant"] == "globex"


def test_failed_call_span_has_error_and_no_cost(received):
    """The call answered with HTTP 500 arrives as an error span without a cost amount."""
    failed = [(a, s) for a, s in llmmeter_spans(received) if "error.type" in a]
    assert len(failed) == FAILED_CALLS
    attrs, span = failed[0]
    assert attrs["error.type"] == "500"
    assert span.status.code == Status.STATUS_CODE_ERROR
    assert "gen_ai.usage.cost.amount" not in attrs


def test_anthropic_sdk_span_gets_the_cost_too(received):
    """The anthropic SDK's own call span, exported alongside, carries the cost llmmeter computed."""
    sdk = [
        attributes(s.attributes) for _, scope, s in received.spans() if scope == "com.anthropic.sdk.python"
    ]
    assert len(sdk) == 1
    assert Decimal(str(sdk[0]["gen_ai.usage.cost.amount"])) == EXPECTED_COST_BY_MODEL["claude-sonnet-4-6"]


def test_cost_metric_sums_to_the_expected_cost_per_model(received):
    """The llmmeter.cost counter (unit USD) sums, per response model, to the hand-computed costs."""
    totals: dict[str, float] = defaultdict(float)
    for attrs, unit, point in received.metric_points("llmmeter.cost"):
        assert unit == "USD"
        totals[attrs["gen_ai.response.model"]] += point.as_double
    assert totals.keys() == EXPECTED_COST_BY_MODEL.keys()
    for model, expected in EXPECTED_COST_BY_MODEL.items():
        assert totals[model] == pytest.approx(float(expected), rel=1e-12)


def test_cost_metric_carries_the_allow_listed_tenant(received):
    """configure(metric_attributes=["tenant"]) puts the tenant on the cost metric's points."""
    tenants = {attrs["tenant"] for attrs, _, _ in received.metric_points("llmmeter.cost")}
    assert tenants == {"acme", "globex"}


def test_token_usage_histogram_and_token_counter(received):
    """gen_ai.client.token.usage sums input and output; llmmeter.tokens counts every token type."""
    histogram: dict[str, float] = defaultdict(float)
    for attrs, unit, point in received.metric_points("gen_ai.client.token.usage"):
        assert unit == "{token}"
        histogram[attrs["gen_ai.token.type"]] += point.sum
    assert histogram == {"input": EXPECTED_TOKENS["input"], "output": EXPECTED_TOKENS["output"]}
    counter: dict[str, float] = defaultdict(float)
    for attrs, _, point in received.metric_points("llmmeter.tokens"):
        counter[attrs["gen_ai.token.type"]] += point.as_int or point.as_double
    assert counter == EXPECTED_TOKENS


def test_duration_histogram_counts_every_call_and_marks_the_failure(received):
    """gen_ai.client.operation.duration counts all calls, the failed one with error.type."""
    counts = {
        attrs.get("error.type"): 0
        for attrs, _, _ in received.metric_points("gen_ai.client.operation.duration")
    }
    for attrs, unit, point in received.metric_points("gen_ai.client.operation.duration"):
        assert unit == "s"
        counts[attrs.get("error.type")] += point.count
    assert counts == {None: PRICED_CALLS, "500": FAILED_CALLS}


def test_resource_names_the_service_and_the_process(received):
    """Spans and metrics share a resource: configure()'s service.name, OTEL_RESOURCE_ATTRIBUTES, an id."""
    span_resources = {tuple(sorted(resource.items())) for resource, _, _ in received.spans()}
    metric_resources = {tuple(sorted(resource.items())) for resource in received.resources()}
    assert span_resources == metric_resources
    (resource,) = (dict(items) for items in span_resources)
    assert resource["service.name"] == "checkout"
    assert resource["deployment.environment.name"] == "test"
    assert resource["service.instance.id"]


def test_environment_service_name_wins_over_code():
    """OTEL_SERVICE_NAME, set by whoever deploys the app, beats configure(service_name=...)."""
    script = """
        import llmmeter
        from tests import fakes
        from tests.export.workload import openai_client

        llmmeter.configure(otlp=True, service_name="from-code")
        openai_client(fakes.Reply(fakes.chat_completion())).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    """
    with OTLPReceiver() as receiver:
        run_python(
            script, env=clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_SERVICE_NAME="from-env")
        )
    services = {resource["service.name"] for resource, _, _ in receiver.spans()}
    assert services == {"from-env"}
