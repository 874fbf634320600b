"""``llmmeter.configure()``: one place for every process-wide option."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from llmmeter._errors import ConfigurationError
from llmmeter._locks import new_lock
from llmmeter._settings import (
    CONTENT_MODES,
    checked_header_name,
    checked_provider_hosts,
    parse_content_mode,
    settings,
)

__all__ = ["configure"]

_DEFAULT_PROMETHEUS_HOST = "127.0.0.1"


class _PricingLayers:
    """The pricing options configured so far: each configure() call changes only those it is given."""

    def __init__(self) -> None:
        self.files: list[str | Path] | None = None
        """None until configured: then the files named by ``LLMMETER_PRICING_FILE``."""
        self.overrides: dict[str, Mapping[str, Any]] = {}
        self.deployments: dict[str, str] = {}


_layers = _PricingLayers()
_configuring = new_lock()
"""Held by each configure() call: two threads configuring at once apply one after the other."""


def _configure_pricing(
    files: Sequence[str | Path] | None,
    overrides: Mapping[str, Mapping[str, Any]] | None,
    deployments: Mapping[str, str] | None,
) -> None:
    """Rebuild the pricing table from every layer configured so far, plus the new ones; nothing
    changes unless all of it loads (a bad file or option raises here, naming it)."""
    from llmmeter._pricing import PRICING_FILE_ENV, PricingTable, set_table

    new_files = _layers.files
    if files is not None:
        new_files = _checked_files(files)
    elif new_files is None:
        new_files = [path for path in os.environ.get(PRICING_FILE_ENV, "").split(os.pathsep) if path]
    new_overrides = _layers.overrides if overrides is None else _checked_overrides(overrides)
    new_deployments = _layers.deployments if deployments is None else _checked_deployments(deployments)
    set_table(PricingTable(overrides=new_overrides, files=new_files, deployments=new_deployments))
    _layers.files, _layers.overrides, _layers.deployments = new_files, new_overrides, new_deployments


def _configure_updates(update_prices: object) -> None:
    from llmmeter._pricing._update import start_updates, stop_updates

    if update_prices is False:
        stop_updates()
    elif update_prices is True:
        start_updates()
    elif isinstance(update_prices, str) and update_prices.startswith(("http://", "https://")):
        start_updates(update_prices)
    else:
        raise ConfigurationError(
            f"configure(update_prices=...) takes True, False or an http(s) URL, not {update_prices!r}"
        )


def _checked_files(files: object) -> list[str | Path]:
    if isinstance(files, str | Path):
        return [files]
    if isinstance(files, Iterable) and not isinstance(files, bytes | Mapping):
        paths = list(files)
        if all(isinstance(path, str | Path) for path in paths):
            return paths
    raise ConfigurationError(f"configure(pricing_files=...) takes a path or a list of paths, not {files!r}")


def _checked_overrides(overrides: object) -> dict[str, Mapping[str, Any]]:
    if isinstance(overrides, Mapping) and all(
        isinstance(model, str) and isinstance(entry, Mapping) for model, entry in overrides.items()
    ):
        return dict(overrides)
    raise ConfigurationError(
        "configure(pricing_overrides=...) takes {model id: {field: price}}, "
        f"e.g. {{'gpt-4o': {{'input_mtok': 2, 'output_mtok': 8}}}}; got {overrides!r}"
    )


def _checked_deployments(deployments: object) -> dict[str, str]:
    if isinstance(deployments, Mapping) and all(
        isinstance(name, str) and name and isinstance(model, str) and model
        for name, model in deployments.items()
    ):
        return dict(deployments)
    raise ConfigurationError(
        "configure(azure_deployments=...) takes {deployment name: model name}, both strings; "
        f"got {deployments!r}"
    )


def configure(
    *,
    capture_content: bool | str | None = None,
    emit_events: bool | None = None,
    redact: Callable[[Any], Any] | None = None,
    include_stream_usage: bool | None = None,
    metric_attributes: Iterable[str] | None = None,
    pricing_files: Sequence[str | Path] | None = None,
    pricing_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    azure_deployments: Mapping[str, str] | None = None,
    update_prices: bool | str | None = None,
    provider_hosts: Mapping[str, str] | None = None,
    reported_cost_header: str | None = None,
    otlp: bool | None = None,
    prometheus_port: int | None = None,
    prometheus_host: str = _DEFAULT_PROMETHEUS_HOST,
    console: bool | None = None,
    service_name: str | None = None,
    export_to_existing: bool = False,
    budget_store: str | bool | None = None,
    budget_reservation_ttl: float | None = None,
) -> None:
    """Set llmmeter's process-wide options; arguments left as None keep their current value.

    Args:
        capture_content: record prompts and completions (off by default): ``True`` on spans,
            or a mode of OpenTelemetry's GenAI utilities: ``"SPAN_ONLY"``, ``"EVENT_ONLY"``,
            ``"SPAN_AND_EVENT"``, ``"NO_CONTENT"`` (``False``). Default: the
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` variable.
        emit_events: write a ``gen_ai.client.inference.operation.details`` log event for every
            call (True) or none (False), whatever the mode; by default the event is written in the
            modes that put content on it. Default: ``OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT``.
        redact: called with captured content before it is written; return the redacted value, or
            None to drop it.
        include_stream_usage: add ``stream_options.include_usage`` to streamed OpenAI chat requests
            that lack it, so streams report usage (off by default: some compatible servers reject it).
        metric_attributes: keys of :func:`llmmeter.attributes` that are also written on metric points.
            Keep them low-cardinality (tenant, feature), never ids.
        pricing_files: TOML/JSON pricing files whose entries override the built-in prices.
        pricing_overrides: price entries given in code, highest precedence.
        azure_deployments: Azure OpenAI deployment name -> model, for pricing.
        update_prices: refresh genai-prices' price data at run time (off by default): ``True``
            fetches it hourly from genai-prices' own address, a string is another URL to fetch the
            same file from (a mirror), ``False`` stops it. This is genai-prices' ``UpdatePrices``:
            one daemon thread of genai-prices', started without waiting; llmmeter's compiled rates
            are rebuilt when new data arrives, and pricing files, overrides and llmmeter's own
            supplement still win over it. Its requests are not LLM calls and are not metered.
        provider_hosts: the provider of OpenAI-compatible servers of your own, by ``host`` or
            ``host:port``: ``{"llm.internal:8000": "vllm"}`` reports calls there with
            ``gen_ai.provider.name = "vllm"`` (and prices them with that provider's hint). Replaces
            the mapping from ``LLMMETER_PROVIDER_HOSTS`` (``host[:port]=provider,...``). A host
            named nowhere is reported by llmmeter's own table of public hosts, else as ``openai``.
        reported_cost_header: a response header in which a gateway of yours reports each call's
            cost in USD (``LLMMETER_REPORTED_COST_HEADER``); that figure then becomes the call's
            cost, as OpenRouter's ``usage.cost`` and LiteLLM proxy's ``x-litellm-response-cost``
            do without configuration. ``""`` turns it off.
        otlp: export spans and metrics over OTLP http/protobuf, configured by the standard
            ``OTEL_EXPORTER_OTLP_*`` environment variables (endpoint, headers, timeout, ...).
        prometheus_port: serve the metrics for Prometheus to scrape on this port (0 picks a free one).
        prometheus_host: the address the Prometheus endpoint listens on; loopback by default, use
            ``"0.0.0.0"`` for a Prometheus server on another host.
        console: print spans and metrics to stdout (for trying things out).
        service_name: ``service.name`` of the providers llmmeter installs, unless the environment
            sets one (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``).
        export_to_existing: when the app has already set global OpenTelemetry providers, add the
            exporters asked for to them. Without it llmmeter leaves them alone and logs one INFO line.
        budget_store: where named budgets keep their spend: a ``redis://`` (``rediss://``,
            ``unix://``) URL shared by every process that names it (``pip install 'llmmeter[redis]'``),
            or ``False`` for this process only (the default; also ``LLMMETER_BUDGET_STORE``). Nothing
            connects until a budget first reserves; may be called again to change it. The URL may
            set ``socket_timeout``, ``socket_connect_timeout`` (1 s by default), ``timeout`` (waiting
            for a pooled connection, 10 s) and ``max_connections`` (64 per process and event loop).
        budget_reservation_ttl: seconds a reservation lives when its call never settles it (its
            process died); 600 by default. Keep it above the longest call.

    Exporters are for apps without OpenTelemetry set up: llmmeter installs SDK providers as the
    global ones only where none is set, and never replaces a provider the app installed. Each
    exporter starts once per process and runs until exit (``False`` does not stop one).

    Raises:
        ConfigurationError: an option has the wrong type, an exporter package is missing
            (``pip install 'llmmeter[export]'``), or the Prometheus port cannot be opened.
        PricingFileError: a pricing file is malformed (the message names file, entry and field).
    """
    with _configuring:
        if capture_content is not None or emit_events is not None:
            _configure_content(capture_content, emit_events)
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
            _configure_pricing(pricing_files, pricing_overrides, azure_deployments)
        if update_prices is not None:
            _configure_updates(update_prices)
        if provider_hosts is not None:
            from llmmeter._providers._routing import forget_routes

            settings.provider_hosts = checked_provider_hosts(provider_hosts, "configure(provider_hosts=...)")
            forget_routes()
        if reported_cost_header is not None:
            settings.reported_cost_header = (
                checked_header_name(reported_cost_header, "configure(reported_cost_header=...)")
                if reported_cost_header
                else None
            )
        if budget_store is not None or budget_reservation_ttl is not None:
            from llmmeter._budgets._stores import configure_store

            configure_store(budget_store, budget_reservation_ttl)
        if prometheus_host != _DEFAULT_PROMETHEUS_HOST and prometheus_port is None:
            raise ConfigurationError(
                f"configure(prometheus_host={prometheus_host!r}) needs prometheus_port=...: "
                "without a port no Prometheus endpoint is started"
            )
        exporting = (otlp, console, prometheus_port, service_name)
        if any(option is not None for option in exporting) or export_to_existing:
            from llmmeter._export import ExportRequest, configure_export

            configure_export(
                ExportRequest(
                    otlp=False if otlp is None else otlp,
                    console=False if console is None else console,
                    prometheus_port=prometheus_port,
                    prometheus_host=prometheus_host,
                    service_name=service_name,
                    export_to_existing=export_to_existing,
                )
            )


def _configure_content(capture_content: object, emit_events: object) -> None:
    mode = settings.content_mode
    if capture_content is not None:
        found = parse_content_mode(capture_content)
        if found is None:
            raise ConfigurationError(
                f"configure(capture_content=...) takes True, False or one of {', '.join(CONTENT_MODES)}, "
                f"not {capture_content!r}"
            )
        mode = found
    emit = settings.emit_events if emit_events is None else _flag("emit_events", emit_events)
    settings.set_content(mode, emit)


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"configure({name}=...) takes True or False, not {value!r}")
    return value
