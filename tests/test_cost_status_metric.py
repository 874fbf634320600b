"""llmmeter.calls: calls counted by llmmeter.cost.status, so unpriced calls show on a dashboard."""

from __future__ import annotations

import json

import httpx2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import llmmeter
from llmmeter._telemetry import _names as n
from llmmeter._telemetry._instruments import Instruments
from tests import fakes


def calls_points(reader: InMemoryMetricReader) -> dict[tuple[tuple[str, object], ...], int]:
    """llmmeter.calls data points, by sorted attributes."""
    data = reader.get_metrics_data()
    assert data is not None
    return {
        tuple(sorted(point.attributes.items())): point.value
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == n.METRIC_CALLS
        for point in metric.data.data_points
    }


def test_calls_are_counted_by_cost_status(meter_provider: MeterProvider, metric_reader: InMemoryMetricReader):
    """Each call adds one to the counter of its attributes and cost status; statuses stay apart."""
    instruments = Instruments.create(meter_provider.get_meter("test"))
    key = ((n.REQUEST_MODEL, "gpt-4o"), (n.PROVIDER_NAME, "openai"))
    unknown = ((n.REQUEST_MODEL, "my-local-llm"), (n.PROVIDER_NAME, "openai"))
    instruments.totals.add(key, "ok", None, None)
    instruments.totals.add(key, "ok", None, None)
    instruments.totals.add(key, "estimated", None, None)
    instruments.totals.add(unknown, "unknown_model", None, None)

    points = calls_points(metric_reader)

    def attrs(base: tuple[tuple[str, str], ...], status: str) -> tuple[tuple[str, object], ...]:
        return tuple(sorted((*base, (n.COST_STATUS, status))))

    assert points == {attrs(key, "ok"): 2, attrs(key, "estimated"): 1, attrs(unknown, "unknown_model"): 1}


def test_calls_counter_is_monotonic_and_named(
    meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
):
    """llmmeter.calls is a monotonic sum in {call}, as Prometheus' llmmeter_calls_total."""
    instruments = Instruments.create(meter_provider.get_meter("test"))
    instruments.totals.add((), "no_usage", None, None)
    data = metric_reader.get_metrics_data()
    assert data is not None
    metric = next(
        metric
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == n.METRIC_CALLS
    )
    assert metric.unit == "{call}"
    assert metric.data.is_monotonic


def test_metered_calls_are_counted_by_status(
    meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
):
    """A priced call counts as ok and a call to a model with no price as unknown_model."""

    def reply(method: str, path: str, body: bytes) -> fakes.Reply:
        model = json.loads(body)["model"]  # the response names the model that was asked for
        return fakes.Reply(fakes.chat_completion(model=model, prompt_tokens=10, completion_tokens=5))

    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, reply)), meter_provider=meter_provider
    )
    with httpx2.Client(transport=transport) as client:
        for model in ("gpt-4o", "gpt-4o", "my-local-llm"):
            body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
            client.post("https://api.openai.com/v1/chat/completions", json=body).read()

    by_status: dict[object, int] = {}
    for attributes, value in calls_points(metric_reader).items():
        status = dict(attributes)[n.COST_STATUS]
        by_status[status] = by_status.get(status, 0) + value
    assert by_status == {"ok": 2, "unknown_model": 1}
