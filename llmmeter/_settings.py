"""Process-wide options, set through :func:`llmmeter.configure`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Settings", "sdk_disabled", "settings"]

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CONTENT_ON_SPANS = frozenset({"true", "span_only", "span_and_event"})
"""The values of the variable that put content on spans (``EVENT_ONLY`` asks for log events only,
which llmmeter does not write; ``NO_CONTENT`` and ``false`` are the default)."""


def _capture_content_from_env() -> bool:
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _CONTENT_ON_SPANS


def sdk_disabled() -> bool:
    """Whether ``OTEL_SDK_DISABLED=true``: the SDK writes nothing, and llmmeter starts no exporter."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


@dataclass(slots=True)
class Settings:
    """What llmmeter does beyond the defaults. Read at each call, so changes apply at once."""

    capture_content: bool = field(default_factory=_capture_content_from_env)
    """Record prompts and completions on spans. Off by default; on when
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` is ``true``, ``SPAN_ONLY`` or
    ``SPAN_AND_EVENT``."""
    redact: Callable[[Any], Any] | None = None
    """Applied to captured content before it is written; return None to drop it."""
    include_stream_usage: bool = False
    """Add ``stream_options.include_usage`` to streamed OpenAI chat requests that lack it."""
    metric_attributes: frozenset[str] = field(default_factory=frozenset)
    """Keys of :func:`llmmeter.attributes` also written on metric points (the cardinality guard)."""


settings = Settings()
