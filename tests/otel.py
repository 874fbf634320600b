"""Reading what the in-memory OpenTelemetry pipelines collected."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan


def points(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, Any], Any]]:
    """(attributes, value) for each data point of metric ``name``; value is the sum for counters
    and the (count, sum) pair for histograms."""
    data = reader.get_metrics_data()
    found: list[tuple[dict[str, Any], Any]] = []
    if data is None:
        return found
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    value = (point.count, point.sum) if hasattr(point, "count") else point.value
                    found.append((dict(point.attributes or {}), value))
    return found


def metric_total(reader: InMemoryMetricReader, name: str, **where: Any) -> float:
    """The summed value of a counter's points whose attributes include ``where``."""
    total = 0.0
    for attributes, value in points(reader, name):
        if all(attributes.get(key.replace("__", ".")) == v for key, v in where.items()):
            total += value
    return total


def instrument_unit(reader: InMemoryMetricReader, name: str) -> str | None:
    """The unit a metric was created with."""
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == name:
                    return metric.unit
    return None


def llm_spans(spans: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> list[ReadableSpan]:
    """The spans llmmeter made."""
    return [
        span for span in spans if span.instrumentation_scope and span.instrumentation_scope.name == "llmmeter"
    ]


def inference_events(exporter: InMemoryLogRecordExporter) -> list[Any]:
    """The API log records of the inference events llmmeter emitted, in order."""
    return [
        record.log_record
        for record in exporter.get_finished_logs()
        if record.log_record.event_name == "gen_ai.client.inference.operation.details"
    ]
