"""A JSON response body too large to keep: only its ends are read.

Provider bodies open with the response's identity (``id``, ``model``, ``status``) and close with
what it cost (``usage``, ``service_tier``, the finish reason). Past :data:`LARGE_BODY_BYTES`,
:class:`BodyWindow` keeps the first and the last :data:`WINDOW_BYTES` only, and :meth:`value`
rebuilds from them the fields the adapters read, so llmmeter's memory stays a small fraction of a
large body (a 50 MB image-laden completion) whatever its size. Smaller bodies are parsed whole.
"""

from __future__ import annotations

import json
import re
from typing import Any

from llmmeter._providers._base import is_object, loads_or_none

__all__ = ["LARGE_BODY_BYTES", "WINDOW_BYTES", "BodyWindow"]

LARGE_BODY_BYTES = 1 << 20
WINDOW_BYTES = 64 << 10

_HEAD_FIELDS = ("id", "model", "status", "type")
_TAIL_FIELDS = ("service_tier", "stop_reason")
_USAGE = re.compile(rb'"usage"\s*:\s*\{')
_TOOL_USAGE = re.compile(rb'"tool_usage"\s*:\s*\{')
_FINISH = re.compile(rb'"finish_reason"\s*:\s*"([^"\\]{1,64})"')
_decoder = json.JSONDecoder()


def _string_field(name: str) -> re.Pattern[bytes]:
    return re.compile(rb'"' + name.encode() + rb'"\s*:\s*"([^"\\]{1,256})"')


_HEAD_PATTERNS = {name: _string_field(name) for name in _HEAD_FIELDS}
_TAIL_PATTERNS = {name: _string_field(name) for name in _TAIL_FIELDS}


class BodyWindow:
    """Collects a JSON body chunk by chunk; a large one is kept by its two ends only, unless
    ``whole`` (its content is to be reported)."""

    __slots__ = ("_chunks", "_head", "_limit", "_size", "_tail")

    def __init__(self, *, whole: bool = False) -> None:
        self._limit = None if whole else LARGE_BODY_BYTES
        self._chunks: list[bytes] | None = []
        self._size = 0
        self._head = b""
        self._tail = b""

    def add(self, data: bytes) -> None:
        """Take the next decoded chunk."""
        self._size += len(data)
        chunks = self._chunks
        if chunks is not None:
            chunks.append(data)
            if self._limit is None or self._size <= self._limit:
                return
            whole = b"".join(chunks)
            self._chunks = None
            self._head = whole[:WINDOW_BYTES]
            self._tail = whole[-WINDOW_BYTES:]
            return
        self._tail = (self._tail + data)[-WINDOW_BYTES:]

    def value(self) -> Any:
        """The decoded JSON, or for a large body a mapping of the fields its ends hold."""
        if self._chunks is not None:
            return loads_or_none(b"".join(self._chunks))
        return _summary(self._head, self._tail)


def _summary(head: bytes, tail: bytes) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, pattern in _HEAD_PATTERNS.items():
        found = pattern.search(head)
        if found is not None:
            body[name] = found.group(1).decode("utf-8", "replace")
    for name, pattern in _TAIL_PATTERNS.items():
        matches = pattern.findall(tail)
        if matches:
            body[name] = matches[-1].decode("utf-8", "replace")
    usage = _last_object(_USAGE, tail)
    if usage is not None:
        body["usage"] = usage
    tool_usage = _last_object(_TOOL_USAGE, tail)  # the Responses API's hosted tools (image generation)
    if tool_usage is not None:
        body["tool_usage"] = tool_usage
    reasons = [reason.decode("utf-8", "replace") for reason in _FINISH.findall(tail)]
    if reasons:
        body["choices"] = [{"finish_reason": reason} for reason in reasons]
    return body


def _last_object(key: re.Pattern[bytes], text: bytes) -> dict[str, Any] | None:
    """The JSON object that follows the last match of ``key`` in ``text``, when it decodes."""
    matches = list(key.finditer(text))
    for match in reversed(matches):
        try:
            value, _ = _decoder.raw_decode(text[match.end() - 1 :].decode("utf-8", "replace"))
        except ValueError:
            continue
        if is_object(value):
            return dict(value)
    return None
