"""Anthropic's Messages API (``/v1/messages``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmmeter._providers import _messages
from llmmeter._providers._base import (
    RequestInfo,
    ResponseInfo,
    copy_params,
    get_str,
    is_object,
    loads_or_none,
)
from llmmeter._telemetry import _names as n
from llmmeter._usage import from_anthropic

__all__ = ["MESSAGES"]

_PARAMS = {
    "temperature": n.REQUEST_TEMPERATURE,
    "top_p": n.REQUEST_TOP_P,
    "top_k": n.REQUEST_TOP_K,
    "max_tokens": n.REQUEST_MAX_TOKENS,
    "stop_sequences": n.REQUEST_STOP_SEQUENCES,
}
_PARSED_EVENTS = frozenset({"message_start", "message_delta", "message_stop", "error"})
# Bytes that may belong to a parsed event: its event line, its data's type (the event line is
# optional, and JSON may put spaces around the colon), or an error.
_PARSED_MARKERS = re.compile(
    rb'event: ?(?:message_start|message_delta|message_stop|error)|"type"\s*:\s*"message|"error"'
)


def _message_fields(result: ResponseInfo, message: Any) -> None:
    if not is_object(message):
        return
    result.model = get_str(message, "model") or result.model
    result.response_id = get_str(message, "id") or result.response_id
    reason = get_str(message, "stop_reason")
    if reason is not None:
        result.finish_reasons = [reason]


def _error_type(payload: Mapping[str, Any]) -> str:
    return get_str(payload.get("error"), "type") or n.ERROR_TYPE_OTHER


class _MessagesStream:
    """``message_start`` carries the id, model and input usage; each ``message_delta`` carries the
    CUMULATIVE usage so far, so its values replace earlier ones instead of adding to them."""

    __slots__ = ("_capture", "_result", "_text", "_usage")

    def __init__(self, capture_content: bool) -> None:
        self._capture = capture_content
        self._result = ResponseInfo(complete=False)
        self._usage: dict[str, Any] = {}
        self._text: list[str] = []

    def skips(self, events: bytes) -> bool:
        """Whether whole events in ``events`` can be passed over unparsed (deltas, pings)."""
        if self._capture:
            return False
        return _PARSED_MARKERS.search(events) is None

    def record_event(self, event: str, data: str) -> None:
        if event and event not in _PARSED_EVENTS:
            if self._capture and event == "content_block_delta":
                self._keep_text(loads_or_none(data))
            return
        payload = loads_or_none(data)
        if not is_object(payload):
            return
        kind = event or get_str(payload, "type") or ""
        if kind == "content_block_delta":  # named only in its data (Bedrock's chunks)
            if self._capture:
                self._keep_text(payload)
        elif kind == "message_start":
            message = payload.get("message")
            _message_fields(self._result, message)
            if is_object(message):
                self._merge_usage(message.get("usage"))
        elif kind == "message_delta":
            delta = payload.get("delta")
            _message_fields(self._result, delta)
            usage = payload.get("usage")
            self._merge_usage(usage)
            if get_str(delta, "stop_reason") is not None and is_object(usage):
                # The final usage and the stop reason have come: clients may stop reading here,
                # before message_stop, with everything received.
                self._result.complete = True
        elif kind == "message_stop":
            self._result.complete = True
        elif kind == "error":
            self._result.error_type = _error_type(payload)

    def _keep_text(self, delta_event: Any) -> None:
        text = get_str(delta_event.get("delta"), "text") if is_object(delta_event) else None
        if text:
            self._text.append(text)

    def _merge_usage(self, usage: Any) -> None:
        if is_object(usage):
            self._usage.update((k, v) for k, v in usage.items() if v is not None)
            self._result.usage = from_anthropic(self._usage)

    def result(self) -> ResponseInfo:
        result = self._result
        if self._capture and self._text:
            result.output_messages = _messages.streamed_output(self._text, result.finish_reasons)
        return result


class MessagesAdapter:
    """``/v1/messages``."""

    content_keys = frozenset({"messages", "system", "tools"})

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        request.model = get_str(body, "model") or request.model
        request.stream = body.get("stream") is True
        copy_params(body, _PARAMS, request.params)
        tier = get_str(body, "service_tier")
        if tier is not None:
            request.service_tier = tier
        if capture_content:
            request.system_instructions, request.input_messages = _messages.anthropic_input(body)
            request.tool_definitions = _messages.tool_definitions(body.get("tools"))

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = ResponseInfo()
        _message_fields(result, body)
        if not is_object(body):
            return result
        usage = body.get("usage")
        if is_object(usage):
            result.usage = from_anthropic(usage)
            result.service_tier = get_str(usage, "service_tier")
        if get_str(body, "type") == "error":
            result.error_type = _error_type(body)
        if capture_content:
            reason = result.finish_reasons[0] if result.finish_reasons else None
            result.output_messages = _messages.anthropic_output(body.get("content"), reason)
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _MessagesStream:
        return _MessagesStream(capture_content)


MESSAGES = MessagesAdapter()
