"""Ollama's native API: ``/api/chat``, ``/api/generate`` and ``/api/embed`` (and the legacy
``/api/embeddings``).

Chat and generate answers stream by default (``"stream": false`` asks for one JSON body) as
newline-delimited JSON: one object per line, the last with ``"done": true`` and the counts
(``prompt_eval_count``, ``eval_count``), the model and ``done_reason``. A failure mid-stream is a
line ``{"error": "..."}``. Local models have no price unless the user gives one.
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
from llmmeter._providers._ndjson import NDJSONParser
from llmmeter._telemetry import _names as n
from llmmeter._usage import from_ollama

__all__ = ["OLLAMA_CHAT", "OLLAMA_EMBED", "OLLAMA_GENERATE"]

_OPTIONS = {
    "temperature": n.REQUEST_TEMPERATURE,
    "top_p": n.REQUEST_TOP_P,
    "top_k": n.REQUEST_TOP_K,
    "num_predict": n.REQUEST_MAX_TOKENS,
    "stop": n.REQUEST_STOP_SEQUENCES,
    "seed": n.REQUEST_SEED,
    "frequency_penalty": n.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": n.REQUEST_PRESENCE_PENALTY,
}
# Lines that may matter to a stream: the final one, or an error. Every other line is a delta.
_PARSED_MARKERS = re.compile(rb'"done"\s*:\s*true|"error"')
_ERROR_TYPE = "ollama_error"
"""Ollama's errors are free text (``{"error": "model 'x' not found"}``): one type for them all."""


def _final_fields(result: ResponseInfo, body: Mapping[str, Any]) -> None:
    """What the last line of a stream, or a whole body, says."""
    result.model = get_str(body, "model") or result.model
    reason = get_str(body, "done_reason")
    if reason is not None:
        result.finish_reasons = [reason]
    if "prompt_eval_count" in body or "eval_count" in body:
        result.usage = from_ollama(body)
    if "error" in body:
        result.error_type = _ERROR_TYPE


def _output_text(body: Mapping[str, Any]) -> str:
    """A line's text: ``message.content`` (chat) or ``response`` (generate)."""
    message = body.get("message")
    if is_object(message):
        return get_str(message, "content") or ""
    return get_str(body, "response") or ""


class _OllamaStream:
    """Reads the final ``done`` line; every other line is passed over (or its text kept, when content
    is captured)."""

    __slots__ = ("_capture", "_result", "_text")

    def __init__(self, capture_content: bool) -> None:
        self._capture = capture_content
        self._result = ResponseInfo(complete=False)
        self._text: list[str] = []

    def skips(self, lines: bytes) -> bool:
        """Whether whole lines in ``lines`` can be passed over unparsed (deltas)."""
        return not self._capture and _PARSED_MARKERS.search(lines) is None

    def record_event(self, event: str, data: str) -> None:
        body = loads_or_none(data)
        if not is_object(body):
            return
        if self._capture:
            self._text.append(_output_text(body))
        if body.get("done") is True:
            _final_fields(self._result, body)
            self._result.complete = True
        elif "error" in body:
            self._result.error_type = _ERROR_TYPE

    def result(self) -> ResponseInfo:
        result = self._result
        if self._capture and self._text:
            result.output_messages = _messages.streamed_output(self._text, result.finish_reasons)
        return result


class OllamaAdapter:
    """``/api/chat`` (``chat=True``) and ``/api/generate``."""

    content_keys = frozenset({"messages", "prompt", "system", "images", "tools"})

    stream_framing = NDJSONParser

    def __init__(self, *, chat: bool) -> None:
        self._chat = chat

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        request.model = get_str(body, "model") or request.model
        request.stream = body.get("stream") is not False  # Ollama streams unless told not to
        options = body.get("options")
        if is_object(options):
            copy_params(options, _OPTIONS, request.params)
        if capture_content:
            if self._chat:
                request.system_instructions, request.input_messages = _messages.chat_input(
                    body.get("messages")
                )
            else:
                system = get_str(body, "system")
                request.system_instructions = [_messages.text_part(system)] if system else None
                request.input_messages = _messages.prompt_messages(get_str(body, "prompt"))

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = ResponseInfo()
        if not is_object(body):
            return result
        _final_fields(result, body)
        if capture_content and result.error_type is None:
            reason = result.finish_reasons[0] if result.finish_reasons else None
            text = _output_text(body)
            result.output_messages = [_messages.output_message([_messages.text_part(text)], reason)]
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _OllamaStream:
        return _OllamaStream(capture_content)


class OllamaEmbedAdapter:
    """``/api/embed`` (its answer carries ``prompt_eval_count``) and the legacy ``/api/embeddings``
    (whose answer carries no count)."""

    content_keys = frozenset({"input", "prompt"})

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        request.model = get_str(body, "model") or request.model

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = ResponseInfo()
        if is_object(body):
            _final_fields(result, body)
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _OllamaStream:
        return _OllamaStream(capture_content)


OLLAMA_CHAT = OllamaAdapter(chat=True)
OLLAMA_GENERATE = OllamaAdapter(chat=False)
OLLAMA_EMBED = OllamaEmbedAdapter()
