"""The inference event: one ``gen_ai.client.inference.operation.details`` log record per call.

Written through the OpenTelemetry Logs API when events are on (see ``_settings``), in the context of
the call's span, by the call that carries the cost (so a call two capture points see is one event).
It repeats the span's request and response attributes, the usage and the cost, and, when the
capture mode puts content on events, the content as structured values rather than JSON strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry._logs import LogRecord
from opentelemetry.context import Context

from llmmeter._providers._base import AttributeValue, RequestInfo, ResponseInfo
from llmmeter._settings import settings
from llmmeter._telemetry import _names as n
from llmmeter._telemetry._attributes import (
    cost_attributes,
    request_attributes,
    request_content,
    response_attributes,
    response_content,
    usage_attributes,
)
from llmmeter._telemetry._record import CallRecord

__all__ = ["inference_event"]


def inference_event(
    request: RequestInfo,
    capture: str,
    user_attributes: Mapping[str, Any],
    record: CallRecord,
    response: ResponseInfo,
    extra: Mapping[str, AttributeValue] | None,
    context: Context,
) -> LogRecord:
    """The event of one finished call."""
    attributes = request_attributes(request, capture, user_attributes, content=False)
    attributes.update(response_attributes(record, response, request.provider, content=False))
    usage = record.usage
    if usage is not None:
        if usage.invalid is None:
            usage_attributes(usage, attributes)
        else:
            attributes[n.USAGE_INVALID] = usage.invalid
    cost_attributes(record.cost, attributes)
    if extra:
        attributes.update(extra)
    if settings.content_on_events:
        attributes.update(request_content(request, structured=True))
        attributes.update(response_content(response, structured=True))
    return LogRecord(event_name=n.INFERENCE_EVENT, attributes=attributes, context=context)
