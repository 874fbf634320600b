"""Process-wide options, set through :func:`llmmeter.configure`.

Content capture follows OpenTelemetry's GenAI utilities (opentelemetry-util-genai):
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` is ``NO_CONTENT`` (the default),
``SPAN_ONLY``, ``EVENT_ONLY`` or ``SPAN_AND_EVENT`` (``true`` and ``false``, which llmmeter read
before the modes existed, keep their meaning: ``SPAN_ONLY`` and ``NO_CONTENT``), and
``OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT`` (``true``/``false``) forces the
``gen_ai.client.inference.operation.details`` event on or off; unset, the event is on exactly when
the mode puts content on it. Content reaches an event only in ``EVENT_ONLY`` and ``SPAN_AND_EVENT``:
a forced event in another mode carries no content.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["CONTENT_MODES", "Settings", "parse_content_mode", "sdk_disabled", "settings"]

logger = logging.getLogger("llmmeter")

CAPTURE_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
EMIT_EVENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"

NO_CONTENT: Final = "NO_CONTENT"
SPAN_ONLY: Final = "SPAN_ONLY"
EVENT_ONLY: Final = "EVENT_ONLY"
SPAN_AND_EVENT: Final = "SPAN_AND_EVENT"
CONTENT_MODES: Final = (NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT)
_LEGACY_VALUES: Final = {"TRUE": SPAN_ONLY, "FALSE": NO_CONTENT}
_ON_SPANS: Final = frozenset({SPAN_ONLY, SPAN_AND_EVENT})
_ON_EVENTS: Final = frozenset({EVENT_ONLY, SPAN_AND_EVENT})


def parse_content_mode(value: object) -> str | None:
    """The capture mode ``value`` names (a mode, ``true``/``false``, any case), or None."""
    if isinstance(value, bool):
        return SPAN_ONLY if value else NO_CONTENT
    if not isinstance(value, str):
        return None
    name = value.strip().upper()
    return name if name in CONTENT_MODES else _LEGACY_VALUES.get(name)


def _content_mode_from_env() -> str:
    value = os.environ.get(CAPTURE_CONTENT_ENV, "")
    if not value.strip():
        return NO_CONTENT
    mode = parse_content_mode(value)
    if mode is None:
        logger.warning(
            "llmmeter: %s=%r is not one of %s; no content is captured",
            CAPTURE_CONTENT_ENV,
            value,
            ", ".join(CONTENT_MODES),
        )
        return NO_CONTENT
    return mode


def _emit_event_from_env() -> bool | None:
    value = os.environ.get(EMIT_EVENT_ENV, "").strip().lower()
    if value in ("true", "false"):
        return value == "true"
    if value:
        logger.warning(
            "llmmeter: %s=%r is not true or false; the capture mode decides", EMIT_EVENT_ENV, value
        )
    return None


def sdk_disabled() -> bool:
    """Whether ``OTEL_SDK_DISABLED=true``: the SDK writes nothing, and llmmeter starts no exporter."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


@dataclass(slots=True)
class Settings:
    """What llmmeter does beyond the defaults. Read at each call, so changes apply at once.

    The environment is read once, when llmmeter is imported; :func:`llmmeter.configure` changes
    the options later. The content fields after ``emit_events`` follow from the two before them:
    change those through :meth:`set_content`.
    """

    content_mode: str = field(default_factory=_content_mode_from_env)
    """Where captured content goes: one of :data:`CONTENT_MODES`."""
    emit_events: bool | None = field(default_factory=_emit_event_from_env)
    """Force the inference event on (True) or off (False); None lets the mode decide."""
    redact: Callable[[Any], Any] | None = None
    """Applied to captured content before it is written; return None to drop it."""
    include_stream_usage: bool = False
    """Add ``stream_options.include_usage`` to streamed OpenAI chat requests that lack it."""
    metric_attributes: frozenset[str] = field(default_factory=frozenset)
    """Keys of :func:`llmmeter.attributes` also written on metric points (the cardinality guard)."""
    events: bool = field(init=False, default=False)
    """Write a ``gen_ai.client.inference.operation.details`` event for every call."""
    content_on_spans: bool = field(init=False, default=False)
    content_on_events: bool = field(init=False, default=False)
    capture_content: bool = field(init=False, default=False)
    """Content is read from requests and responses at all (it goes on spans, events or both)."""

    def __post_init__(self) -> None:
        self.set_content(self.content_mode, self.emit_events)

    def set_content(self, mode: str, emit_events: bool | None) -> None:
        """Set the capture mode and the event switch, and what follows from them."""
        self.content_mode = mode
        self.emit_events = emit_events
        self.events = mode in _ON_EVENTS if emit_events is None else emit_events
        self.content_on_spans = mode in _ON_SPANS
        self.content_on_events = self.events and mode in _ON_EVENTS
        self.capture_content = self.content_on_spans or self.content_on_events


settings = Settings()
