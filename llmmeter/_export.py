"""Exporters for apps that have no OpenTelemetry set up: OTLP, a Prometheus endpoint, the console.

``llmmeter.configure(otlp=True, prometheus_port=9464, service_name="billing")`` lands here.

- Where the app has not set a global provider, llmmeter installs an SDK ``TracerProvider`` /
  ``MeterProvider`` / ``LoggerProvider`` with the requested exporters (they share one resource, so
  spans, metrics and the inference events carry the same ``service.name`` and
  ``service.instance.id``). OTLP and the console take spans, metrics and log events alike.
- A provider the app installed is never replaced. By default llmmeter leaves it alone and logs one
  INFO line; with ``export_to_existing=True`` it adds its exporters to it (span processors and
  metric readers are added, nothing is removed or reconfigured).
- Each exporter is started once per process; asking again for one already running does nothing.

Exporter packages are imported here, on first use, so ``import llmmeter`` stays cheap; a missing one
is a :class:`ConfigurationError` naming the ``llmmeter[export]`` extra.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry import _logs, metrics, trace

from llmmeter._errors import ConfigurationError
from llmmeter._settings import sdk_disabled

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LogRecordProcessor
    from opentelemetry.sdk.metrics.export import MetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanProcessor

__all__ = ["ExportRequest", "configure_export", "is_placeholder_provider", "prometheus_address"]

logger = logging.getLogger("llmmeter")

_EXTRA = "pip install 'llmmeter[export]'"
_OTLP_PROTOCOL = "http/protobuf"
_PROTOCOL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
)
_DEFAULT_OTLP_ENDPOINT = "http://localhost:4318"


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """The exporters one ``configure()`` call asks for, validated."""

    otlp: bool = False
    console: bool = False
    prometheus_port: int | None = None
    prometheus_host: str = "127.0.0.1"
    service_name: str | None = None
    export_to_existing: bool = False

    def __post_init__(self) -> None:
        for name in ("otlp", "console", "export_to_existing"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ConfigurationError(f"configure({name}=...) takes True or False, not {value!r}")
        port = self.prometheus_port
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535
        ):
            raise ConfigurationError(
                "configure(prometheus_port=...) takes a TCP port number "
                f"(0-65535, 0 picks a free one), not {port!r}"
            )
        if not isinstance(self.prometheus_host, str) or not self.prometheus_host:
            raise ConfigurationError(
                f"configure(prometheus_host=...) takes an address to listen on, not {self.prometheus_host!r}"
            )
        if self.service_name is not None and (
            not isinstance(self.service_name, str) or not self.service_name
        ):
            raise ConfigurationError(
                f"configure(service_name=...) takes a non-empty string, not {self.service_name!r}"
            )

    def span_kinds(self) -> list[str]:
        """The span exporters asked for."""
        return [kind for kind, wanted in (("otlp", self.otlp), ("console", self.console)) if wanted]

    def log_kinds(self) -> list[str]:
        """The log exporters asked for (the inference events): those of the spans."""
        return self.span_kinds()

    def metric_kinds(self) -> list[str]:
        """The metric exporters asked for, the Prometheus endpoint first (its port may fail to open)."""
        wanted = (
            ("prometheus", self.prometheus_port is not None),
            ("otlp", self.otlp),
            ("console", self.console),
        )
        return [kind for kind, on in wanted if on]


@dataclass(slots=True)
class _State:
    """What configure() has started in this process."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    resource: Resource | None = None
    tracer_provider: Any = None
    """The SDK tracer provider llmmeter installed as the global one, if it did."""
    meter_provider: Any = None
    logger_provider: Any = None
    span_kinds: set[str] = field(default_factory=set)
    metric_kinds: set[str] = field(default_factory=set)
    log_kinds: set[str] = field(default_factory=set)
    prometheus: tuple[str, int] | None = None
    pid: int | None = None
    """The process that started the exporters."""


_state = _State()


