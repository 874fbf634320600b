"""OpenAI's wire format: Chat Completions, Completions, Responses and Embeddings.

The same shapes are spoken by Azure OpenAI and by OpenAI-compatible servers (vLLM, Ollama,
OpenRouter, Groq, ...); routing decides the provider name, these adapters only read bodies.
"""

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
from llmmeter._providers._images import from_openai_images
from llmmeter._providers._media import error_type
from llmmeter._reported import from_openai_usage
from llmmeter._telemetry import _names as n
from llmmeter._usage import from_openai_chat, from_openai_embeddings, from_openai_responses

__all__ = ["CHAT", "EMBEDDINGS", "RESPONSES"]

_CHAT_PARAMS = {
    "temperature": n.REQUEST_TEMPERATURE,
    "top_p": n.REQUEST_TOP_P,
    "max_tokens": n.REQUEST_MAX_TOKENS,
    "max_completion_tokens": n.REQUEST_MAX_TOKENS,
    "frequency_penalty": n.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": n.REQUEST_PRESENCE_PENALTY,
    "seed": n.REQUEST_SEED,
    "n": n.REQUEST_CHOICE_COUNT,
    "stop": n.REQUEST_STOP_SEQUENCES,
}
_RESPONSES_PARAMS = {
    "temperature": n.REQUEST_TEMPERATURE,
    "top_p": n.REQUEST_TOP_P,
    "max_output_tokens": n.REQUEST_MAX_TOKENS,
}


def _common_request(request: RequestInfo, body: Mapping[str, Any]) -> None:
    get = body.get
    if type(model := get("model")) is str and model:  # read directly: every call has them
        request.model = model
    request.stream = get("stream") is True
    if type(tier := get("service_tier")) is str and tier:
        request.service_tier = tier
        request.params[n.OPENAI_REQUEST_SERVICE_TIER] = tier


def _read_names(result: ResponseInfo, body: Mapping[str, Any]) -> None:
    """The model, id and service tier a response body (or a chunk of one) states: read in place,
    not through ``get_str`` (every call has them); a non-empty one replaces what came before."""
    get = body.get
    if type(value := get("model")) is str and value:
        result.model = value
    if type(value := get("id")) is str and value:
        result.response_id = value
    if type(value := get("service_tier")) is str and value:
        result.service_tier = value


# A chat chunk matters only if one of these fields holds something other than null.
_MEANINGFUL_CHUNK = re.compile(r'"(?:usage|finish_reason|error)"\s*:\s*[^n\s]')
_DONE_ENDS = (b"[DONE]\n\n", b"[DONE]\r\n\r\n")
_MEANINGFUL_BYTES = re.compile(rb'"(?:usage|finish_reason|error)"\s*:\s*[^n\s]')


# --- Chat Completions and legacy Completions -----------------------------------------------------


class _ChatStream:
    """Chat chunks: model and id from the first, finish reasons per choice, usage from the last."""

    __slots__ = ("_capture", "_finish", "_parts", "_result", "_skipping")

    def __init__(self, capture_content: bool) -> None:
        self._capture = capture_content
        self._result = ResponseInfo(complete=False)
        self._finish: dict[int, str] = {}
        self._parts: dict[int, list[str]] = {}
        self._skipping = False
        """True once content deltas may be passed over: after the first chunk, unless content is captured."""

    def skips(self, events: bytes) -> bool:
        """Whether whole events in ``events`` can be passed over unparsed (content deltas)."""
        # [DONE] ends the stream: in a chunk of whole events it is the last one.
        return self._skipping and not events.endswith(_DONE_ENDS) and _MEANINGFUL_BYTES.search(events) is None

    def record_event(self, event: str, data: str) -> None:
        if data == "[DONE]":
            self._result.complete = True
            return
        if self._skipping and _MEANINGFUL_CHUNK.search(data) is None:
            return  # most chunks carry only a content delta: skip them without parsing
        chunk = loads_or_none(data)
        if type(chunk) is not dict:  # what JSON decodes an object to
            return
        self._skipping = not self._capture
        result = self._result
        _read_names(result, chunk)
        get = chunk.get
        if (error := get("error")) is not None:
            result.error_type = error_type(error)
        usage = get("usage")
        if type(usage) is not dict and type(groq := get("x_groq")) is dict:
            usage = groq.get("usage")  # Groq's, in its last chunk
        if type(usage) is dict:
            result.usage = from_openai_chat(usage)  # the last usage wins: never summed
            result.reported_cost = from_openai_usage(usage)
        choices = get("choices")
        if type(choices) is list:
            for choice in choices:
                if type(choice) is dict:
                    self._record_choice(choice)

    def _record_choice(self, choice: dict[str, Any]) -> None:
        index = choice.get("index", 0)
        index = index if isinstance(index, int) else 0
        if type(reason := choice.get("finish_reason")) is str and reason:
            self._finish[index] = reason
        if self._capture:
            delta = choice.get("delta")
            text = get_str(delta, "content") if delta is not None else get_str(choice, "text")
            if text:
                self._parts.setdefault(index, []).append(text)

    def result(self) -> ResponseInfo:
        result = self._result
        result.finish_reasons = [self._finish[i] for i in sorted(self._finish)]
        if self._capture and (self._parts or self._finish):
            result.output_messages = [
                _messages.output_message(
                    [_messages.text_part("".join(self._parts[i]))] if i in self._parts else [],
                    self._finish.get(i),
                )
                for i in sorted(self._parts.keys() | self._finish.keys())
            ]
        if result.usage is not None and self._finish:
            result.complete = True
        return result


