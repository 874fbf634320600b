"""Fixtures shared by the test suite: in-memory OpenTelemetry pipelines, clean settings, strict mode."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import fields

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmmeter._settings import Settings, settings

# Internal errors raise in the project's own tests instead of being logged and swallowed.
os.environ["LLMMETER_STRICT"] = "1"


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    """Collects finished spans."""
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """A tracer provider writing to ``span_exporter``."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    """Collects metric points on demand."""
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(metric_reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    """A meter provider read by ``metric_reader``."""
    provider = MeterProvider(metric_readers=[metric_reader])
    yield provider
    provider.shutdown()


@pytest.fixture
def log_exporter() -> InMemoryLogRecordExporter:
    """Collects emitted log records (the inference events)."""
    return InMemoryLogRecordExporter()


@pytest.fixture
def logger_provider(log_exporter: InMemoryLogRecordExporter) -> Iterator[LoggerProvider]:
    """A logger provider writing to ``log_exporter``."""
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    yield provider
    provider.shutdown()


@pytest.fixture(autouse=True)
def _clean_settings() -> Iterator[None]:
    """Every test starts from the default options and pricing table, with no named budget reported."""
    saved = {f.name: getattr(settings, f.name) for f in fields(Settings)}
    yield
    for name, value in saved.items():
        setattr(settings, name, value)
    from llmmeter import _config
    from llmmeter._budgets import _status
    from llmmeter._pricing import set_table
    from llmmeter._providers._routing import forget_routes

    set_table(None)
    forget_routes()
    _config._layers = _config._PricingLayers()
    _status._known.clear()
