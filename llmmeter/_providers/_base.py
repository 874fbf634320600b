"""The seam between capture and parsing: what an adapter learns from a request and a response.

Adapters are small and know nothing of OpenTelemetry, pricing or HTTP clients. They turn a decoded
request body into a :class:`RequestInfo`, a decoded response body into a :class:`ResponseInfo`, and
feed stream events into a :class:`StreamState` whose :meth:`StreamState.result` is a ResponseInfo.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeGuard

from orjson import loads as _fast_loads

from llmmeter._reported import ReportedCost
from llmmeter._usage import Usage

__all__ = ["Adapter", "RequestInfo", "ResponseInfo", "StreamState", "UploadedFile", "loads_or_none"]

AttributeScalar = str | bool | int | float
AttributeValue = AttributeScalar | list[str] | list[int] | list[float]


@dataclass(slots=True)
class RequestInfo:
    """What is known about a call before its response arrives."""

    provider: str
    operation: str
    model: str | None = None
    billed_model: str | None = None
    """The name the call is priced by when the endpoint, not the model alone, decides the rate (a
    Bedrock inference profile, a Vertex AI location): preferred to the model the response reports."""
    stream: bool = False
    server_address: str | None = None
    server_port: int | None = None
    service_tier: str | None = None
    params: dict[str, AttributeValue] = field(default_factory=dict)
    """Request parameters as ``gen_ai.request.*`` attributes (temperature, max_tokens, ...)."""
    input_messages: Any = None
    """The prompt as the conventions' input messages (see ``_messages``); only when content
    capture is on."""
    system_instructions: Any = None
    """System prompts as the conventions' system instructions; only when content capture is on."""
    tool_definitions: Any = None
    """The tools offered to the model as the conventions' tool definitions; only when content
    capture is on."""
    expected_usage: Usage | None = None
    """What the request alone says is billed (a speech input's characters, a video's seconds, an
    uploaded WAV's duration), for adapters whose responses may report no usage."""


@dataclass(slots=True)
class ResponseInfo:
    """What was learned from a response body or a stream. Every field may be missing."""

    model: str | None = None
    response_id: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    usage: Usage | None = None
    service_tier: str | None = None
    output_messages: Any = None
    """The completion as the conventions' output messages; only when content capture is on."""
    error_type: str | None = None
    """Set when the body itself reports a failure (a stream ``error`` event, ``response.failed``)."""
    complete: bool = True
    """False when a stream ended before its final event."""
    size: str | None = None
    """The output resolution a per-second or per-image rate depends on (a video's ``1792x1024``,
    an image's ``1024x1024``)."""
    quality: str | None = None
    """The output quality a per-image rate depends on (``standard``, ``hd``, ``high``)."""
    estimated: bool = False
    """True when ``usage`` is llmmeter's estimate (read from the upload), not the provider's report."""
    reported_cost: ReportedCost | None = None
    """The cost the body itself states (a gateway's: OpenRouter's ``usage.cost``), see ``_reported``."""
    tool_usage: tuple[str | None, Usage] | None = None
    """(model, usage) of a hosted tool billed at another model's rates, such as the Responses API's
    image generation: priced with that model and added to the call's cost."""
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    """Other things the response reported, as span attributes (Bedrock's own latency)."""


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request as an adapter sees it: never its content, only its first
    bytes (enough for a format's header) and its size."""

    filename: str | None
    content_type: str | None
    size: int | None
    """In bytes; None when the upload is a stream of unknown length."""
    head: bytes = b""
    """The first :data:`UPLOAD_HEAD_BYTES` bytes at most."""


UPLOAD_HEAD_BYTES = 512


class StreamState(Protocol):
    """Accumulates one stream's events; never raises on malformed events.

    A state may also define ``skips(events: bytes) -> bool``: given a chunk made of whole events,
    True when it need not be parsed now: none of them matters to it, or it kept the bytes to read
    at the end (Gemini's chunks each repeat the usage so far: only the last is read). Streams are
    mostly content deltas, and this keeps their per-chunk cost to a byte search or two. A state may also
    define ``ignores(event_name: str) -> bool``: True for events it never reads, which are then
    dropped without being decoded (media streams' base64 payloads of megabytes).
    """

    def record_event(self, event: str, data: str) -> None:
        """Take one server-sent event (its ``event:`` name, possibly empty, and its ``data:``)."""

    def result(self) -> ResponseInfo:
        """What the events seen so far say."""


class Adapter(Protocol):
    """Parses one provider API family. Instances are stateless and shared.

    An adapter may also define ``reads_body = False``: its non-streamed response bodies say nothing
    it needs (audio bytes), so they are not kept, and ``parse_response`` is given None for them.
    An adapter may also define ``reads_forms = True``: its requests may be ``multipart/form-data``
    (uploads), whose text fields are then given to ``parse_request`` as strings and whose files
    as :class:`UploadedFile` (see ``_capture._forms``).
    An adapter may also define ``stream_framing``: the parser class its streams are cut into events
    with (``_ndjson.NDJSONParser``, ``_eventstream.EventStreamParser``; SSE when it has none: see
    ``_framing``). Each event reaches :meth:`StreamState.record_event` as ``(name, text)``.
    An adapter may also define ``content_keys``: a frozenset of the top-level request keys that
    :meth:`parse_request` reads only when content is captured (the prompt's ``messages``). In a
    large body their long strings may then be given to it emptied (see ``_request_body``).
    """

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        """Fill ``request`` from the decoded JSON request body."""

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        """Read a whole (non-streamed) decoded JSON response body."""

    def new_stream(self, request: RequestInfo, capture_content: bool) -> StreamState:
        """A fresh state for one streamed response."""


def loads_or_none(data: str | bytes) -> Any:
    """The decoded JSON value, or None for anything that is not valid JSON.

    orjson parses a body in a fraction of ``json``'s time; what it refuses but ``json`` reads
    (``NaN``, UTF-16) is read by ``json``. orjson returns an integer beyond 64 bits as a float:
    no count can be one (see ``_usage``), and a body llmmeter rewrites is parsed with ``json``.
    """
    try:
        return _fast_loads(data)
    except ValueError:
        pass
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def is_object(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """Whether ``value`` is a JSON object: a dict, or any mapping (cheaper than an ABC check for dicts)."""
    return type(value) is dict or isinstance(value, Mapping)


def get_str(body: Any, key: str) -> str | None:
    """``body[key]`` when ``body`` is a mapping and the value is a non-empty string."""
    if type(body) is dict or isinstance(body, Mapping):  # is_object(), inlined: read on every call
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def copy_params(body: Mapping[str, Any], names: Mapping[str, str], params: dict[str, AttributeValue]) -> None:
    """Copy scalar request fields into ``params`` under their attribute names."""
    for key, value in body.items():
        attribute = names.get(key)
        if attribute is None or isinstance(value, bool):
            continue
        if isinstance(value, int | float | str):
            params[attribute] = value
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            params[attribute] = list(value)