def _refuse_inherited_exporters() -> None:
    """A pre-fork master's exporters serve its workers badly: their cumulative sums start from the
    master's, and every worker reports the same instance. Say so, with the recipe, at the call."""
    if _state.pid is not None and _state.pid != os.getpid():
        raise ConfigurationError(
            f"llmmeter.configure() started exporters in the parent process (pid {_state.pid}) before this "
            "worker was forked: the worker would report the parent's cumulative metrics as its own. Call "
            "configure() in each worker after the fork instead (gunicorn: a post_fork hook; uvicorn "
            "--workers: at app startup), not in the master."
        )


def prometheus_address() -> tuple[str, int] | None:
    """The (host, port) llmmeter's Prometheus endpoint listens on, once started."""
    return _state.prometheus


def configure_export(request: ExportRequest) -> None:
    """Start the exporters ``request`` asks for, on providers llmmeter installs or is allowed to extend.

    Raises:
        ConfigurationError: an exporter package is missing, the OTLP protocol asked for by the
            environment is not http/protobuf, or the Prometheus port cannot be opened.
    """
    if sdk_disabled():
        return  # the app switched OpenTelemetry off: no exporter, no provider, nothing logged
    _refuse_inherited_exporters()
    if request.otlp:
        _check_otlp_protocol()
    with _state.lock:
        _check_prometheus_port(request)
        span_kinds = [kind for kind in request.span_kinds() if kind not in _state.span_kinds]
        metric_kinds = [kind for kind in request.metric_kinds() if kind not in _state.metric_kinds]
        log_kinds = [kind for kind in request.log_kinds() if kind not in _state.log_kinds]
        # Import every exporter before touching anything, so a missing package changes nothing.
        span_factories = [_SPAN_EXPORTERS[kind]() for kind in span_kinds]
        reader_factories = [_METRIC_READERS[kind]() for kind in metric_kinds]
        log_factories = [_LOG_EXPORTERS[kind]() for kind in log_kinds]

        tracer_provider: Any = trace.get_tracer_provider()
        meter_provider: Any = metrics.get_meter_provider()
        logger_provider: Any = _logs.get_logger_provider()
        span_plan = _plan(
            request, tracer_provider, _state.tracer_provider, span_factories, "add_span_processor"
        )
        metric_plan = _plan(
            request, meter_provider, _state.meter_provider, reader_factories, "add_metric_reader"
        )
        log_plan = _plan(
            request, logger_provider, _state.logger_provider, log_factories, "add_log_record_processor"
        )
        # The Prometheus reader comes first: binding its port is the one step that can still fail.
        readers = [make(request) for make in reader_factories] if metric_plan in ("install", "extend") else []

        if span_plan == "install":
            _install_tracer_provider([make() for make in span_factories], request.service_name)
        elif span_plan == "extend":
            for make in span_factories:
                tracer_provider.add_span_processor(make())
        if span_plan in ("install", "extend"):
            _state.span_kinds.update(span_kinds)
            _state.pid = os.getpid()

        if metric_plan == "install":
            _install_meter_provider(readers, request.service_name)
        elif metric_plan == "extend":
            for reader in readers:
                meter_provider.add_metric_reader(reader)
        if metric_plan in ("install", "extend"):
            _state.metric_kinds.update(metric_kinds)
            _state.pid = os.getpid()

        if log_plan == "install":
            _install_logger_provider([make_log() for make_log in log_factories], request.service_name)
        elif log_plan == "extend":
            for make_log in log_factories:
                logger_provider.add_log_record_processor(make_log())
        if log_plan in ("install", "extend"):
            _state.log_kinds.update(log_kinds)
            _state.pid = os.getpid()

        left_alone = [
            f"{signal} provider ({type(provider).__name__})"
            for signal, provider, plan in (
                ("tracer", tracer_provider, span_plan),
                ("meter", meter_provider, metric_plan),
                ("logger", logger_provider, log_plan),
            )
            if plan == "leave"
        ]
        if left_alone:
            logger.info(
                "llmmeter: the app already set its global OpenTelemetry %s; llmmeter does not replace %s and "
                "starts no exporter there (configure(export_to_existing=True) adds llmmeter's exporters)",
                " and ".join(left_alone),
                "it" if len(left_alone) == 1 else "them",
            )


