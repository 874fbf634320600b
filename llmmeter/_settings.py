"""Process-wide options, set through :func:`llmmeter.configure`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Settings", "settings"]


@dataclass(slots=True)
class Settings:
    """What llmmeter does beyond the defaults. Read at each call, so changes apply at once."""

    capture_content: bool = False
    """Record prompts and completions on spans. Off by default."""
    redact: Callable[[Any], Any] | None = None
    """Applied to captured content before it is written; return None to drop it."""
    include_stream_usage: bool = False
    """Add ``stream_options.include_usage`` to streamed OpenAI chat requests that lack it."""
    metric_attributes: frozenset[str] = field(default_factory=frozenset)
    """Keys of :func:`llmmeter.attributes` also written on metric points (the cardinality guard)."""


settings = Settings()
