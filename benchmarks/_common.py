"""What the benchmarks share: a provider reply, OpenTelemetry providers, the OpenTelemetry floor and
the interleaved CPU/wall measurement.

The floor is the cost of writing, directly through the OpenTelemetry SDK, exactly the telemetry llmmeter
writes for one call. :func:`probe_telemetry` makes one real call against in-memory exporters and reads
back what came out (spans, their attributes, the synchronous metric points and their attribute sets);
:class:`FloorWriter` writes the same again, so the floor follows whatever llmmeter writes.
"""

from __future__ import annotations

import gc
import importlib
import importlib.metadata
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Literal

import httpx2
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import Asynchronous, Counter, Histogram, UpDownCounter, _Gauge
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Gauge,
    InMemoryMetricReader,
    Sum,
)
from opentelemetry.sdk.metrics.export import (
    Histogram as HistogramData,
)
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, SpanKind, StatusCode
from opentelemetry.util.types import AttributeValue
from rich.table import Table

CHAT_BODY = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": 120,
            "completion_tokens": 12,
            "total_tokens": 132,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
        "service_tier": "default",
    }
).encode()
"""A small Chat Completions response, as the provider would send it."""


def chat_handler(request: httpx2.Request) -> httpx2.Response:
    """A MockTransport handler answering every request with :data:`CHAT_BODY`."""
    return httpx2.Response(200, headers={"content-type": "application/json"}, content=CHAT_BODY)