Plan = Literal["install", "extend", "leave", "unable", "nothing"]


def _plan(
    request: ExportRequest, current: object, ours: object, factories: list[Any], add_method: str
) -> Plan:
    """What to do for one signal: install a provider, extend the current one, or leave it alone."""
    if not factories:
        return "nothing"
    if is_placeholder_provider(current):
        return "install"
    if current is not ours and not request.export_to_existing:
        return "leave"
    if not hasattr(current, add_method):
        logger.info(
            "llmmeter: the global provider %s has no %s(); llmmeter adds no exporter to it",
            type(current).__name__,
            add_method,
        )
        return "unable"
    return "extend"


def is_placeholder_provider(provider: object) -> bool:
    """Whether ``provider`` is the API's stand-in returned before the app sets a global provider."""
    # The metrics API exposes no public name for its stand-in.
    from opentelemetry._logs._internal import ProxyLoggerProvider
    from opentelemetry.metrics._internal import _ProxyMeterProvider

    return isinstance(provider, trace.ProxyTracerProvider | _ProxyMeterProvider | ProxyLoggerProvider)


def _install_tracer_provider(processors: list[SpanProcessor], service_name: str | None) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider(resource=_resource(service_name))
    for processor in processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _state.tracer_provider = provider


def _install_meter_provider(readers: list[MetricReader], service_name: str | None) -> None:
    from opentelemetry.sdk.metrics import MeterProvider

    provider = MeterProvider(metric_readers=readers, resource=_resource(service_name))
    metrics.set_meter_provider(provider)
    _state.meter_provider = provider


def _install_logger_provider(processors: list[LogRecordProcessor], service_name: str | None) -> None:
    from opentelemetry.sdk._logs import LoggerProvider

    provider = LoggerProvider(resource=_resource(service_name))
    for processor in processors:
        provider.add_log_record_processor(processor)
    _logs.set_logger_provider(provider)
    _state.logger_provider = provider


# --- exporters -----------------------------------------------------------------------------------------

SpanFactory = Callable[[], "SpanProcessor"]
ReaderFactory = Callable[[ExportRequest], "MetricReader"]


def _otlp_spans() -> SpanFactory:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise _missing("otlp=True", "opentelemetry-exporter-otlp-proto-http", exc) from exc
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    def make() -> SpanProcessor:
        logger.info(
            "llmmeter: exporting spans over OTLP (%s) to %s", _OTLP_PROTOCOL, _otlp_endpoint("TRACES")
        )
        return BatchSpanProcessor(OTLPSpanExporter())

    return make


def _console_spans() -> SpanFactory:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    return lambda: SimpleSpanProcessor(ConsoleSpanExporter())


def _otlp_metrics() -> ReaderFactory:
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    except ImportError as exc:
        raise _missing("otlp=True", "opentelemetry-exporter-otlp-proto-http", exc) from exc
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    def make(request: ExportRequest) -> MetricReader:
        logger.info(
            "llmmeter: exporting metrics over OTLP (%s) to %s", _OTLP_PROTOCOL, _otlp_endpoint("METRICS")
        )
        return PeriodicExportingMetricReader(OTLPMetricExporter())

    return make


def _console_metrics() -> ReaderFactory:
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

    return lambda request: PeriodicExportingMetricReader(ConsoleMetricExporter())


