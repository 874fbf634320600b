"""Amazon Bedrock Runtime: the Converse API, and InvokeModel's envelope around each family's own body.

Converse and ConverseStream are one wire format whatever the model: the request names the model
(``modelId``) and its limits (``inferenceConfig``); the response reports ``usage`` (``inputTokens``
EXCLUDES ``cacheReadInputTokens`` and ``cacheWriteInputTokens``, as Anthropic's does), ``stopReason``,
``metrics.latencyMs`` and, when asked for, ``serviceTier``. A stream's ``messageStop`` event carries the
stop reason and its ``metadata`` event the usage.

InvokeModel carries the model family's own body: Anthropic's Messages body for Claude (read by the
Anthropic adapter), others' formats otherwise, whose usage Bedrock reports in the
``x-amzn-bedrock-input-token-count`` / ``-output-token-count`` response headers. A streamed InvokeModel
answer is a series of ``chunk`` events, each the family's own event JSON; the last one also carries
``amazon-bedrock-invocationMetrics`` (``inputTokenCount``, ``outputTokenCount``).

Everything here reads decoded values: request parameters and response members as dicts (what botocore
hands over), event payloads as dicts or JSON text. No HTTP library, no AWS SDK.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from llmmeter._providers import _messages
from llmmeter._providers._anthropic import MESSAGES
from llmmeter._providers._base import (
    RequestInfo,
    ResponseInfo,
    StreamState,
    copy_params,
    get_str,
    is_object,
    loads_or_none,
)
from llmmeter._telemetry import _names as n
from llmmeter._usage import Usage, from_bedrock, from_bedrock_metrics

__all__ = ["CONVERSE", "INVOKE", "ConverseStream", "InvokeStream", "header_usage", "speaks_anthropic"]

_INFERENCE_PARAMS = {
    "maxTokens": n.REQUEST_MAX_TOKENS,
    "temperature": n.REQUEST_TEMPERATURE,
    "topP": n.REQUEST_TOP_P,
    "stopSequences": n.REQUEST_STOP_SEQUENCES,
}
# InvokeModel bodies of the families that are not Anthropic's (Llama, Mistral, Titan, Cohere...).
_INVOKE_PARAMS = {
    "max_tokens": n.REQUEST_MAX_TOKENS,
    "max_gen_len": n.REQUEST_MAX_TOKENS,
    "temperature": n.REQUEST_TEMPERATURE,
    "top_p": n.REQUEST_TOP_P,
    "top_k": n.REQUEST_TOP_K,
}
_INPUT_HEADER = "x-amzn-bedrock-input-token-count"
_OUTPUT_HEADER = "x-amzn-bedrock-output-token-count"
_INVOCATION_METRICS = "amazon-bedrock-invocationMetrics"
_INVOCATION_METRICS_BYTES = _INVOCATION_METRICS.encode()
_DEFAULT_TIER = "default"


def _tier(value: Any) -> str | None:
    """A Bedrock service tier (``{"type": "flex"}`` or ``"flex"``); None for the default tier."""
    if value is None:
        return None
    tier = get_str(value, "type") if is_object(value) else value
    if not isinstance(tier, str) or not tier or tier == _DEFAULT_TIER:
        return None
    return tier


def _error_type(event: str) -> str:
    """A stream exception event's name as AWS names the error (``throttlingException`` ->
    ``ThrottlingException``)."""
    return event[:1].upper() + event[1:]


# --- Converse ----------------------------------------------------------------------------------------


def _block_part(block: Any) -> _messages.Part | None:
    """One Converse content block as a part of the conventions' message schema."""
    if not is_object(block):
        return None
    text = get_str(block, "text")
    if text is not None:
        return _messages.text_part(text)
    tool_use = block.get("toolUse")
    if is_object(tool_use):
        return {
            "type": n.PART_TOOL_CALL,
            "id": get_str(tool_use, "toolUseId"),
            "name": get_str(tool_use, "name"),
            "arguments": tool_use.get("input"),
        }
    result = block.get("toolResult")
    if is_object(result):
        texts = [_block_part(item) for item in result.get("content") or ()]
        response = "".join(p["content"] for p in texts if p is not None and p["type"] == n.PART_TEXT)
        return {"type": n.PART_TOOL_CALL_RESPONSE, "id": get_str(result, "toolUseId"), "response": response}
    reasoning = block.get("reasoningContent")
    if is_object(reasoning):
        thought = get_str(reasoning.get("reasoningText"), "text")
        return {"type": n.PART_REASONING, "content": thought} if thought else None
    kinds = [key for key in block if key != "cachePoint"]
    return {"type": kinds[0]} if kinds else None  # image, document, video: named, never copied


