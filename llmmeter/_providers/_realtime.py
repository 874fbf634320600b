"""The OpenAI Realtime protocol: which WebSocket URLs are sessions, and what their events say.

Like the HTTP adapters, this module knows nothing of OpenTelemetry or WebSocket libraries. A session
is a stream of JSON events, most of them deltas (``response.output_audio.delta`` carries base64
audio of several kilobytes); only a few matter to metering. :func:`event_type` reads an event's
top-level ``type`` from its first bytes without parsing it, so every other event costs a short
string search; the few that matter are parsed whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from llmmeter._providers import _messages
from llmmeter._providers._base import ResponseInfo, get_str, is_object, loads_or_none
from llmmeter._providers._routing import _provider_for_host
from llmmeter._telemetry import _names as n
from llmmeter._usage import from_openai_realtime

__all__ = [
    "DELTA_HEADS",
    "RESPONSE_CREATE",
    "SERVER_EVENTS",
    "Target",
    "event_type",
    "parse_event",
    "response_info",
    "target",
]

SESSION_CREATED = "session.created"
SESSION_UPDATED = "session.updated"
RESPONSE_CREATED = "response.created"
RESPONSE_DONE = "response.done"
ERROR = "error"
RESPONSE_CREATE = "response.create"
"""The client event that asks for a response: the one a spent budget refuses."""

SERVER_EVENTS = frozenset({SESSION_CREATED, SESSION_UPDATED, RESPONSE_CREATED, RESPONSE_DONE, ERROR})
"""The server events metering reads; every other event passes unparsed."""

_HEAD = 192
"""How far into a message its top-level ``type`` is looked for (OpenAI sends it first)."""

DELTA_HEADS = tuple(
    f'{{"type":"{kind}"'
    for kind in (
        "response.output_audio.delta",
        "response.output_audio_transcript.delta",
        "response.output_text.delta",
        "response.function_call_arguments.delta",
        "conversation.item.input_audio_transcription.delta",
        "response.audio.delta",  # the beta interface's names
        "response.audio_transcript.delta",
        "response.text.delta",
    )
)
"""How the delta events (nearly every event of a session) start in OpenAI's own form: a message
that starts with one of these is an event metering does not read, told by one ``startswith``
without a call of ours. Any other message goes through :func:`event_type`."""


@dataclass(frozen=True, slots=True)
class Target:
    """A Realtime session endpoint, from the connection URL alone (its query's secrets stay there)."""

    provider: str
    model: str | None
    host: str
    port: int


def target(host: str, port: int, path: str, query: str) -> Target | None:
    """The session a WebSocket URL opens, or None when it is not a Realtime endpoint.

    Any host counts whose path ends in ``/realtime`` (OpenAI, Azure OpenAI, a proxy, a local
    server); the model is the ``model`` query parameter (Azure: ``deployment``).
    """
    if not path.rstrip("/").endswith("/realtime"):
        return None
    params = parse_qs(query) if query else {}
    models = params.get("model") or params.get("deployment")
    return Target(_provider_for_host(host, port), models[0] if models else None, host, port)


def event_type(message: str | bytes) -> str | None:
    """The top-level ``type`` of a JSON event, read from its first bytes without parsing it.

    ``""`` for a message that is not a JSON object; None when the type cannot be told from the
    start (a ``type`` key after a nested value, an escaped value): the caller parses such a message.
    A ``"type"`` followed by a colon, before any nested object or array, is a top-level key:
    inside a JSON string its quotes would be escaped.
    """
    # OpenAI's own form, tried first: the type is the first key, written without spaces.
    if type(message) is str:
        if message.startswith('{"type":"'):
            end = message.find('"', 9, _HEAD)
            if end > 0 and "\\" not in (value := message[9:end]):
                return value
    elif type(message) is bytes and message.startswith(b'{"type":"'):
        end = message.find(b'"', 9, _HEAD)
        if end > 0 and (raw := message[9:end]).find(b"\\") == -1:
            return raw.decode("latin-1")
    head = message[:_HEAD]
    if type(head) is bytes:
        head = head.decode("latin-1")
    elif not isinstance(head, str):
        return ""
    start = head.find("{")
    if start < 0 or head[:start].strip():
        return ""
    key = head.find('"type"', start)
    if key < 0 or "{" in head[start + 1 : key] or "[" in head[start:key]:
        return None
    cursor = _skip_space(head, key + 6)
    if head[cursor : cursor + 1] != ":":
        return None
    cursor = _skip_space(head, cursor + 1)
    if head[cursor : cursor + 1] != '"':
        return None
    end = head.find('"', cursor + 1)
    if end < 0:
        return None
    value = head[cursor + 1 : end]
    return None if "\\" in value else value


def _skip_space(text: str, index: int) -> int:
    while text[index : index + 1] in (" ", "\t", "\n", "\r"):
        index += 1
    return index


def parse_event(message: str | bytes, wanted: frozenset[str]) -> dict[str, Any] | None:
    """The decoded event when its type is one of ``wanted``, else None (malformed events too).

    Parses only what :func:`event_type` cannot rule out from the message's start.
    """
    kind = event_type(message)
    if kind is not None and kind not in wanted:
        return None
    event = loads_or_none(message)
    if type(event) is not dict or event.get("type") not in wanted:
        return None
    return event


def session_model(event: dict[str, Any]) -> str | None:
    """The model a ``session.created`` or ``session.updated`` event names."""
    return get_str(event.get("session"), "model")


def session_id(event: dict[str, Any]) -> str | None:
    """The session id a ``session.created`` event names."""
    return get_str(event.get("session"), "id")


def response_id(event: dict[str, Any]) -> str | None:
    """The id of the response a ``response.created`` or ``response.done`` event is about."""
    return get_str(event.get("response"), "id")


def response_info(event: dict[str, Any], model: str | None, capture_content: bool = False) -> ResponseInfo:
    """What a ``response.done`` event says: its usage, id, status, and failure if it failed; with
    ``capture_content``, its output (text, and spoken audio as its transcript).

    ``model`` is the session's: a Realtime response does not name its model.
    """
    response = event.get("response")
    if not is_object(response):
        return ResponseInfo(model=model, complete=False)
    usage = response.get("usage")
    status = get_str(response, "status")
    details = response.get("status_details")
    reason = get_str(details, "reason")
    error_type = None
    if status == "failed":
        error_type = get_str(details.get("error") if is_object(details) else None, "type") or status
    result = ResponseInfo(
        model=model,
        response_id=get_str(response, "id"),
        finish_reasons=[reason or status] if status else [],
        usage=from_openai_realtime(usage) if is_object(usage) else None,
        error_type=error_type,
    )
    if capture_content:
        finish = n.FINISH_STOP if status == "completed" else reason or status
        result.output_messages = _messages.responses_output(response.get("output"), finish)
    return result


def error_details(event: dict[str, Any]) -> tuple[str, str | None]:
    """The type and code of an ``error`` event's error (never its message: it may quote input)."""
    error = event.get("error")
    return get_str(error, "type") or n.ERROR_TYPE_OTHER, get_str(error, "code")