def _prometheus_metrics() -> ReaderFactory:
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import CollectorRegistry, start_http_server
    except ImportError as exc:
        raise _missing("prometheus_port=...", "opentelemetry-exporter-prometheus", exc) from exc

    def make(request: ExportRequest) -> MetricReader:
        host, port = request.prometheus_host, request.prometheus_port or 0
        # A registry of llmmeter's own keeps its series off the app's default prometheus_client
        # registry (which the app may serve itself) and avoids duplicate registrations.
        registry = CollectorRegistry(auto_describe=True)
        try:
            served = start_http_server(port, addr=host, registry=registry)
        except OSError as exc:
            raise ConfigurationError(
                f"configure(prometheus_port={port}): cannot listen on {host}:{port}: {exc}"
            ) from exc
        if served is not None:
            port = served[0].server_port
        _state.prometheus = (host, port)
        logger.info("llmmeter: serving Prometheus metrics on http://%s:%d/metrics", _url_host(host), port)
        return PrometheusMetricReader(registry=registry)

    return make


LogFactory = Callable[[], "LogRecordProcessor"]


def _otlp_logs() -> LogFactory:
    try:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    except ImportError as exc:
        raise _missing("otlp=True", "opentelemetry-exporter-otlp-proto-http", exc) from exc
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    def make() -> LogRecordProcessor:
        logger.info(
            "llmmeter: exporting log events over OTLP (%s) to %s", _OTLP_PROTOCOL, _otlp_endpoint("LOGS")
        )
        return BatchLogRecordProcessor(OTLPLogExporter())

    return make


def _console_logs() -> LogFactory:
    from opentelemetry.sdk._logs import export

    # Named ConsoleLogExporter before opentelemetry-sdk 1.39.
    exporter = getattr(export, "ConsoleLogRecordExporter", None) or export.ConsoleLogExporter
    return lambda: export.SimpleLogRecordProcessor(exporter())


_LOG_EXPORTERS: dict[str, Callable[[], LogFactory]] = {"otlp": _otlp_logs, "console": _console_logs}
_SPAN_EXPORTERS: dict[str, Callable[[], SpanFactory]] = {"otlp": _otlp_spans, "console": _console_spans}
_METRIC_READERS: dict[str, Callable[[], ReaderFactory]] = {
    "prometheus": _prometheus_metrics,
    "otlp": _otlp_metrics,
    "console": _console_metrics,
}


def _check_prometheus_port(request: ExportRequest) -> None:
    running = _state.prometheus
    wanted = request.prometheus_port
    if running is None or wanted is None or wanted in (0, running[1]):
        return
    raise ConfigurationError(
        f"configure(prometheus_port={wanted}): llmmeter already serves Prometheus metrics "
        f"on port {running[1]}; one endpoint per process"
    )


# --- shared ------------------------------------------------------------------------------------------


def _resource(service_name: str | None) -> Resource:
    """One resource for every provider; the environment (OTEL_SERVICE_NAME, ...) wins over code."""
    if _state.resource is not None:
        return _state.resource
    from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource

    resource = Resource.create()
    extra: dict[str, str] = {}
    named = str(resource.attributes.get(SERVICE_NAME, ""))
    if service_name is not None and named.startswith("unknown_service"):
        extra[SERVICE_NAME] = service_name
    if SERVICE_INSTANCE_ID not in resource.attributes:
        # Tells apart the processes of one service, whose counters the backend sums.
        extra[SERVICE_INSTANCE_ID] = str(uuid.uuid4())
    _state.resource = resource.merge(Resource(extra)) if extra else resource
    return _state.resource


def _check_otlp_protocol() -> None:
    for variable in _PROTOCOL_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value and value != _OTLP_PROTOCOL:
            raise ConfigurationError(
                f"configure(otlp=True) exports OTLP over {_OTLP_PROTOCOL}, but {variable}={value!r}; "
                f"unset it or set it to {_OTLP_PROTOCOL} (for gRPC, set up the providers yourself)"
            )


def _otlp_endpoint(signal: str) -> str:
    specific = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
    if specific:
        return specific
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or _DEFAULT_OTLP_ENDPOINT
    return f"{base.rstrip('/')}/v1/{signal.lower()}"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _missing(option: str, package: str, exc: ImportError) -> ConfigurationError:
    return ConfigurationError(
        f"configure({option}) needs {package}, which is not installed ({exc}); {_EXTRA}"
    )
