"""One object per LLM call, with a lifecycle: started, then finished exactly once.

Capture points (the HTTP transport, the LangChain handler) create a :class:`Call` when the request
starts and finish it with what the response said. Everything happens on the caller's path, as in
every OpenTelemetry instrumentation: the span starts in :class:`Call`'s constructor and, in
:meth:`Call.finish`, the call is priced, counted by the enclosing ``track()``/``budget()`` blocks,
its span ended and its metric points recorded with the span's context. Only this module turns a
call into telemetry.

Cost and usage sit on exactly one span per call, the one closest to the wire that represents it:

* a LangChain model run whose HTTP call was metered too: the HTTP span (the run's span says
  ``llmmeter.counted_by="http"`` and carries neither);
* an HTTP call made inside the anthropic SDK's own call span (which already carries the usage):
  that SDK span gets the cost, and llmmeter's attempt span under it says ``counted_by="parent"``;
* otherwise the call's own span.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from decimal import Decimal
from typing import Protocol

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry._logs import LoggerProvider, get_logger
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from llmmeter import __version__
from llmmeter._context import active_attributes, active_sinks
from llmmeter._errors import BudgetExceeded, PricingFileError
from llmmeter._guard import internal_error
from llmmeter._locks import new_lock
from llmmeter._pricing import PricingTable, get_table
from llmmeter._pricing._combine import with_tool_cost
from llmmeter._pricing._cost import Cost
from llmmeter._pricing._genai import load as genai_prices_load
from llmmeter._providers._base import AttributeValue, RequestInfo, ResponseInfo
from llmmeter._reported import ReportedCost, reported_call_cost
from llmmeter._settings import settings
from llmmeter._telemetry import _names as n
from llmmeter._telemetry._attributes import (
    cost_attributes,
    metric_set,
    refusal_attributes,
    request_attributes,
    response_attributes,
    usage_attributes,
)
from llmmeter._telemetry._event import inference_event
from llmmeter._telemetry._instruments import Instruments
from llmmeter._telemetry._record import CallRecord, Ending
from llmmeter._telemetry._scrub import exception_attributes, secret_forms
from llmmeter._telemetry._semconv import conventions
from llmmeter._usage import Usage

__all__ = [
    "Call",
    "Settlement",
    "Telemetry",
    "add_observer",
    "enclosing_call",
    "remove_observer",
    "telemetry_for",
]


_ANTHROPIC_SDK_SCOPE = "com.anthropic.sdk.python"
"""The anthropic SDK's tracer; its Vertex and Bedrock clients trace under ``.vertex`` and ``.bedrock``."""
_ANTHROPIC_SDK_PROVIDERS = frozenset({n.PROVIDER_ANTHROPIC, n.PROVIDER_GCP_VERTEX_AI, n.PROVIDER_AWS_BEDROCK})
"""Providers whose calls the anthropic SDK may make, and trace."""
logger = logging.getLogger("llmmeter")
_NO_USAGE = Cost(total=None, status="no_usage")
_INVALID_USAGE = Cost(total=None, status="invalid_usage")
_PRICING_ERROR = Cost(total=None, status="pricing_error")
_UNKNOWN_TOOL_MODEL = Cost(total=None, status="unknown_model")

enclosing_call: ContextVar[Call | None] = ContextVar("llmmeter_enclosing_call", default=None)
"""The call an outer capture point (LangChain) opened; an HTTP call made inside it is its child.

Set, never reset: a finished call is simply no longer open, so no context is attached or detached.
"""


class Settlement(Protocol):
    """What the enclosing budgets reserved for a call (``_budgets._reserve.Reservation``): settled
    with its cost when it finishes, on a remote store possibly later (awaited by async code)."""

    done: bool
    """True once :meth:`settle` has been called."""

    def settle(self, cost: Decimal | None) -> None:
        """Settle with what the call cost (None when it is not counted)."""

    def release(self) -> None:
        """Give the reservation back unspent."""

    async def settled(self) -> None:
        """Wait until a remote store has the settlement."""


Observer = Callable[[CallRecord], None]
_observers: list[Observer] = []


def add_observer(observer: Observer) -> None:
    """Call ``observer(record)`` for every finished call (used by ``llmmeter.testing``)."""
    _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    """Stop calling ``observer``."""
    _observers.remove(observer)


