"""One object per LLM call, with a lifecycle: started, then finished exactly once.

Capture points (the HTTP transport, the LangChain handler) create a :class:`Call` with what the
request said and finish it with what the response said. Only this module turns that into a span,
metric points and :func:`llmmeter.track` totals.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from llmmeter._pricing import get_table
from llmmeter._pricing._cost import Cost
from llmmeter._providers._base import AttributeValue, RequestInfo, ResponseInfo
from llmmeter._telemetry import _names as n
from llmmeter._telemetry._attributes import (
    cost_attributes,
    metric_attributes,
    request_attributes,
    response_attributes,
    token_counts,
    typed_attributes,
)
from llmmeter._telemetry._instruments import Instruments
from llmmeter._telemetry._record import CallRecord, Ending
from llmmeter._telemetry._scrub import exception_attributes
from llmmeter._telemetry._worker import flush, submit
from llmmeter._tracking import active_spends, current_attributes

__all__ = [
    "Call",
    "Parent",
    "SpanHandle",
    "Telemetry",
    "add_observer",
    "default_telemetry",
    "enclosing_call",
    "remove_observer",
]


_VERSION = "0.1.0"
_ANTHROPIC_SDK_SCOPE = "com.anthropic.sdk.python"
_NO_USAGE = Cost(total=None, status="no_usage")

Observer = Callable[[CallRecord], None]
_observers: list[Observer] = []


def add_observer(observer: Observer) -> None:
    """Call ``observer(record)`` for every finished call (used by ``llmmeter.testing``)."""
    _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    """Stop calling ``observer``."""
    _observers.remove(observer)


class Telemetry:
    """A tracer and the metric instruments, from explicit providers or the global ones."""

    __slots__ = ("instruments", "tracer")

    def __init__(
        self, tracer_provider: TracerProvider | None = None, meter_provider: MeterProvider | None = None
    ) -> None:
        self.tracer = trace.get_tracer(n.INSTRUMENTATION_SCOPE, _VERSION, tracer_provider)
        meter = metrics.get_meter(n.INSTRUMENTATION_SCOPE, _VERSION, meter_provider)
        self.instruments = Instruments.create(meter)


_default: Telemetry | None = None


def default_telemetry() -> Telemetry:
    """The telemetry on the process's global providers (proxies until the app sets them)."""
    global _default
    if _default is None:
        _default = Telemetry()
    return _default


# A capture point that sees a call first (LangChain) registers it here; an HTTP call made inside
# it becomes its child span and carries the cost. The variable is set, never reset: a finished
# call is simply no longer open, so no context is ever attached or detached.
_enclosing: ContextVar[Call | None] = ContextVar("llmmeter_enclosing_call", default=None)


def enclosing_call() -> ContextVar[Call | None]:
    """The context variable through which an outer capture point encloses inner HTTP calls."""
    return _enclosing


class SpanHandle:
    """A span made on the telemetry thread; ``span`` is None until that thread has made it."""

    __slots__ = ("span",)

    def __init__(self) -> None:
        self.span: Span | None = None

    def context(self) -> otel_context.Context | None:
        """A context whose current span is this one (on the telemetry thread, once made)."""
        return None if self.span is None else trace.set_span_in_context(self.span)


Parent = otel_context.Context | SpanHandle | None
"""Where a span hangs: an OpenTelemetry context, a span still being made, or the current context."""


def resolve_parent(parent: Parent) -> otel_context.Context | None:
    """The context to start a span in, on the telemetry thread."""
    if isinstance(parent, SpanHandle):
        return parent.context()
    return parent


