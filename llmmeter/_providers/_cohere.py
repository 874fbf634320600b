"""Cohere's v2 API: ``/v2/chat`` (plain, and ``stream: true`` events) and ``/v2/embed``.

Usage: ``billed_units`` is what Cohere bills; ``tokens`` is what the model processed, including
tokens Cohere adds itself and does not charge for. Chat puts them under ``usage``, embed under
``meta``; a stream reports them in its ``message-end`` event (``delta.usage``). The v1 API's plain
answers (``/v1/chat``, ``/v1/embed`` on Cohere's hosts) put them under ``meta`` and are read too;
its streams (JSON lines, not events) are recorded without usage.
"""

from __future__ import annotations

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
from llmmeter._providers._media import event_type
from llmmeter._telemetry import _names as n
from llmmeter._usage import Usage, checked_usage, count

__all__ = ["COHERE_CHAT", "COHERE_EMBED", "from_cohere"]

_PARAMS = {
    "temperature": n.REQUEST_TEMPERATURE,
    "p": n.REQUEST_TOP_P,
    "k": n.REQUEST_TOP_K,
    "max_tokens": n.REQUEST_MAX_TOKENS,
    "stop_sequences": n.REQUEST_STOP_SEQUENCES,
    "seed": n.REQUEST_SEED,
    "frequency_penalty": n.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": n.REQUEST_PRESENCE_PENALTY,
}
_STREAM_EVENTS = frozenset({"message-start", "message-end"})


@checked_usage
def from_cohere(usage: Any) -> Usage:
    """Convert a Cohere v2 ``usage`` (chat) or ``meta`` (embed) object: its ``billed_units``."""
    billed = usage.get("billed_units") if is_object(usage) else None
    return Usage(input_tokens=count(billed, "input_tokens"), output_tokens=count(billed, "output_tokens"))


def _usage(usage: Any) -> tuple[Usage | None, bool]:
    """The usage, and whether it is an estimate: the processed ``tokens`` stand in for missing
    ``billed_units`` (they may count tokens Cohere does not bill)."""
    if not is_object(usage):
        return None, False
    if is_object(usage.get("billed_units")):
        return from_cohere(usage), False
    if is_object(usage.get("tokens")):
        return from_cohere({"billed_units": usage["tokens"]}), True
    return None, False


def _set_usage(result: ResponseInfo, usage: Any) -> None:
    found, estimated = _usage(usage)
    if found is not None:
        result.usage, result.estimated = found, estimated


def _content_parts(message: Any) -> list[dict[str, Any]]:
    if not is_object(message):
        return []
    parts = _messages.text_parts(message.get("content"))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if is_object(call) else None
            if is_object(function):
                parts.append(
                    {
                        "type": n.PART_TOOL_CALL,
                        "id": get_str(call, "id"),
                        "name": get_str(function, "name"),
                        "arguments": function.get("arguments"),
                    }
                )
    return parts


class _ChatStream:
    """``message-start`` carries the id, ``message-end`` the finish reason and the usage."""

    __slots__ = ("_capture", "_result", "_text")

    def __init__(self, capture_content: bool) -> None:
        self._capture = capture_content
        self._result = ResponseInfo(complete=False)
        self._text: list[str] = []

    def record_event(self, event: str, data: str) -> None:
        kind = event_type(event, data)
        if kind not in _STREAM_EVENTS:
            if self._capture and kind == "content-delta":
                self._collect_text(data)
            return
        payload = loads_or_none(data)
        if not is_object(payload):
            return
        result = self._result
        if kind == "message-start":
            result.response_id = get_str(payload, "id") or result.response_id
            return
        delta = payload.get("delta")
        if is_object(delta):
            reason = get_str(delta, "finish_reason")
            if reason is not None:
                result.finish_reasons = [reason]
            _set_usage(result, delta.get("usage"))
            if get_str(delta, "error") is not None:
                result.error_type = n.ERROR_TYPE_OTHER
        result.complete = True

    def _collect_text(self, data: str) -> None:
        payload = loads_or_none(data)
        delta = payload.get("delta") if is_object(payload) else None
        message = delta.get("message") if is_object(delta) else None
        content = message.get("content") if is_object(message) else None
        text = get_str(content, "text")
        if text:
            self._text.append(text)

    def result(self) -> ResponseInfo:
        result = self._result
        if self._capture and self._text:
            result.output_messages = _messages.streamed_output(self._text, result.finish_reasons)
        return result


class ChatAdapter:
    """``/v2/chat``."""

    content_keys = frozenset({"messages", "tools", "documents"})

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        request.model = get_str(body, "model") or request.model
        request.stream = body.get("stream") is True
        copy_params(body, _PARAMS, request.params)
        if capture_content:
            request.system_instructions, request.input_messages = _messages.chat_input(body.get("messages"))

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = ResponseInfo()
        if not is_object(body):
            return result
        result.response_id = get_str(body, "id") or get_str(body, "response_id")
        reason = get_str(body, "finish_reason")
        if reason is not None:
            result.finish_reasons = [reason]
        _set_usage(result, body.get("usage") if "usage" in body else body.get("meta"))
        if capture_content:
            result.output_messages = [_messages.output_message(_content_parts(body.get("message")), reason)]
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _ChatStream:
        return _ChatStream(capture_content)


class EmbedAdapter(ChatAdapter):
    """``/v2/embed``: usage under ``meta``; there is no stream."""

    content_keys = frozenset({"texts", "inputs", "images"})

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        request.model = get_str(body, "model") or request.model
        types = body.get("embedding_types")
        if isinstance(types, list) and all(isinstance(t, str) for t in types):
            request.params[n.REQUEST_ENCODING_FORMATS] = list(types)

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = ResponseInfo()
        if is_object(body):
            result.response_id = get_str(body, "id")
            _set_usage(result, body.get("meta"))
        return result


COHERE_CHAT = ChatAdapter()
COHERE_EMBED = EmbedAdapter()