class Telemetry:
    """A tracer, the metric instruments and a logger (for the inference events), from explicit
    providers or the global ones.

    Made where metering is set up (``instrument()``, a wrapper transport, a handler), so that is
    where the price database loads too: never in the middle of the app's first concurrent calls.
    """

    __slots__ = ("instruments", "logger", "tracer")

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> None:
        _load_prices()
        self.tracer = trace.get_tracer(
            n.INSTRUMENTATION_SCOPE, __version__, tracer_provider, schema_url=conventions.schema_url
        )
        self.instruments = _instruments_of(meter_provider or metrics.get_meter_provider())
        self.logger = get_logger(
            n.INSTRUMENTATION_SCOPE, __version__, logger_provider, schema_url=conventions.schema_url
        )


# One set of instruments per meter provider: the SDK keeps the first observable counter of a name
# and ignores the callbacks of a second, so every Telemetry on a provider must share its totals.
_instruments: weakref.WeakKeyDictionary[MeterProvider, Instruments] = weakref.WeakKeyDictionary()
_instruments_lock = new_lock()


def _instruments_of(provider: MeterProvider) -> Instruments:
    with _instruments_lock:
        instruments = _instruments.get(provider)
        if instruments is None:
            meter = provider.get_meter(n.INSTRUMENTATION_SCOPE, __version__, conventions.schema_url)
            instruments = _instruments[provider] = Instruments.create(meter)
        return instruments


_default: Telemetry | None = None

_fork_generation = 0
"""Bumped in a forked child: a call started before the fork is the parent's to record."""


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def telemetry_for(
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    logger_provider: LoggerProvider | None = None,
) -> Telemetry:
    """The telemetry on the given providers; with none, the shared one on the process's global
    providers (proxies until the app sets them)."""
    global _default
    if tracer_provider is not None or meter_provider is not None or logger_provider is not None:
        return Telemetry(tracer_provider, meter_provider, logger_provider)
    if _default is None:
        _default = Telemetry()
    return _default