class DropExporter(SpanExporter):
    """Accepts spans and throws them away, like a fast collector."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class SpanCounter(SpanProcessor):
    """Counts the spans that end: a check that each variant writes what it should."""

    def __init__(self) -> None:
        self.ended = 0

    def on_end(self, span: ReadableSpan) -> None:
        self.ended += 1


def providers() -> tuple[TracerProvider, MeterProvider]:
    """SDK providers set up as in production: batched span export, a metric reader.

    The BatchSpanProcessor's export thread is part of every variant's cost (``time.process_time()``
    counts all threads); the InMemoryMetricReader is never collected during the timed rounds.
    """
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DropExporter()))
    return tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()])


# --- What one call writes -------------------------------------------------------------------------

InstrumentKind = Literal["counter", "up_down_counter", "histogram", "gauge"]
Attributes = Mapping[str, AttributeValue]


@dataclass(frozen=True)
class SpanShape:
    """One span as written: its name, kind, attributes, events, and which probed span is its parent."""

    name: str
    kind: SpanKind
    attributes: Attributes
    events: tuple[tuple[str, Attributes], ...]
    error: bool
    parent: int | None


@dataclass(frozen=True)
class PointShape:
    """One metric data point: the attribute set, the value recorded, how many recordings made it."""

    attributes: Attributes
    value: float
    records: int


@dataclass(frozen=True)
class InstrumentShape:
    """One synchronous instrument and the points a call records on it."""

    name: str
    kind: InstrumentKind
    unit: str
    points: tuple[PointShape, ...]
    bounds: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Telemetry:
    """Everything one call wrote: spans (in start order), synchronous instruments, observable ones."""

    spans: tuple[SpanShape, ...]
    instruments: tuple[InstrumentShape, ...]
    observable: tuple[str, ...]
    on_return: bool
    every_instrument: tuple[InstrumentShape, ...] = ()
    """The synchronous instruments and the observable ones, the latter as the counters a
    conventional instrumentation would add to on every call."""
    """Whether the spans were exported by the time the call returned (no telemetry thread)."""

    @property
    def attribute_count(self) -> int:
        return sum(len(span.attributes) for span in self.spans)

    @property
    def point_count(self) -> int:
        return sum(point.records for instrument in self.instruments for point in instrument.points)

    def summary(self) -> str:
        kinds = ", ".join(f"{i.name} ({i.kind}, {len(i.points)})" for i in self.instruments)
        text = (
            f"{len(self.spans)} span(s), {self.attribute_count} span attributes, "
            f"{self.point_count} synchronous metric point(s): {kinds or 'none'}"
        )
        if self.observable:
            text += f"; observable instruments: {', '.join(self.observable)}"
        if not self.on_return:
            text += "; spans were NOT exported when the call returned"
        return text


def probe_telemetry(call: Callable[[TracerProvider, MeterProvider], object]) -> Telemetry:
    """Make one call with fresh in-memory providers and read back what it wrote.

    ``call`` gets the providers to use and makes one (already warmed-up) call with them.
    """
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    call(tracer_provider, meter_provider)
    on_return = bool(exporter.get_finished_spans())
    deadline = time.monotonic() + 5.0
    while not exporter.get_finished_spans() and time.monotonic() < deadline:
        time.sleep(0.01)  # an older core writes on a thread: give it a moment
    time.sleep(0.0 if on_return else 0.5)
    spans = _span_shapes(exporter.get_finished_spans())
    observable = _observable_names(meter_provider)
    instruments = _instrument_shapes(reader, exclude=set(observable))
    every_instrument = _instrument_shapes(reader, exclude=set())
    tracer_provider.shutdown()
    meter_provider.shutdown()
    return Telemetry(spans, instruments, tuple(sorted(observable)), on_return, every_instrument)


def _span_shapes(finished: Sequence[ReadableSpan]) -> tuple[SpanShape, ...]:
    ordered = sorted(finished, key=lambda span: span.start_time or 0)
    index = {span.context.span_id: i for i, span in enumerate(ordered) if span.context is not None}
    return tuple(
        SpanShape(
            name=span.name,
            kind=span.kind,
            attributes=dict(span.attributes or {}),
            events=tuple((event.name, dict(event.attributes or {})) for event in span.events),
            error=span.status.status_code is StatusCode.ERROR,
            parent=index.get(span.parent.span_id) if span.parent is not None else None,
        )
        for span in ordered
    )


def _observable_names(meter_provider: MeterProvider) -> list[str]:
    """Names of the asynchronous (observable) instruments created on ``meter_provider``.

    Read from the SDK's private registry: exported data does not say whether a sum came from a
    counter or an observable counter. If the SDK changes, every instrument counts as synchronous.
    """
    meters: Mapping[Any, Any] = getattr(meter_provider, "_meters", {})
    names = []
    for meter in meters.values():
        for instrument in getattr(meter, "_instrument_id_instrument", {}).values():
            if isinstance(instrument, Asynchronous):
                names.append(str(getattr(instrument, "name", "?")))
    return names


def _instrument_shapes(reader: InMemoryMetricReader, exclude: set[str]) -> tuple[InstrumentShape, ...]:
    data = reader.get_metrics_data()
    shapes = []
    for resource_metrics in data.resource_metrics if data is not None else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name in exclude:
                    continue
                shape = _instrument_shape(metric.name, metric.unit or "", metric.data)
                if shape is not None:
                    shapes.append(shape)
    return tuple(shapes)


def _instrument_shape(name: str, unit: str, data: object) -> InstrumentShape | None:
    if isinstance(data, HistogramData):
        points = tuple(
            PointShape(dict(p.attributes or {}), p.sum / p.count if p.count else 0.0, p.count)
            for p in data.data_points
        )
        bounds = tuple(data.data_points[0].explicit_bounds) if data.data_points else None
        return InstrumentShape(name, "histogram", unit, points, bounds)
    if isinstance(data, Sum):
        kind: InstrumentKind = "counter" if data.is_monotonic else "up_down_counter"
        points = tuple(PointShape(dict(p.attributes or {}), p.value, 1) for p in data.data_points)
        return InstrumentShape(name, kind, unit, points)
    if isinstance(data, Gauge):
        points = tuple(PointShape(dict(p.attributes or {}), p.value, 1) for p in data.data_points)
        return InstrumentShape(name, "gauge", unit, points)
    return None


# --- The OpenTelemetry floor ------------------------------------------------------------------------

EVERY_POINT_FLOOR = "floor, every point synchronous"
"""The floor with llmmeter's observable counters written as one synchronous add per call each."""

Instrument = Counter | UpDownCounter | Histogram | _Gauge