def _parts(content: Any) -> list[_messages.Part]:
    if not isinstance(content, list):
        return []
    return [part for block in content if (part := _block_part(block)) is not None]


def _converse_input(body: Mapping[str, Any]) -> tuple[list[_messages.Part] | None, list[_messages.Message]]:
    system = _parts(body.get("system")) or None
    result: list[_messages.Message] = []
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if not is_object(message):
                continue
            parts = _parts(message.get("content"))
            role = get_str(message, "role") or n.ROLE_USER
            if parts and all(part["type"] == n.PART_TOOL_CALL_RESPONSE for part in parts):
                role = n.ROLE_TOOL
            result.append({"role": role, "parts": parts})
    return system, result


def _metadata(result: ResponseInfo, body: Mapping[str, Any]) -> None:
    """What a Converse response and a ConverseStream ``metadata`` event share."""
    usage = body.get("usage")
    if usage is not None and is_object(usage):
        result.usage = from_bedrock(usage)
    latency = body.get("metrics")
    if latency is not None and is_object(latency):
        latency_ms = latency.get("latencyMs")
        if type(latency_ms) is int and latency_ms >= 0:
            result.attributes[n.BEDROCK_LATENCY_MS] = latency_ms
    tier = body.get("serviceTier")
    if tier is not None:
        tier = _tier(tier)
        if tier is not None:
            result.service_tier = tier
            result.attributes[n.BEDROCK_SERVICE_TIER] = tier


class ConverseAdapter:
    """``Converse`` and ``ConverseStream``: the request's parameters and the response as decoded dicts."""

    content_keys = frozenset({"messages", "system", "toolConfig"})

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        model = body.get("modelId")  # a URI parameter: in the body only when a client put it there
        if isinstance(model, str) and model:
            request.model = model
        config = body.get("inferenceConfig")
        if config is not None and is_object(config):
            copy_params(config, _INFERENCE_PARAMS, request.params)
        tier = body.get("serviceTier")
        if tier is not None:
            request.service_tier = _tier(tier) or request.service_tier
        if capture_content:
            request.system_instructions, request.input_messages = _converse_input(body)

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = ResponseInfo()
        if type(body) is not dict and not is_object(body):
            return result
        reason = body.get("stopReason")
        if isinstance(reason, str) and reason:
            result.finish_reasons = [reason]
        else:
            reason = None
        _metadata(result, body)
        if capture_content:
            output = body.get("output")
            message = output.get("message") if is_object(output) else None
            if is_object(message):
                result.output_messages = [_messages.output_message(_parts(message.get("content")), reason)]
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> ConverseStream:
        return ConverseStream(capture_content)


class ConverseStream:
    """A ConverseStream answer, event by event: ``messageStop`` has the stop reason, ``metadata`` the
    usage (and with it, the stream has said everything)."""

    __slots__ = ("_capture", "_result", "_text")

    def __init__(self, capture_content: bool) -> None:
        self._capture = capture_content
        self._result = ResponseInfo(complete=False)
        self._text: list[str] = []

    def record_event(self, event: str, data: str) -> None:
        """Take one event by its type and its JSON payload."""
        self.record(event, loads_or_none(data))

    def record(self, event: str, payload: Any) -> None:
        """Take one event by its type and its decoded payload."""
        if event == "contentBlockDelta":
            if self._capture and is_object(payload):
                text = get_str(payload.get("delta"), "text")
                if text:
                    self._text.append(text)
        elif event == "messageStop":
            reason = get_str(payload, "stopReason")
            if reason is not None:
                self._result.finish_reasons = [reason]
        elif event == "metadata":
            if is_object(payload):
                _metadata(self._result, payload)
                self._result.complete = self._result.usage is not None
        elif event.endswith("Exception"):
            self._result.error_type = _error_type(event)

    def result(self) -> ResponseInfo:
        result = self._result
        if self._capture and self._text:
            result.output_messages = _messages.streamed_output(self._text, result.finish_reasons)
        return result


CONVERSE = ConverseAdapter()


# --- InvokeModel ---------------------------------------------------------------------------------------


