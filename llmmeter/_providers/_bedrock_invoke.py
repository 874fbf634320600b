"""Bedrock's InvokeModel (``/model/{id}/invoke``, ``/model/{id}/invoke-with-response-stream``).

The request and response bodies are the model family's own; the anthropic SDK's ``AnthropicBedrock``
sends Anthropic's Messages body (without ``model`` and ``stream``, which the URL carries), so
this adapter reads Anthropic's. A stream is AWS event-stream framing whose ``chunk`` events carry
``{"bytes": "<base64 of one Anthropic stream event>"}``; the last event also carries
``amazon-bedrock-invocationMetrics``. Any other message of the stream is an exception, by its type.
"""

from __future__ import annotations

import binascii
from base64 import b64decode, b64encode
from collections.abc import Mapping
from typing import Any

from llmmeter._providers._anthropic import MESSAGES
from llmmeter._providers._base import (
    RequestInfo,
    ResponseInfo,
    StreamState,
    get_str,
    is_object,
    loads_or_none,
)
from llmmeter._providers._eventstream import EventStreamParser
from llmmeter._usage import from_bedrock_metrics

__all__ = ["BEDROCK_INVOKE"]

_METRICS = "amazon-bedrock-invocationMetrics"
# The base64 form of how content-block events begin (``{"type":"content_block_delta"...}``, 21
# bytes make 28 characters), as a JSON string starts: such a chunk is passed over undecoded.
_CONTENT_BLOCK = '"' + b64encode(b'{"type":"content_bloc').decode()


class _InvokeStream:
    """Unwraps each ``chunk`` event and hands the Anthropic event inside to a Messages stream."""

    __slots__ = ("_capture", "_error", "_inner", "_metrics")

    def __init__(self, inner: StreamState, capture_content: bool) -> None:
        self._capture = capture_content
        self._inner = inner
        self._error: str | None = None
        self._metrics: Any = None

    def record_event(self, event: str, data: str) -> None:
        if event != "chunk":
            self._error = event  # an exception message: its type
            return
        if not self._capture and _CONTENT_BLOCK in data:
            return
        payload = loads_or_none(data)
        encoded = get_str(payload, "bytes")
        if encoded is None:
            return
        try:
            decoded = b64decode(encoded, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return
        self._inner.record_event("", decoded)
        if _METRICS in decoded:
            inner = loads_or_none(decoded)
            if is_object(inner):
                self._metrics = inner.get(_METRICS)

    def result(self) -> ResponseInfo:
        result = self._inner.result()
        if self._error is not None:
            result.error_type = self._error
        if result.usage is None and is_object(self._metrics):
            result.usage = from_bedrock_metrics(self._metrics)
        return result


class BedrockInvokeAdapter:
    """``/model/{id}/invoke`` and ``/model/{id}/invoke-with-response-stream``."""

    content_keys = MESSAGES.content_keys

    stream_framing = EventStreamParser

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        model = request.model
        MESSAGES.parse_request(request, body, capture_content)
        request.model = model or request.model  # the model the URL names, not one in the body

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        return MESSAGES.parse_response(request, body, capture_content)

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _InvokeStream:
        return _InvokeStream(MESSAGES.new_stream(request, capture_content), capture_content)


BEDROCK_INVOKE = BedrockInvokeAdapter()
