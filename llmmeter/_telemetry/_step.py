"""A non-model step of a run (a chain, a tool, an agent): one INTERNAL span with an explicit parent.

Capture points that see whole workflows (the LangChain handler) open a :class:`Step` for each
step that is not an LLM call, so that only this package touches OpenTelemetry. Steps carry no
usage and no cost; the LLM calls inside them do. A step never attaches or detaches a context: its
children name it as their parent through :attr:`Step.handle`. Like a call's span, a step's span is
made on the telemetry thread, with the times the step really started and ended.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, Status, StatusCode

from llmmeter._providers._base import AttributeValue
from llmmeter._telemetry import _names as n
from llmmeter._telemetry._call import Parent, SpanHandle, Telemetry, resolve_parent
from llmmeter._telemetry._scrub import exception_attributes
from llmmeter._telemetry._worker import submit
from llmmeter._tracking import current_attributes

__all__ = ["Step"]


class Step:
    """One step from start to end. Create it when the step starts; end it once."""

    __slots__ = ("_telemetry", "handle", "open")

    def __init__(
        self,
        telemetry: Telemetry,
        name: str,
        attributes: Mapping[str, AttributeValue],
        *,
        parent: Parent = None,
    ) -> None:
        self._telemetry = telemetry
        self.handle = SpanHandle()
        """The step's span, for its children's ``parent``."""
        self.open = True
        user_attributes = current_attributes()
        if user_attributes:
            attributes = {**user_attributes, **attributes}
        if parent is None:
            parent = otel_context.get_current()
        submit(self._open_span, name, attributes, parent, time.time_ns())

    def _open_span(
        self, name: str, attributes: Mapping[str, AttributeValue], parent: Parent, start_ns: int
    ) -> None:
        self.handle.span = self._telemetry.tracer.start_span(
            name,
            context=resolve_parent(parent),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=start_ns,
        )

    def rename(self, name: str, attributes: Mapping[str, AttributeValue]) -> None:
        """Give the step a new name and more attributes (a chain found to be an agent)."""
        if self.open:
            submit(self._rename, name, attributes)

    def _rename(self, name: str, attributes: Mapping[str, AttributeValue]) -> None:
        span = self.handle.span
        if span is not None:
            span.update_name(name)
            span.set_attributes(attributes)

    def end(self, *, error_type: str | None = None, exception: BaseException | None = None) -> None:
        """End the step, failed when ``error_type`` is given. Later calls do nothing."""
        if self.open:
            self.open = False
            submit(self._end_span, error_type, exception, time.time_ns())

    def _end_span(self, error_type: str | None, exception: BaseException | None, end_ns: int) -> None:
        span = self.handle.span
        if span is None:
            return
        if error_type is not None and span.is_recording():
            span.set_attribute(n.ERROR_TYPE, error_type)
            span.set_status(Status(StatusCode.ERROR, error_type))
            if exception is not None:
                span.record_exception(exception, attributes=exception_attributes(exception))
        span.end(end_time=end_ns)