class FloorWriter:
    """Writes a :class:`Telemetry` again, directly through the OpenTelemetry SDK.

    As an instrumentation would: :meth:`start` starts the spans (before the call), :meth:`finish`
    sets their attributes, records the metric points with the context of the call's span (so the
    SDK's exemplar filter sees a sampled span, as for llmmeter's points) and ends the spans. The
    attribute mappings are the probed ones, built once: the floor is the SDK's own cost.
    """

    def __init__(
        self,
        telemetry: Telemetry,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        *,
        every_point: bool = False,
    ) -> None:
        """``every_point=True`` also writes the points of llmmeter's observable counters, one
        synchronous add per call each, as a conventional instrumentation would."""
        self._spans = telemetry.spans
        self._tracer = tracer_provider.get_tracer("benchmarks.floor")
        meter = meter_provider.get_meter("benchmarks.floor")
        self._records: list[tuple[Callable[..., None], float, Attributes]] = []
        for shape in telemetry.every_instrument if every_point else telemetry.instruments:
            record = _create(meter, shape)
            for point in shape.points:
                self._records.extend((record, point.value, point.attributes) for _ in range(point.records))
        kinds = [span.kind for span in self._spans]
        self._carrier = kinds.index(SpanKind.CLIENT) if SpanKind.CLIENT in kinds else 0

    def start(self, context: Context | None = None) -> list[Span]:
        """Start the spans; roots get ``context`` as parent (the current context when None)."""
        started: list[Span] = []
        for shape in self._spans:
            parent = context if shape.parent is None else trace.set_span_in_context(started[shape.parent])
            started.append(self._tracer.start_span(shape.name, context=parent, kind=shape.kind))
        return started

    def carrier(self, spans: Sequence[Span]) -> Span:
        """The span the metric points are recorded under (the CLIENT span, else the first)."""
        return spans[self._carrier]

    def finish(self, spans: Sequence[Span]) -> None:
        """Set the attributes, record the metric points, end the spans (children first)."""
        context = trace.set_span_in_context(spans[self._carrier])
        for span, shape in zip(spans, self._spans, strict=True):
            span.set_attributes(shape.attributes)
            for name, attributes in shape.events:
                span.add_event(name, attributes)
            if shape.error:
                span.set_status(StatusCode.ERROR)
        for record, value, attributes in self._records:
            record(value, attributes, context)
        for span in reversed(spans):
            span.end()


def floor_call(create: Callable[[], object], floor: FloorWriter) -> Callable[[], object]:
    """``create`` (a bare call) inside the floor's telemetry, its span current while the request is
    sent, as llmmeter's is: every bench's floor variant is this."""

    def call() -> object:
        spans = floor.start()
        token = otel_context.attach(trace.set_span_in_context(floor.carrier(spans)))
        try:
            result = create()
        finally:
            otel_context.detach(token)
        floor.finish(spans)
        return result

    return call


def _create(meter: Any, shape: InstrumentShape) -> Callable[..., None]:
    if shape.kind == "histogram":
        histogram: Histogram = meter.create_histogram(
            shape.name, unit=shape.unit, explicit_bucket_boundaries_advisory=shape.bounds
        )
        return histogram.record
    if shape.kind == "counter":
        counter: Counter = meter.create_counter(shape.name, unit=shape.unit)
        return counter.add
    if shape.kind == "up_down_counter":
        up_down: UpDownCounter = meter.create_up_down_counter(shape.name, unit=shape.unit)
        return up_down.add
    gauge: _Gauge = meter.create_gauge(shape.name, unit=shape.unit)
    return gauge.set


# --- Measuring ----------------------------------------------------------------------------------------

Setup = Callable[[str, Any], tuple[Callable[[], object], TracerProvider]]
"""A bench module's ``setup(variant, data)``: builds the named variant's call (and the tracer
provider whose spans a round must have exported) in a worker process."""


@dataclass
class Measured:
    """One variant's per-call CPU and wall seconds, one entry per round."""

    name: str
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    spans: list[float] = field(default_factory=list)

    @property
    def cpu_us(self) -> float:
        """Median over rounds of process CPU µs per call."""
        return statistics.median(self.cpu) * 1e6

    @property
    def cpu_lowest_us(self) -> float:
        """The lowest round's process CPU µs per call: what a call costs when nothing else on the
        machine slows it (a shared machine's noise only ever adds CPU time)."""
        return min(self.cpu) * 1e6

    @property
    def wall_us(self) -> float:
        """Median over rounds of wall µs per call."""
        return statistics.median(self.wall) * 1e6