class Call:
    """One LLM call from start to finish. Create it when the request starts; finish it once."""

    __slots__ = (
        "_context",
        "_counted_with",
        "_first_chunk",
        "_generation",
        "_inner_calls",
        "_sdk_span",
        "_sinks",
        "_start",
        "_telemetry",
        "_user_attributes",
        "capture",
        "credentials",
        "open",
        "reported",
        "request",
        "reservation",
        "span",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        request: RequestInfo,
        *,
        capture: str = "http",
        parent: otel_context.Context | None = None,
    ) -> None:
        """Start the call and its span now.

        The span's parent is the call an outer capture point opened in this context (an HTTP call
        made for a LangChain run), else ``parent``, else the current span. ``request`` must be
        complete: its model names the span.
        """
        self._telemetry = telemetry
        self.request = request
        self.capture = capture
        self.open = True
        self._generation = _fork_generation
        self._first_chunk: float | None = None
        self._inner_calls = 0
        self._counted_with: Call | None = None
        self._sinks = active_sinks.get()
        self._user_attributes = active_attributes.get()
        self._sdk_span: Span | None = None
        self._context: otel_context.Context | None = None
        self.reservation: Settlement | None = None
        """What the enclosing budgets reserved for this call, settled by :meth:`finish`."""
        self.credentials: Callable[[], Iterable[str]] | None = None
        """What the request carried that must never be written (credential header values), read
        only when an exception is recorded."""
        self.reported: ReportedCost | None = None
        """The cost the response's headers state (a gateway's), set by the capture point that sees
        them; a cost the body states comes with the response."""
        outer = enclosing_call.get()
        if outer is not None and outer.open:
            outer._inner_calls += 1
            parent = outer.context
        elif parent is None and request.provider in _ANTHROPIC_SDK_PROVIDERS:
            self._sdk_span = _anthropic_sdk_span()
        name = f"{request.operation} {request.model}" if request.model else request.operation
        self.span = telemetry.tracer.start_span(
            name,
            context=parent,
            kind=SpanKind.CLIENT,
            attributes=request_attributes(request, capture, self._user_attributes),
        )
        self._start = time.perf_counter()

    @property
    def context(self) -> otel_context.Context:
        """A context whose current span is this call's: the parent of what happens inside it."""
        context = self._context
        if context is None:
            context = self._context = trace.set_span_in_context(self.span)
        return context

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
        """End the call: price it, count it, end its span, record its metric points. Later calls do nothing.

        ``error_type`` defaults to the type of ``exception``, then to the error the body reported.
        ``cost`` replaces pricing when the capture point knows it already (a LangChain cache hit
        costs nothing); ``attributes`` are added to the span.
        """
        if not self.open:
            return
        self.open = False
        if self._generation != _fork_generation:
            return  # a copy inherited through fork: the parent records the call
        duration = time.perf_counter() - self._start
        if response is None:
            response = ResponseInfo(complete=False)
        if ending == "closed_early" and response.complete:
            # Clients stop reading at a stream's final event ([DONE], message_stop) and close it:
            # everything was received.
            ending = "complete"
        if error_type is None:
            error_type = type(exception).__name__ if exception is not None else response.error_type
        request = self.request
        if cost is None:
            if self.reported is None and response.reported_cost is None:
                cost = _price(request, response, ending)
            else:  # a gateway stated the cost: the table's estimate goes beside it, unknown or not
                cost = _price(request, response, ending, warn_unknown=False)
                cost = reported_call_cost(cost, self.reported, response.reported_cost, model=request.model)
        lead = self._counted_with
        counted = self._inner_calls == 0 and (lead is None or lead._inner_calls == 0)
        first = self._first_chunk
        # Positional, in the order of CallRecord's fields: a class called with keywords costs
        # CPython a dict per call (about 450 instructions a keyword).
        record = CallRecord(
            self.capture,
            request.provider,
            request.operation,
            request.model,  # request_model
            response.model,  # response_model
            response.usage,
            cost,
            duration,  # duration_s
            error_type,
            ending,
            request.stream,
            None if first is None else first - self._start,  # time_to_first_chunk_s
            counted,
        )
        if counted:
            for sink in self._sinks:
                sink.add(record)
        reservation = self.reservation
        if reservation is not None:
            reservation.settle(cost.total if counted else None)
        self._end_span(record, response, exception, attributes)
        if counted:
            self._record_metrics(record)
            if settings.events:
                self._emit_event(record, response, attributes)
        if _observers:
            for observer in _observers:
                observer(record)

    def refuse(self, refusal: BudgetExceeded) -> None:
        """End a call that a budget refused before its request was sent: its span says why (an
        event), and nothing is counted, since nothing was sent."""
        if not self.open:
            return
        self.open = False
        span = self.span
        if span.is_recording():
            span.add_event(n.BUDGET_REFUSED_EVENT, refusal_attributes(refusal))
            span.set_attribute(n.ERROR_TYPE, type(refusal).__name__)
            span.set_status(Status(StatusCode.ERROR, type(refusal).__name__))
        span.end()

    def _end_span(
        self,
        record: CallRecord,
        response: ResponseInfo,
        exception: BaseException | None,
        extra: Mapping[str, AttributeValue] | None,
    ) -> None:
        span = self.span
        if span.is_recording():
            attributes = response_attributes(record, response, self.request.provider)
            if not record.counted:
                attributes[n.COUNTED_BY] = n.COUNTED_BY_HTTP
            elif self._sdk_span is not None and self._cost_on_sdk_span(record.cost):
                attributes[n.COUNTED_BY] = n.COUNTED_BY_PARENT
            else:
                cost_attributes(record.cost, attributes)
                usage = record.usage
                if usage is not None:
                    if usage.invalid is None:
                        usage_attributes(usage, attributes)
                    else:
                        attributes[n.USAGE_INVALID] = usage.invalid
            if extra:
                attributes.update(extra)
            span.set_attributes(attributes)
            if record.error_type is not None:
                span.set_status(Status(StatusCode.ERROR, record.error_type))
                if exception is not None:
                    secrets = () if self.credentials is None else secret_forms(self.credentials())
                    span.record_exception(exception, attributes=exception_attributes(exception, secrets))
        span.end()

    def _emit_event(
        self, record: CallRecord, response: ResponseInfo, extra: Mapping[str, AttributeValue] | None
    ) -> None:
        try:
            event = inference_event(
                self.request, self.capture, self._user_attributes, record, response, extra, self.context
            )
            self._telemetry.logger.emit(event)
        except Exception as exc:
            internal_error("writing the inference event", exc)

    def _cost_on_sdk_span(self, cost: Cost) -> bool:
        """Put the cost on the anthropic SDK's call span, which carries the usage, if it still records."""
        sdk_span = self._sdk_span
        if sdk_span is None or not sdk_span.is_recording():
            return False
        sdk_span.set_attributes(cost_attributes(cost))
        return True

    def _record_metrics(self, record: CallRecord) -> None:
        instruments = self._telemetry.instruments
        metrics = metric_set(record, self.request, self._user_attributes)
        attributes = metrics.attributes
        key = metrics.key
        context = self.context
        instruments.duration.record(record.duration_s, attributes, context)
        if record.time_to_first_chunk_s is not None:
            instruments.time_to_first_chunk.record(record.time_to_first_chunk_s, attributes, context)
        cost = record.cost
        total = cost.total
        usage = record.usage
        valid_usage = usage if usage is not None and usage.invalid is None else None
        instruments.totals.add(key, cost.status, total, valid_usage)
        if valid_usage is not None:
            instruments.record_tokens(valid_usage, metrics, context)
        latest = instruments.latest
        if latest is not None:
            if usage is None:
                latest.record_tokens(None, attributes, key, context)
            if total is not None:
                latest.cost.record(
                    float(total),
                    {**attributes, n.COST_CURRENCY: cost.currency, n.COST_SOURCE: cost.origin},
                    context,
                )