def speaks_anthropic(model_id: str | None, body: Any) -> bool:
    """Whether an InvokeModel request is a Claude model's: its body is Anthropic's Messages body."""
    if is_object(body) and "anthropic_version" in body:
        return True
    return model_id is not None and ("anthropic." in model_id or "claude" in model_id)


def _header_count(headers: Mapping[str, Any], name: str) -> int | None:
    value = headers.get(name)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def header_usage(headers: Mapping[str, Any]) -> Usage | None:
    """The usage InvokeModel reports in its response headers (lower-case names), None without them."""
    counts = {
        "inputTokens": _header_count(headers, _INPUT_HEADER),
        "outputTokens": _header_count(headers, _OUTPUT_HEADER),
    }
    if counts["inputTokens"] is None and counts["outputTokens"] is None:
        return None
    return from_bedrock(counts)


def _metrics_usage(metrics: Any) -> Usage | None:
    """The usage of ``amazon-bedrock-invocationMetrics``, None without it."""
    return from_bedrock_metrics(metrics) if is_object(metrics) else None


def _is_anthropic_answer(body: Any) -> bool:
    return is_object(body) and (
        get_str(body, "type") == "message" or str(body.get("id", "")).startswith("msg")
    )


class InvokeAdapter:
    """``InvokeModel`` and ``InvokeModelWithResponseStream``: the family's own request and response body."""

    content_keys = frozenset({"messages", "system", "tools", "prompt", "inputText"})

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        model = request.model
        if speaks_anthropic(model, body):
            MESSAGES.parse_request(request, body, capture_content)
            request.model = model or request.model  # the body names no model on Bedrock
        else:
            copy_params(body, _INVOKE_PARAMS, request.params)
        request.stream = False

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        if _is_anthropic_answer(body):
            return MESSAGES.parse_response(request, body, capture_content)
        result = ResponseInfo()
        reason = get_str(body, "stop_reason") or get_str(body, "stopReason")
        if reason is not None:
            result.finish_reasons = [reason]
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> InvokeStream:
        return InvokeStream(request, capture_content)


class InvokeStream:
    """An InvokeModelWithResponseStream answer: ``chunk`` events of the family's own event JSON.

    Anthropic's events go to the Anthropic adapter's stream state; the final chunk's
    ``amazon-bedrock-invocationMetrics`` gives the usage of any family (Anthropic's own usage, which
    splits cache reads and writes, is preferred when it came)."""

    __slots__ = ("_anthropic", "_metrics_usage", "_result")

    def __init__(self, request: RequestInfo, capture_content: bool) -> None:
        self._anthropic: StreamState = MESSAGES.new_stream(request, capture_content)
        self._metrics_usage: Usage | None = None
        self._result = ResponseInfo(complete=False)

    def record_event(self, event: str, data: str) -> None:
        """Take one event by its type and its JSON payload (a ``chunk``'s is ``{"bytes": base64}``)."""
        payload = loads_or_none(data)
        if event == "chunk" and is_object(payload):
            encoded = get_str(payload, "bytes")
            if encoded is not None:
                try:
                    self.record_chunk(base64.b64decode(encoded))
                except ValueError:
                    return
        elif event.endswith("Exception"):
            self._result.error_type = _error_type(event)

    def record_exception(self, event: str) -> None:
        """An exception event of the stream (``modelStreamErrorException``...)."""
        self._result.error_type = _error_type(event)

    def record_chunk(self, data: bytes) -> None:
        """Take one chunk's decoded bytes: one event of the family's own stream, as JSON."""
        if data.find(_INVOCATION_METRICS_BYTES) != -1:
            payload = loads_or_none(data)
            if is_object(payload):
                self._metrics_usage = _metrics_usage(payload.get(_INVOCATION_METRICS))
                self._result.complete = True
        if data.startswith(b'{"type"') or data.find(b'"type"', 0, 64) != -1:
            skips = getattr(self._anthropic, "skips", None)
            if skips is None or not skips(data):  # content deltas are most chunks: not parsed
                self._anthropic.record_event("", data.decode("utf-8", "replace"))

    def result(self) -> ResponseInfo:
        anthropic = self._anthropic.result()
        if anthropic.usage is not None or anthropic.finish_reasons:
            result = anthropic
            result.complete = anthropic.complete or self._result.complete
            if result.usage is None:
                result.usage = self._metrics_usage
        else:
            result = self._result
            result.usage = self._metrics_usage
        result.error_type = result.error_type or self._result.error_type
        return result


INVOKE = InvokeAdapter()
