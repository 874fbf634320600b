"""The attributes written on spans and metric points, built from a finished call.

Span attributes follow the GenAI conventions (names in ``_names``); metric attributes are the
bounded set DESIGN.md lists, plus the user's allow-listed keys. Captured content goes through the
user's redact hook first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from llmmeter._errors import BudgetExceeded, BudgetUnavailable
from llmmeter._pricing._cost import Cost
from llmmeter._providers._base import RequestInfo, ResponseInfo
from llmmeter._settings import settings
from llmmeter._telemetry import _names as n
from llmmeter._telemetry._record import CallRecord
from llmmeter._telemetry._semconv import conventions
from llmmeter._usage import Usage

__all__ = [
    "MetricSet",
    "cost_attributes",
    "metric_attributes",
    "metric_set",
    "request_attributes",
    "request_content",
    "response_attributes",
    "response_content",
    "usage_attributes",
]

logger = logging.getLogger("llmmeter")

# The names that differ between the two generations of the conventions, chosen once (see _semconv).
_CACHE_WRITE = conventions.cache_write_attribute
_TIME_TO_FIRST_CHUNK = conventions.time_to_first_chunk_attribute
_LATEST = conventions.latest


def request_attributes(
    request: RequestInfo, capture: str, user_attributes: Mapping[str, Any], *, content: bool = True
) -> dict[str, Any]:
    """A call's span attributes known at its start; its content (as JSON strings) only when
    ``content`` and content goes on spans."""
    attributes: dict[str, Any] = dict(user_attributes)
    attributes[n.OPERATION_NAME] = request.operation
    attributes[n.PROVIDER_NAME] = request.provider
    attributes[n.CAPTURE] = capture
    if request.model:
        attributes[n.REQUEST_MODEL] = request.model
    if request.stream:
        attributes[n.REQUEST_STREAM] = True
    if request.server_address:
        attributes[n.SERVER_ADDRESS] = request.server_address
    if request.server_port:
        attributes[n.SERVER_PORT] = request.server_port
    attributes.update(request.params)
    if content and settings.content_on_spans:
        attributes.update(request_content(request, structured=False))
    return attributes


def request_content(request: RequestInfo, *, structured: bool) -> dict[str, Any]:
    """The request's captured content, through the redact hook: structured values (for events)
    or JSON strings (for spans)."""
    attributes: dict[str, Any] = {}
    for name, value in (
        (n.SYSTEM_INSTRUCTIONS, request.system_instructions or None),
        (n.INPUT_MESSAGES, request.input_messages),
        (n.TOOL_DEFINITIONS, request.tool_definitions or None),
    ):
        if value is not None:
            content = _content(value, structured)
            if content is not None:
                attributes[name] = content
    return attributes


def response_content(response: ResponseInfo, *, structured: bool) -> dict[str, Any]:
    """The response's captured content (see :func:`request_content`)."""
    if response.output_messages is None:
        return {}
    content = _content(response.output_messages, structured)
    return {} if content is None else {n.OUTPUT_MESSAGES: content}