class ChatAdapter:
    """``/chat/completions`` and ``/completions``."""

    content_keys = frozenset({"messages", "prompt", "tools"})

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        _common_request(request, body)
        copy_params(body, _CHAT_PARAMS, request.params)
        if isinstance(body.get("stop"), str):
            request.params[n.REQUEST_STOP_SEQUENCES] = [body["stop"]]
        if capture_content:
            request.system_instructions, request.input_messages = _messages.chat_input(
                body.get("messages", body.get("prompt"))
            )
            request.tool_definitions = _messages.tool_definitions(body.get("tools"))

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        if not is_object(body):
            return ResponseInfo()
        result = ResponseInfo()
        _read_names(result, body)
        usage = body.get("usage")
        if type(usage) is dict or is_object(usage):
            result.usage = from_openai_chat(usage)
            result.reported_cost = from_openai_usage(usage)
        choices = body.get("choices")
        if isinstance(choices, list):
            result.finish_reasons = [
                reason
                for choice in choices
                if type(choice) is dict and type(reason := choice.get("finish_reason")) is str and reason
            ]
            if capture_content:
                result.output_messages = _messages.chat_output(choices)
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _ChatStream:
        return _ChatStream(capture_content)


# --- Responses -----------------------------------------------------------------------------------

_RESPONSE_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_RESPONSE_EVENTS = _RESPONSE_FINAL_EVENTS | {"response.created", "response.in_progress", "error"}


def _read_response_object(
    result: ResponseInfo, response: Any, capture_content: bool, image_model: str | None = None
) -> None:
    if not is_object(response):
        return
    _read_names(result, response)
    if is_object(response.get("usage")):
        result.usage = from_openai_responses(response["usage"])
        result.reported_cost = from_openai_usage(response["usage"])
    tool_usage = response.get("tool_usage")
    if tool_usage is not None:
        _read_image_tool_usage(result, response, tool_usage, image_model)
    status = get_str(response, "status")
    if status == "completed":
        output = response.get("output")
        calls_tool = isinstance(output, list) and any(
            get_str(item, "type") == "function_call" for item in output
        )
        result.finish_reasons = ["tool_calls" if calls_tool else "stop"]
    elif status == "incomplete":
        reason = get_str(response.get("incomplete_details"), "reason")
        result.finish_reasons = ["length" if reason == "max_output_tokens" else (reason or "incomplete")]
    elif status == "failed":
        result.finish_reasons = ["error"]
        result.error_type = error_type(response.get("error"))
    output = response.get("output")
    if capture_content and isinstance(output, list) and output:  # response.created has none yet
        reason = result.finish_reasons[0] if result.finish_reasons else None
        result.output_messages = _messages.responses_output(output, reason)


def _read_image_tool_usage(result: ResponseInfo, response: Any, tool_usage: Any, model: str | None) -> None:
    """The image generation tool's usage (``tool_usage.image_gen``), billed at its image model's rates:
    the one the request named, else the one the response's ``tools`` echo."""
    image_gen = tool_usage.get("image_gen") if is_object(tool_usage) else None
    if not is_object(image_gen):
        return
    usage = from_openai_images(image_gen)
    if usage.is_empty and usage.invalid is None:
        return
    result.tool_usage = (model or _image_tool_model(response.get("tools")), usage)


