"""A non-model step of a run (a chain, a tool, an agent): one INTERNAL span with an explicit parent.

Capture points that see whole workflows (the LangChain handler) open a :class:`Step` for each
step that is not an LLM call, so that only this package touches OpenTelemetry. Steps carry no
usage and no cost; the LLM calls inside them do. A step never attaches or detaches a context: its
children name :attr:`Step.context` as their parent.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from llmmeter._context import active_attributes
from llmmeter._providers._base import AttributeValue
from llmmeter._telemetry import _names as n
from llmmeter._telemetry._call import Telemetry
from llmmeter._telemetry._scrub import exception_attributes

__all__ = ["Step"]


class Step:
    """One step from start to end. Create it when the step starts; end it once."""

    __slots__ = ("_context", "open", "span")

    def __init__(
        self,
        telemetry: Telemetry,
        name: str,
        attributes: Mapping[str, AttributeValue],
        *,
        parent: otel_context.Context | None = None,
    ) -> None:
        """Start the step's span now, under ``parent`` (the current span when None)."""
        user_attributes = active_attributes.get()
        if user_attributes:
            attributes = {**user_attributes, **attributes}
        self.span = telemetry.tracer.start_span(
            name, context=parent, kind=SpanKind.INTERNAL, attributes=attributes
        )
        self.open = True
        self._context: otel_context.Context | None = None

    @property
    def context(self) -> otel_context.Context:
        """A context whose current span is this step's, for its children's ``parent``."""
        if self._context is None:
            self._context = trace.set_span_in_context(self.span)
        return self._context

    def rename(self, name: str, attributes: Mapping[str, AttributeValue]) -> None:
        """Give the step a new name and more attributes (a chain found to be an agent)."""
        if self.open:
            self.span.update_name(name)
            self.span.set_attributes(attributes)

    def end(self, *, error_type: str | None = None, exception: BaseException | None = None) -> None:
        """End the step, failed when ``error_type`` is given. Later calls do nothing."""
        if not self.open:
            return
        self.open = False
        span = self.span
        if error_type is not None and span.is_recording():
            span.set_attribute(n.ERROR_TYPE, error_type)
            span.set_status(Status(StatusCode.ERROR, error_type))
            if exception is not None:
                span.record_exception(exception, attributes=exception_attributes(exception))
        span.end()
