"""What the media adapters (images, audio, video) share: reading JSON or form fields alike, and
the events of their streams.

Their requests come as JSON or as ``multipart/form-data`` (uploads), whose fields are all text:
``"2"`` for ``n=2``, ``"true"`` for ``stream=True``. The readers here accept both forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmmeter._providers._base import is_object, loads_or_none
from llmmeter._telemetry import _names as n

__all__ = ["error_type", "event_error_type", "event_type", "field_bool", "field_int", "payload_of"]


def field_int(body: Mapping[str, Any], key: str) -> int | None:
    """A whole number given as a JSON number or as form text (``"8"``); None otherwise."""
    value = body.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 10:
        return int(value)
    return None


def field_bool(body: Mapping[str, Any], key: str) -> bool:
    """True for a JSON ``true`` or the form text ``"true"``."""
    value = body.get(key)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def event_type(event: str, data: str) -> str:
    """An event's type: its ``event:`` name, else the ``type`` field of its data.

    Looked up in the data's first bytes only: media events carry base64 payloads of megabytes,
    and their ``type`` comes first.
    """
    if event:
        return event
    head = data[:256]
    marker = head.find('"type"')
    if marker == -1:
        return ""
    start = head.find('"', head.find(":", marker) + 1)
    end = head.find('"', start + 1)
    return head[start + 1 : end] if start != -1 and end != -1 else ""


def payload_of(data: str) -> Mapping[str, Any] | None:
    """The event's data as a JSON object, or None."""
    payload = loads_or_none(data)
    return payload if is_object(payload) else None


def error_type(error: Any) -> str:
    """The ``error.type`` of an error object the API reported (its type, else code)."""
    if is_object(error):
        for key in ("type", "code"):
            value = error.get(key)
            if isinstance(value, str) and value:
                return value
    return n.ERROR_TYPE_OTHER


def event_error_type(data: str) -> str:
    """The ``error.type`` of a stream's ``error`` event (its ``error`` object, or the event itself)."""
    payload = payload_of(data)
    return error_type(payload.get("error", payload) if payload else None)