def _image_tool_model(tools: Any) -> str | None:
    """The model of the ``image_generation`` tool in a ``tools`` list."""
    if isinstance(tools, list):
        for tool in tools:
            if get_str(tool, "type") == "image_generation":
                return get_str(tool, "model")
    return None


def _event_type(event: str, data: str) -> str:
    if event:
        return event
    # Some servers omit the ``event:`` line; the type is then the first field of the data.
    marker = data.find('"type"')
    if marker == -1:
        return ""
    start = data.find('"', data.find(":", marker) + 1)
    end = data.find('"', start + 1)
    return data[start + 1 : end] if start != -1 and end != -1 else ""


class _ResponsesStream:
    """Responses events: metadata from ``response.created``, usage from the final event."""

    __slots__ = ("_capture", "_image_model", "_result", "_text")

    def __init__(self, capture_content: bool, image_model: str | None = None) -> None:
        self._capture = capture_content
        self._image_model = image_model
        self._result = ResponseInfo(complete=False)
        self._text: list[str] = []

    def skips(self, events: bytes) -> bool:
        """Whether whole events in ``events`` can be passed over unparsed (text deltas)."""
        return (
            not self._capture
            and events.startswith(b"event: response.output_text.delta\n")
            and (events.count(b"event: ") == events.count(b"event: response.output_text.delta\n"))
        )

    def record_event(self, event: str, data: str) -> None:
        kind = _event_type(event, data)
        if kind not in _RESPONSE_EVENTS:
            if self._capture and kind == "response.output_text.delta":
                payload = loads_or_none(data)
                delta = get_str(payload, "delta")
                if delta:
                    self._text.append(delta)
            return
        payload = loads_or_none(data)
        if not is_object(payload):
            return
        if kind == "error":
            self._result.error_type = error_type(payload.get("error", payload))
            return
        _read_response_object(self._result, payload.get("response"), self._capture, self._image_model)
        if kind in _RESPONSE_FINAL_EVENTS:
            self._result.complete = True

    def result(self) -> ResponseInfo:
        result = self._result
        if self._capture and self._text and result.output_messages is None:
            result.output_messages = _messages.streamed_output(self._text, result.finish_reasons)
        return self._result


class ResponsesAdapter:
    """``/responses``."""

    content_keys = frozenset({"input", "instructions"})  # not tools: the image tool's model is read

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        _common_request(request, body)
        copy_params(body, _RESPONSES_PARAMS, request.params)
        if body.get("tools"):
            image_model = _image_tool_model(body["tools"])
            if image_model is not None:
                request.params[n.REQUEST_IMAGE_TOOL_MODEL] = image_model
        if capture_content:
            request.system_instructions, request.input_messages = _messages.responses_input(body)
            request.tool_definitions = _messages.tool_definitions(body.get("tools"))

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = ResponseInfo()
        _read_response_object(result, body, capture_content, _requested_image_model(request))
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _ResponsesStream:
        return _ResponsesStream(capture_content, _requested_image_model(request))


def _requested_image_model(request: RequestInfo) -> str | None:
    model = request.params.get(n.REQUEST_IMAGE_TOOL_MODEL)
    return model if isinstance(model, str) else None


# --- Embeddings ----------------------------------------------------------------------------------


class EmbeddingsAdapter(ChatAdapter):
    """``/embeddings``: usage has only ``prompt_tokens`` (or only ``total_tokens``); there is no stream."""

    content_keys = frozenset({"input"})

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        request.model = get_str(body, "model") or request.model
        encoding = get_str(body, "encoding_format")
        if encoding is not None:
            request.params[n.REQUEST_ENCODING_FORMATS] = [encoding]
        if capture_content:
            inputs = body.get("input")
            texts = [inputs] if isinstance(inputs, str) else inputs if isinstance(inputs, list) else []
            parts = [_messages.text_part(text) for text in texts if isinstance(text, str)]
            request.input_messages = [{"role": n.ROLE_USER, "parts": parts}] if parts else None

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = ResponseInfo(model=get_str(body, "model"))
        if is_object(body) and is_object(body.get("usage")):
            result.usage = from_openai_embeddings(body["usage"])
            result.reported_cost = from_openai_usage(body["usage"])
        return result


CHAT = ChatAdapter()
RESPONSES = ResponsesAdapter()
EMBEDDINGS = EmbeddingsAdapter()