_reported_pricing_error: PricingFileError | None = None


def _pricing_failed(error: PricingFileError) -> None:
    """Log, once per broken file, why calls are recorded unpriced."""
    global _reported_pricing_error
    if _reported_pricing_error is not error:
        _reported_pricing_error = error
        logger.error(
            "llmmeter: %s; calls are recorded with their tokens but no cost until it is fixed", error
        )


_prices_loaded = False
_prices_lock = new_lock()


def _load_prices() -> None:
    global _prices_loaded
    if _prices_loaded:
        return
    with _prices_lock:  # a Telemetry made at the same moment waits until the prices are loaded
        if not _prices_loaded:
            try:
                genai_prices_load()
                get_table()  # reads the supplement and LLMMETER_PRICING_FILE: no file I/O on a call
            except PricingFileError:
                pass  # kept by the table; each call then records pricing_error, logged once
            except Exception as exc:
                internal_error("loading the price database", exc)
            _prices_loaded = True


def _price(request: RequestInfo, response: ResponseInfo, ending: Ending, warn_unknown: bool = True) -> Cost:
    usage = response.usage
    if usage is None:
        return _NO_USAGE
    if usage.invalid is not None:
        return _INVALID_USAGE
    if usage.is_empty:
        return _NO_USAGE
    model = request.billed_model or response.model or request.model
    try:
        table = get_table()
    except PricingFileError as error:
        _pricing_failed(error)
        return _PRICING_ERROR
    cost = table.price_usage(
        model,
        usage,
        provider=request.provider,
        service_tier=response.service_tier or request.service_tier,
        size=response.size,
        requested_model=None if request.billed_model else request.model,  # an endpoint's rate is its own
        warn_unknown=warn_unknown,
        quality=response.quality,
    )
    if response.tool_usage is not None:
        cost = _with_tool_cost(cost, table, response.tool_usage, request.provider)
    if cost.status == "ok" and (not response.complete or ending != "complete" or response.estimated):
        # Usage from a body that did not finish may be partial; estimated usage is an estimate.
        return Cost(
            total=cost.total,
            components=cost.components,
            status="estimated",
            model=cost.model,
            source=cost.source,
            service_tier=cost.service_tier,
            reason="the response did not finish: its usage may be partial",
        )
    return cost


def _with_tool_cost(
    cost: Cost, table: PricingTable, tool_usage: tuple[str | None, Usage], provider: str
) -> Cost:
    """``cost`` plus what a hosted tool used, at its own model's rates (Responses' image generation)."""
    model, usage = tool_usage
    tool_cost = table.price_usage(model, usage, provider=provider) if model else _UNKNOWN_TOOL_MODEL
    return with_tool_cost(cost, tool_cost, "image_generation")


def _anthropic_sdk_span() -> Span | None:
    """The anthropic SDK's own call span, when it is the current span, to put the cost on it."""
    span = trace.get_current_span()
    scope = getattr(span, "instrumentation_scope", None)
    if scope is not None and _is_anthropic_sdk(scope.name) and span.is_recording():
        return span
    return None


def _is_anthropic_sdk(scope: str) -> bool:
    return scope == _ANTHROPIC_SDK_SCOPE or (
        scope.startswith(_ANTHROPIC_SDK_SCOPE) and scope[len(_ANTHROPIC_SDK_SCOPE)] == "."
    )