class Call:
    """One LLM call from start to finish. Create it when the request starts; finish it once.

    The caller's thread does only what must be known at once: parsing, pricing, ``track()``
    totals. The span and metric points are written on the telemetry thread (``_worker``), with
    the call's real start and end times.
    """

    __slots__ = (
        "_attributes",
        "_counted_with",
        "_first_chunk",
        "_inner_calls",
        "_opening",
        "_prepare",
        "_sdk_span",
        "_spends",
        "_start",
        "_telemetry",
        "capture",
        "handle",
        "open",
        "request",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        request: RequestInfo,
        *,
        capture: str = "http",
        parent: Parent = None,
        leaf: bool = False,
        prepare: Callable[[RequestInfo], None] | None = None,
    ) -> None:
        """Start the call now.

        ``leaf=True`` promises that no span will hang under this one (an HTTP call), so its span
        is made when it finishes, in one trip to the telemetry thread. ``prepare(request)``, if
        given, completes the request there first (the capture point's deferred parsing).
        """
        self._telemetry = telemetry
        self.request = request
        self._prepare = prepare
        self.capture = capture
        self.open = True
        self._start = time.perf_counter()
        start_ns = time.time_ns()
        self._first_chunk: float | None = None
        self._inner_calls = 0
        self._counted_with: Call | None = None
        self._spends = active_spends()
        self._attributes = current_attributes()
        self._sdk_span: Span | None = None
        self.handle = SpanHandle()
        outer = _enclosing.get()
        if outer is not None and outer.open:
            outer._inner_calls += 1
            parent = outer.handle
        elif parent is None:
            parent = otel_context.get_current()
            if request.provider == n.PROVIDER_ANTHROPIC:
                self._sdk_span = _anthropic_sdk_span()
        self._opening: tuple[Parent, int] | None = None
        if leaf:
            self._opening = (parent, start_ns)
        else:
            submit(self._open_span, parent, start_ns)

    def _open_span(self, parent: Parent, start_ns: int) -> None:
        request = self.request
        if self._prepare is not None:
            self._prepare(request)
            self._prepare = None
        name = f"{request.operation} {request.model}" if request.model else request.operation
        self.handle.span = self._telemetry.tracer.start_span(
            name,
            context=resolve_parent(parent),
            kind=SpanKind.CLIENT,
            attributes=request_attributes(request, self.capture, self._attributes),
            start_time=start_ns,
        )

    def count_with(self, lead: Call) -> None:
        """Count this call only if ``lead`` encloses no inner call either.

        For calls whose HTTP calls all nest under ``lead``: the several runs that one LangChain
        ``generate()`` starts at once share the enclosing context, so ``lead`` encloses them all.
        """
        self._counted_with = lead

    def first_chunk(self) -> None:
        """Note the arrival of the first chunk of a streamed response."""
        if self._first_chunk is None:
            self._first_chunk = time.perf_counter()

    def finish(
        self,
        response: ResponseInfo | None = None,
        *,
        error_type: str | None = None,
        ending: Ending = "complete",
        exception: BaseException | None = None,
        cost: Cost | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        """End the call. Later calls do nothing.

        The end time is taken now; pricing, ``track()`` totals, the span and the metric points are
        done on the telemetry thread (a ``Spend`` read, or :func:`llmmeter.flush`, waits for them).
        ``cost`` replaces pricing when the capture point knows it already (a LangChain cache hit
        costs nothing); ``attributes`` are added to the span.
        """
        self._close(self._finish, response, error_type, ending, exception, cost, attributes)

    def finish_later(
        self,
        build: Callable[[], ResponseInfo],
        ending: Ending,
        exception: BaseException | None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        """Like :meth:`finish`, with the response read on the telemetry thread by ``build()``."""
        self._close(self._finish_built, build, ending, exception, attributes)

    def _close(self, task: Callable[..., None], *args: Any) -> None:
        """Take the end time now; queue ``task(*args, duration, end_ns)`` on the telemetry thread."""
        if not self.open:
            return
        self.open = False
        duration = time.perf_counter() - self._start
        submit(task, *args, duration, time.time_ns())
        if self._sdk_span is not None:
            # The anthropic SDK ends its span right after the call: price it while it still records.
            flush()

    def _finish_built(
        self,
        build: Callable[[], ResponseInfo],
        ending: Ending,
        exception: BaseException | None,
        attributes: Mapping[str, AttributeValue] | None,
        duration: float,
        end_ns: int,
    ) -> None:
        response = build()
        if ending == "closed_early" and response.complete:
            # Clients stop reading at a stream's final event ([DONE], message_stop) and close it:
            # everything was received.
            ending = "complete"
        error_type = None if exception is None else type(exception).__name__
        self._finish(response, error_type, ending, exception, None, attributes, duration, end_ns)

    def _finish(
        self,
        response: ResponseInfo | None,
        error_type: str | None,
        ending: Ending,
        exception: BaseException | None,
        cost: Cost | None,
        attributes: Mapping[str, AttributeValue] | None,
        duration: float,
        end_ns: int,
    ) -> None:
        if self._opening is not None:
            self._open_span(*self._opening)
            self._opening = None
        response = response or ResponseInfo(complete=False)
        request = self.request
        error_type = error_type or response.error_type
        if cost is None:
            cost = _price(request, response, ending)
        counted = self._inner_calls == 0 and (
            self._counted_with is None or self._counted_with._inner_calls == 0
        )
        ttfc = None if self._first_chunk is None else self._first_chunk - self._start
        record = CallRecord(
            capture=self.capture,
            provider=request.provider,
            operation=request.operation,
            request_model=request.model,
            response_model=response.model,
            usage=response.usage,
            cost=cost,
            duration_s=duration,
            error_type=error_type,
            ending=ending,
            stream=request.stream,
            time_to_first_chunk_s=ttfc,
            counted=counted,
        )
        if counted:
            for spend in self._spends:
                spend.add(record)
        sdk_span = self._sdk_span
        if sdk_span is not None and cost.total is not None and sdk_span.is_recording():
            sdk_span.set_attributes(cost_attributes(cost))
        self._write(record, response, exception, end_ns, attributes)
        for observer in _observers:
            observer(record)

    def _write(
        self,
        record: CallRecord,
        response: ResponseInfo,
        exception: BaseException | None,
        end_ns: int,
        extra: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        span = self.handle.span
        if span is not None:
            if span.is_recording():
                span.set_attributes(response_attributes(record, response, self.request.provider))
                if extra:
                    span.set_attributes(extra)
                if record.error_type is not None:
                    span.set_status(Status(StatusCode.ERROR, record.error_type))
                    if exception is not None:
                        span.record_exception(exception, attributes=exception_attributes(exception))
            span.end(end_time=end_ns)
        if record.counted:
            self._record_metrics(record)

    def _record_metrics(self, record: CallRecord) -> None:
        instruments = self._telemetry.instruments
        attributes = metric_attributes(record, self.request, self._attributes)
        instruments.duration.record(record.duration_s, attributes)
        if record.time_to_first_chunk_s is not None:
            instruments.time_to_first_chunk.record(record.time_to_first_chunk_s, attributes)
        if record.cost.total is not None:
            instruments.cost.add(float(record.cost.total), attributes)
        usage = record.usage
        if usage is None:
            return
        typed = typed_attributes(attributes)
        instruments.token_usage.record(usage.input_tokens, typed[n.TOKEN_TYPE_INPUT])
        instruments.token_usage.record(usage.output_tokens, typed[n.TOKEN_TYPE_OUTPUT])
        for token_type, count in token_counts(usage):
            if count:
                instruments.tokens.add(count, typed[token_type])


def _price(request: RequestInfo, response: ResponseInfo, ending: Ending) -> Cost:
    usage = response.usage
    if usage is None or usage.is_empty:
        return _NO_USAGE
    model = response.model or request.model
    cost = get_table().price_usage(
        model,
        usage,
        provider=request.provider,
        service_tier=response.service_tier or request.service_tier,
    )
    if cost.status == "ok" and (not response.complete or ending != "complete"):
        # Usage from a body that did not finish may be partial.
        return Cost(
            total=cost.total,
            components=cost.components,
            status="estimated",
            model=cost.model,
            source=cost.source,
            service_tier=cost.service_tier,
        )
    return cost


def _anthropic_sdk_span() -> Span | None:
    """The anthropic SDK's own call span, when it is the current span, to put the cost on it too."""
    span = trace.get_current_span()
    scope = getattr(span, "instrumentation_scope", None)
    if scope is not None and scope.name == _ANTHROPIC_SDK_SCOPE and span.is_recording():
        return span
    return None
