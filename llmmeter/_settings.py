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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from llmmeter._errors import ConfigurationError

__all__ = [
    "CONTENT_MODES",
    "PROVIDER_HOSTS_ENV",
    "REPORTED_COST_HEADER_ENV",
    "Settings",
    "checked_header_name",
    "checked_provider_hosts",
    "parse_content_mode",
    "parse_provider_hosts",
    "sdk_disabled",
    "settings",
]

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


PROVIDER_HOSTS_ENV = "LLMMETER_PROVIDER_HOSTS"
"""``host[:port]=provider`` entries separated by commas: the provider name of hosts of the user's own."""

_HOST = re.compile(r"^(?:[a-z0-9_.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$")
_PROVIDER = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def checked_provider_hosts(hosts: object, origin: str) -> dict[str, str]:
    """``{host or host:port: provider name}``, lower-cased, or ConfigurationError naming the bad entry.

    ``origin`` says where the mapping came from, for the message (``configure(provider_hosts=...)``).
    """
    if not isinstance(hosts, Mapping):
        raise ConfigurationError(f"{origin} takes {{'host[:port]': 'provider name'}}, not {hosts!r}")
    checked: dict[str, str] = {}
    for host, provider in hosts.items():
        key = host.strip().lower() if isinstance(host, str) else host
        name = provider.strip().lower() if isinstance(provider, str) else provider
        if not isinstance(key, str) or not _HOST.match(key):
            raise ConfigurationError(
                f"{origin}: entry {host!r} is not a host name or host:port (no scheme, no path), "
                "e.g. 'llm.internal:8000'"
            )
        if not isinstance(name, str) or not _PROVIDER.match(name):
            raise ConfigurationError(
                f"{origin}: entry {host!r} names the provider {provider!r}; a provider name is "
                "lower-case letters, digits, '_', '.' or '-' (e.g. 'vllm')"
            )
        checked[key] = name
    return checked


def parse_provider_hosts(raw: str) -> dict[str, str]:
    """``LLMMETER_PROVIDER_HOSTS``'s ``host[:port]=provider`` entries, or ConfigurationError naming one."""
    pairs: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        host, equals, provider = entry.partition("=")
        if not equals:
            raise ConfigurationError(f"{PROVIDER_HOSTS_ENV}: entry {entry!r} is not host[:port]=provider")
        pairs[host] = provider
    return checked_provider_hosts(pairs, PROVIDER_HOSTS_ENV)


def _provider_hosts_from_env() -> dict[str, str]:
    try:
        return parse_provider_hosts(os.environ.get(PROVIDER_HOSTS_ENV, ""))
    except ConfigurationError as error:  # read at import: told, not raised, like the variables above
        logger.warning("llmmeter: %s; the variable is ignored", error)
        return {}


REPORTED_COST_HEADER_ENV = "LLMMETER_REPORTED_COST_HEADER"
"""The response header in which a gateway of the user's reports each call's cost in USD."""


def checked_header_name(name: object, origin: str) -> str:
    """A header name, lower-cased, or ConfigurationError."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name.strip()):
        raise ConfigurationError(f"{origin} takes an HTTP header name such as 'x-my-cost', not {name!r}")
    return name.strip().lower()


def _reported_cost_header_from_env() -> str | None:
    raw = os.environ.get(REPORTED_COST_HEADER_ENV, "").strip()
    if not raw:
        return None
    try:
        return checked_header_name(raw, REPORTED_COST_HEADER_ENV)
    except ConfigurationError as error:
        logger.warning("llmmeter: %s; the variable is ignored", error)
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
    provider_hosts: dict[str, str] = field(default_factory=_provider_hosts_from_env)
    """``host`` or ``host:port`` -> the ``gen_ai.provider.name`` of the OpenAI-compatible server there
    (a proxy, a vLLM server); ``LLMMETER_PROVIDER_HOSTS``. Routing is remembered: change it only
    through ``configure()``, which forgets the routes."""
    reported_cost_header: str | None = field(default_factory=_reported_cost_header_from_env)
    """A response header in which a gateway reports each call's cost in USD;
    ``LLMMETER_REPORTED_COST_HEADER``."""
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