def measure_interleaved(
    module: str, names: Sequence[str], data: Any, rounds: int, calls: int, warmup: int = 500
) -> list[Measured]:
    """Time each named variant over ``rounds`` rounds of ``calls`` calls, taking turns round by round.

    Each variant lives in a worker process of its own, built by ``module.setup(name, data)``, so
    that an instrumentation patching libraries for the whole process (OpenLLMetry's, whose
    ``uninstrument()`` leaves its wrappers in place) touches only its own variant. One worker runs
    at a time; the order rotates each round so that none always goes first. A round is timed with
    ``time.process_time()`` (the worker's threads included: the BatchSpanProcessor's export) and
    ``time.perf_counter()``, and ends with ``force_flush()`` on the tracer provider, inside the
    timing, so the round's spans are exported in that round.
    """
    spawn = multiprocessing.get_context("spawn")
    workers = []
    for name in names:
        ours, theirs = spawn.Pipe()
        process = spawn.Process(target=_serve, args=(theirs, module, name, data, warmup), daemon=True)
        process.start()
        workers.append((Measured(name), ours, process))
    try:
        for _, connection, _ in workers:
            connection.recv()  # built and warmed up
        for number in range(rounds):
            shift = number % len(workers)
            for measured, connection, _ in [*workers[shift:], *workers[:shift]]:
                connection.send(calls)
                cpu, wall, spans = connection.recv()
                measured.cpu.append(cpu)
                measured.wall.append(wall)
                measured.spans.append(spans)
    finally:
        for _, connection, process in workers:
            with suppress(OSError):  # a worker that died has closed its end
                connection.send(0)
            process.join(timeout=30)
    return [measured for measured, _, _ in workers]


def _serve(connection: Connection, module: str, name: str, data: Any, warmup: int) -> None:
    """A worker: build the variant, warm it up, then run a timed round for each request."""
    setup: Setup = importlib.import_module(module).setup
    call, tracer_provider = setup(name, data)
    counter = SpanCounter()
    tracer_provider.add_span_processor(counter)
    for _ in range(warmup):
        call()
    tracer_provider.force_flush()
    connection.send("ready")
    while calls := connection.recv():
        for _ in range(10):  # back from sleep: warm the caches again, untimed
            call()
        tracer_provider.force_flush()
        gc.collect()
        spans_start = counter.ended
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for _ in range(calls):
            call()
        tracer_provider.force_flush()
        cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
        connection.send((cpu / calls, wall / calls, (counter.ended - spans_start) / calls))
    tracer_provider.shutdown()


# --- Reporting ------------------------------------------------------------------------------------


def versions(*names: str) -> str:
    """Python's version and those of the named distributions that are installed."""
    found = [f"python {sys.version.split()[0]}"]
    for name in names:
        with suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


def variants_table(title: str, variants: Sequence[Measured]) -> Table:
    """CPU and wall time per call of each variant, and what each adds to the first (the bare one)."""
    bare = variants[0]
    table = Table(title=title, title_justify="left")
    columns = (
        "variant",
        "spans/call",
        "CPU µs/call",
        "added CPU µs",
        "lowest round",
        "added (lowest)",
        "wall µs/call",
        "added wall µs",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "variant" else "right")
    for variant in variants:
        table.add_row(
            variant.name,
            f"{statistics.mean(variant.spans):.0f}",
            f"{variant.cpu_us:.1f}",
            f"{variant.cpu_us - bare.cpu_us:+.1f}",
            f"{variant.cpu_lowest_us:.1f}",
            f"{variant.cpu_lowest_us - bare.cpu_lowest_us:+.1f}",
            f"{variant.wall_us:.1f}",
            f"{variant.wall_us - bare.wall_us:+.1f}",
        )
    return table


def targets_table(title: str) -> Table:
    """An empty table for measures held against their targets: add rows with :func:`target_row`."""
    table = Table(title=title, title_justify="left")
    for column in ("measure", "value", "target", ""):
        table.add_column(column, justify="left" if column == "measure" else "right")
    return table


def target_row(table: Table, measure: str, value: float, target: float | None, text: str = "") -> None:
    """A row: the measure, its value (``text`` if given), the target and whether it is met."""
    shown = text or f"{value:.2f}"
    if target is None:
        table.add_row(measure, shown, "", "")
    else:
        table.add_row(measure, shown, f"<= {target:g}", "met" if value <= target else "MISSED")
