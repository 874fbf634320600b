"""``llmmeter.configure()``: one place for every process-wide option."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from llmmeter._errors import ConfigurationError
from llmmeter._settings import settings

__all__ = ["configure"]


def configure(
    *,
    capture_content: bool | None = None,
    redact: Callable[[Any], Any] | None = None,
    include_stream_usage: bool | None = None,
    metric_attributes: Iterable[str] | None = None,
    pricing_files: Sequence[str | Path] | None = None,
    pricing_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    azure_deployments: Mapping[str, str] | None = None,
) -> None:
    """Set llmmeter's process-wide options; arguments left as None keep their current value.

    Args:
        capture_content: record prompts and completions on spans (off by default).
        redact: called with captured content before it is written; return the redacted value, or
            None to drop it.
        include_stream_usage: add ``stream_options.include_usage`` to streamed OpenAI chat requests
            that lack it, so streams report usage (off by default: some compatible servers reject it).
        metric_attributes: keys of :func:`llmmeter.attributes` that are also written on metric points.
            Keep them low-cardinality (tenant, feature), never ids.
        pricing_files: TOML/JSON pricing files whose entries override the built-in prices.
        pricing_overrides: price entries given in code, highest precedence.
        azure_deployments: Azure OpenAI deployment name -> model, for pricing.

    Raises:
        ConfigurationError: an option has the wrong type.
        PricingFileError: a pricing file is malformed (the message names file, entry and field).
    """
    if capture_content is not None:
        settings.capture_content = _flag("capture_content", capture_content)
    if redact is not None:
        if not callable(redact):
            raise ConfigurationError("configure(redact=...) takes a callable")
        settings.redact = redact
    if include_stream_usage is not None:
        settings.include_stream_usage = _flag("include_stream_usage", include_stream_usage)
    if metric_attributes is not None:
        keys = [metric_attributes] if isinstance(metric_attributes, str) else list(metric_attributes)
        if not all(isinstance(key, str) and key for key in keys):
            raise ConfigurationError("configure(metric_attributes=...) takes attribute names (strings)")
        settings.metric_attributes = frozenset(keys)
    if pricing_files is not None or pricing_overrides is not None or azure_deployments is not None:
        from llmmeter._pricing import PricingTable, set_table

        set_table(
            PricingTable(
                overrides=pricing_overrides,
                files=[pricing_files] if isinstance(pricing_files, str | Path) else list(pricing_files or ()),
                deployments=azure_deployments,
            )
        )


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"configure({name}=...) takes True or False, not {value!r}")
    return value