def _content(value: Any, structured: bool) -> Any:
    redact = settings.redact
    if redact is not None:
        try:
            value = redact(value)
        except Exception as exc:  # the user's hook failed: drop the content, never write it unredacted
            _redact_failed(redact, exc)
            return None
        if value is None:
            return None
    if structured:
        return _any_value(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


_INT64 = range(-(2**63), 2**63)


def _any_value(value: Any) -> Any:
    """``value`` as a log record's AnyValue: maps with string keys, lists, scalars; whatever else
    (and integers an exporter cannot encode) as its string."""
    if value is None or isinstance(value, str | bool | float | bytes):
        return value
    if isinstance(value, int):
        return value if value in _INT64 else str(value)
    if isinstance(value, Mapping):
        return {str(key): _any_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_any_value(item) for item in value]
    return str(value)


_hook_warned_about: Any = None


def _redact_failed(redact: Any, exc: Exception) -> None:
    """Warn, once per configured hook, that it raised. Only the exception's type is logged: its
    message may quote the content it was redacting."""
    global _hook_warned_about
    if _hook_warned_about is not redact:
        _hook_warned_about = redact
        logger.warning(
            "llmmeter: configure(redact=...) raised %s; content is dropped where it fails",
            type(exc).__name__,
        )


def cost_attributes(cost: Cost, attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The attributes stating ``cost``, added to ``attributes`` (returned) or to a new dict."""
    if attributes is None:
        attributes = {}
    attributes[n.COST_STATUS] = cost.status
    if cost.total is not None:
        attributes[n.COST_AMOUNT] = float(cost.total)
        attributes[n.COST_CURRENCY] = cost.currency
        attributes[n.COST_SOURCE] = cost.origin
        if cost.local_total is not None:
            attributes[n.COST_LOCAL_AMOUNT] = float(cost.local_total)
        for component, amount in cost.components.items():
            attributes[n.COST_COMPONENT_PREFIX + component] = float(amount)
    if cost.reason is not None:
        attributes[n.COST_REASON] = cost.reason
    if cost.model is not None:
        attributes[n.PRICING_MODEL] = cost.model
    if cost.source is not None:
        attributes[n.PRICING_SOURCE] = cost.source
    return attributes


def usage_attributes(usage: Usage, attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The attributes stating ``usage``'s counts, added to ``attributes`` (returned) or to a new dict."""
    if attributes is None:
        attributes = {}
    attributes[n.USAGE_INPUT_TOKENS] = usage.input_tokens
    attributes[n.USAGE_OUTPUT_TOKENS] = usage.output_tokens
    if usage.cache_read_tokens:
        attributes[n.USAGE_CACHE_READ_INPUT_TOKENS] = usage.cache_read_tokens
    if usage.cache_write_total:
        attributes[_CACHE_WRITE] = usage.cache_write_total
    if usage.reasoning_tokens:
        attributes[n.USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_tokens
    if _LATEST and (
        usage.input_audio_tokens
        or usage.input_image_tokens
        or usage.output_audio_tokens
        or usage.output_image_tokens
    ):
        attributes.update(_modality_attributes(usage))
    if usage.seconds or usage.characters or usage.images:
        _media_usage(usage, attributes)
    return attributes


def _modality_attributes(usage: Usage) -> dict[str, int]:
    """The latest conventions' per-modality counts, for a usage the provider broke down by modality;
    text is what remains of each total."""
    attributes = {
        n.USAGE_TEXT_INPUT_TOKENS: max(
            usage.input_tokens - usage.input_audio_tokens - usage.input_image_tokens, 0
        ),
        n.USAGE_TEXT_OUTPUT_TOKENS: max(
            usage.output_tokens - usage.output_audio_tokens - usage.output_image_tokens, 0
        ),
    }
    for name, count in (
        (n.USAGE_AUDIO_INPUT_TOKENS, usage.input_audio_tokens),
        (n.USAGE_AUDIO_OUTPUT_TOKENS, usage.output_audio_tokens),
        (n.USAGE_AUDIO_CACHE_READ_INPUT_TOKENS, usage.cache_read_audio_tokens),
        (n.USAGE_IMAGE_INPUT_TOKENS, usage.input_image_tokens),
        (n.USAGE_IMAGE_OUTPUT_TOKENS, usage.output_image_tokens),
    ):
        if count:
            attributes[name] = count
    return attributes


def _media_usage(usage: Usage, attributes: dict[str, Any]) -> None:
    if usage.seconds:
        attributes[n.USAGE_SECONDS] = usage.seconds
    if usage.characters:
        attributes[n.USAGE_CHARACTERS] = usage.characters
    if usage.images:
        attributes[n.USAGE_IMAGES] = usage.images


def response_attributes(
    record: CallRecord, response: ResponseInfo, provider: str, *, content: bool = True
) -> dict[str, Any]:
    """What the response said, but its usage and cost: those go on the one span that counts the call.
    Its content (as a JSON string) only when ``content`` and content goes on spans."""
    attributes: dict[str, Any] = {}
    if response.model:
        attributes[n.RESPONSE_MODEL] = response.model
    if response.response_id:
        attributes[n.RESPONSE_ID] = response.response_id
    if response.finish_reasons:
        attributes[n.RESPONSE_FINISH_REASONS] = response.finish_reasons
    if response.service_tier and provider in (n.PROVIDER_OPENAI, n.PROVIDER_AZURE_OPENAI):
        attributes[n.OPENAI_RESPONSE_SERVICE_TIER] = response.service_tier
    if response.attributes:
        attributes.update(response.attributes)
    if record.error_type is not None:
        attributes[n.ERROR_TYPE] = record.error_type
    if record.stream or record.ending != "complete":
        attributes[n.STREAM_ENDING] = record.ending
    if record.time_to_first_chunk_s is not None:
        attributes[_TIME_TO_FIRST_CHUNK] = record.time_to_first_chunk_s
    if content and settings.content_on_spans:
        attributes.update(response_content(response, structured=False))
    return attributes


class MetricSet:
    """One metric attribute set, with the attribute sets recorded under it, built once and shared
    by every call that has it (never change one)."""

    __slots__ = ("attributes", "input_tokens", "key", "output_tokens")

    def __init__(self, attributes: dict[str, Any]) -> None:
        self.attributes = attributes
        self.key = tuple(attributes.items())
        """The attributes as a tuple: the key of the pre-aggregated sums."""
        self.input_tokens = {**attributes, n.TOKEN_TYPE: n.TOKEN_TYPE_INPUT}
        """The set of ``gen_ai.client.token.usage``'s input point."""
        self.output_tokens = {**attributes, n.TOKEN_TYPE: n.TOKEN_TYPE_OUTPUT}
        """The set of ``gen_ai.client.token.usage``'s output point."""


_MAX_METRIC_SETS = 4096
"""Past this many distinct sets the cache starts again (metric attributes are bounded by design;
this only bounds what a misuse would cost)."""
_metric_sets: dict[tuple[Any, ...], MetricSet] = {}


def metric_set(record: CallRecord, request: RequestInfo, user_attributes: Mapping[str, Any]) -> MetricSet:
    """The call's metric attribute set (see :func:`metric_attributes`), from a cache of the sets
    seen before: a call builds no attribute set that an earlier call built."""
    allowed = settings.metric_attributes
    user: tuple[tuple[str, type, Any], ...] = ()
    if allowed and user_attributes:
        # The type too: 1, 1.0 and True are equal keys but different attribute values.
        user = tuple((key, type(value), value) for key, value in user_attributes.items() if key in allowed)
    cache_key = (
        record.operation,
        record.provider,
        record.request_model,
        record.response_model,
        request.server_address,
        request.server_port,
        record.error_type,
        user,
    )
    try:
        found = _metric_sets.get(cache_key)
    except TypeError:  # an unhashable user attribute value (a list): not cached
        return MetricSet(metric_attributes(record, request, user_attributes))
    if found is None:
        if len(_metric_sets) >= _MAX_METRIC_SETS:
            _metric_sets.clear()
        found = _metric_sets[cache_key] = MetricSet(metric_attributes(record, request, user_attributes))
    return found


def metric_attributes(
    record: CallRecord, request: RequestInfo, user_attributes: Mapping[str, Any]
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        n.OPERATION_NAME: record.operation,
        n.PROVIDER_NAME: record.provider,
    }
    if record.request_model:
        attributes[n.REQUEST_MODEL] = record.request_model
    if record.response_model:
        attributes[n.RESPONSE_MODEL] = record.response_model
    if request.server_address:
        attributes[n.SERVER_ADDRESS] = request.server_address
        if request.server_port:
            attributes[n.SERVER_PORT] = request.server_port
    if record.error_type is not None:
        attributes[n.ERROR_TYPE] = record.error_type
    allowed = settings.metric_attributes
    if allowed and user_attributes:
        for key, value in user_attributes.items():
            if key in allowed:
                attributes[key] = value
    return attributes


def refusal_attributes(refusal: BudgetExceeded) -> dict[str, Any]:
    """The attributes of a budget's refusal event."""
    attributes: dict[str, Any] = {
        n.BUDGET_LIMIT: float(refusal.limit_usd),
        n.BUDGET_SPENT: float(refusal.spent_usd),
        n.BUDGET_RESERVED: float(refusal.reserved_usd),
        n.BUDGET_REQUEST_COST: float(refusal.request_usd),
        n.BUDGET_UNAVAILABLE: isinstance(refusal, BudgetUnavailable),
    }
    if refusal.name is not None:
        attributes[n.BUDGET_NAME] = refusal.name
    return attributes
