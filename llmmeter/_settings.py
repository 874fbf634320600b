"""Process-wide options, set through :func:`llmmeter.configure`."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmmeter._errors import ConfigurationError

__all__ = [
    "PROVIDER_HOSTS_ENV",
    "REPORTED_COST_HEADER_ENV",
    "Settings",
    "checked_header_name",
    "checked_provider_hosts",
    "sdk_disabled",
    "settings",
]

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CONTENT_ON_SPANS = frozenset({"true", "span_only", "span_and_event"})
"""The values of the variable that put content on spans (``EVENT_ONLY`` asks for log events only,
which llmmeter does not write; ``NO_CONTENT`` and ``false`` are the default)."""


def _capture_content_from_env() -> bool:
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _CONTENT_ON_SPANS


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


def _provider_hosts_from_env() -> dict[str, str]:
    raw = os.environ.get(PROVIDER_HOSTS_ENV, "").strip()
    if not raw:
        return {}
    pairs: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        host, equals, provider = entry.partition("=")
        if not equals:
            raise ConfigurationError(f"{PROVIDER_HOSTS_ENV}: entry {entry!r} is not host[:port]=provider")
        pairs[host] = provider
    return checked_provider_hosts(pairs, PROVIDER_HOSTS_ENV)


REPORTED_COST_HEADER_ENV = "LLMMETER_REPORTED_COST_HEADER"
"""The response header in which a gateway of the user's reports each call's cost in USD."""


def checked_header_name(name: object, origin: str) -> str:
    """A header name, lower-cased, or ConfigurationError."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name.strip()):
        raise ConfigurationError(f"{origin} takes an HTTP header name such as 'x-my-cost', not {name!r}")
    return name.strip().lower()


def _reported_cost_header_from_env() -> str | None:
    raw = os.environ.get(REPORTED_COST_HEADER_ENV, "").strip()
    return checked_header_name(raw, REPORTED_COST_HEADER_ENV) if raw else None


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
    provider_hosts: dict[str, str] = field(default_factory=_provider_hosts_from_env)
    """``host`` or ``host:port`` -> the ``gen_ai.provider.name`` of the OpenAI-compatible server there
    (a proxy, a vLLM server); ``LLMMETER_PROVIDER_HOSTS``. Routing is remembered: change it only
    through ``configure()``, which forgets the routes."""
    reported_cost_header: str | None = field(default_factory=_reported_cost_header_from_env)
    """A response header in which a gateway reports each call's cost in USD;
    ``LLMMETER_REPORTED_COST_HEADER``."""


settings = Settings()
