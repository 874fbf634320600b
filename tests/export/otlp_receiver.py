"""A minimal OTLP/HTTP receiver on 127.0.0.1 that decodes what it gets with opentelemetry-proto."""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span


class OTLPReceiver:
    """Accepts POST /v1/traces, /v1/metrics and /v1/logs (protobuf); keeps the decoded requests."""

    def __init__(self) -> None:
        self.traces: list[ExportTraceServiceRequest] = []
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.logs: list[ExportLogsServiceRequest] = []
        self.rejected: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The base URL for OTEL_EXPORTER_OTLP_ENDPOINT."""
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> OTLPReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                encoding = (self.headers.get("content-encoding") or "").lower()
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                if self.headers.get("content-type") != "application/x-protobuf":
                    receiver.rejected.append(f"{self.path}: content-type {self.headers.get('content-type')}")
                    self._reply(415, b"")
                    return
                if self.path == "/v1/traces":
                    receiver.traces.append(ExportTraceServiceRequest.FromString(body))
                    self._reply(200, ExportTraceServiceResponse().SerializeToString())
                elif self.path == "/v1/metrics":
                    receiver.metrics.append(ExportMetricsServiceRequest.FromString(body))
                    self._reply(200, ExportMetricsServiceResponse().SerializeToString())
                elif self.path == "/v1/logs":
                    receiver.logs.append(ExportLogsServiceRequest.FromString(body))
                    self._reply(200, ExportLogsServiceResponse().SerializeToString())
                else:
                    receiver.rejected.append(self.path)
                    self._reply(404, b"")

            def _reply(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    # --- reading what arrived -------------------------------------------------------------------

    def spans(self) -> Iterator[tuple[dict[str, Any], str, Span]]:
        """(resource attributes, scope name, span) for every span received."""
        for request in self.traces:
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        yield resource, scope_spans.scope.name, span

    def log_records(self) -> Iterator[tuple[str, LogRecord]]:
        """(scope name, log record) for every log record received."""
        for request in self.logs:
            for resource_logs in request.resource_logs:
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        yield scope_logs.scope.name, record

    def metric_points(self, name: str) -> Iterator[tuple[dict[str, Any], str, Any]]:
        """(point attributes, unit, point) for each point of metric ``name`` in the latest export.

        Points are cumulative, so the latest export holding the metric has the totals.
        """
        for metric, unit in self._metrics(name):
            kind = metric.WhichOneof("data")
            for point in getattr(metric, kind).data_points:
                yield attributes(point.attributes), unit, point

    def resources(self) -> list[dict[str, Any]]:
        """The resource attributes of every batch of metrics received."""
        return [
            attributes(rm.resource.attributes) for request in self.metrics for rm in request.resource_metrics
        ]

    def _metrics(self, name: str) -> Iterator[tuple[Metric, str]]:
        for request in reversed(self.metrics):
            found = [
                metric
                for resource_metrics in request.resource_metrics
                for scope_metrics in resource_metrics.scope_metrics
                for metric in scope_metrics.metrics
                if metric.name == name
            ]
            if found:
                yield from ((metric, metric.unit) for metric in found)
                return


def attributes(pairs: Any) -> dict[str, Any]:
    """OTLP key-values as a plain dict."""
    return {pair.key: value_of(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


def value_of(value: AnyValue) -> Any:
    """An OTLP AnyValue as a Python value."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(value_of(item) for item in value.array_value.values)
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind is None:
        return None
    return getattr(value, kind)
