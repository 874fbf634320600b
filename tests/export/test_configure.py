"""configure()'s export options: what gets installed, what is left alone, and the errors.

Everything that sets OpenTelemetry's global providers runs in a subprocess (they can be set once
per process); each script prints one JSON line of findings for the test to check.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import llmmeter
import llmmeter._export
from llmmeter import ConfigurationError
from llmmeter._export import ExportRequest
from tests.export.conftest import clean_env, run_python
from tests.export.otlp_receiver import OTLPReceiver, attributes

# gpt-4o-2024-08-06 with the fakes' default usage: 100 prompt and 20 completion tokens.
ONE_CALL_COST = (100 * 2.50 + 20 * 10.00) / 1_000_000

APP_WITH_PROVIDERS = """
    import json, logging
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import llmmeter, llmmeter._export
    from tests.export.workload import raw_chat_call

    class Collect(logging.Handler):
        records = []
        def emit(self, record):
            self.records.append(record.getMessage())

    logging.getLogger("llmmeter").addHandler(Collect())
    logging.getLogger("llmmeter").setLevel(logging.INFO)

    # The app's own OpenTelemetry setup, done before llmmeter is configured.
    spans = InMemorySpanExporter()
    app_tracer_provider = TracerProvider()
    app_tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    app_reader = InMemoryMetricReader()
    app_meter_provider = MeterProvider(metric_readers=[app_reader])
    trace.set_tracer_provider(app_tracer_provider)
    metrics.set_meter_provider(app_meter_provider)

    def app_cost():
        total = 0.0
        for rm in app_reader.get_metrics_data().resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == "llmmeter.cost":
                        total += sum(point.value for point in metric.data.data_points)
        return total

    def findings(**more):
        return dict(
            same_tracer_provider=trace.get_tracer_provider() is app_tracer_provider,
            same_meter_provider=metrics.get_meter_provider() is app_meter_provider,
            prometheus=llmmeter._export.prometheus_address(),
            span_costs=[s.attributes.get("gen_ai.usage.cost.amount") for s in spans.get_finished_spans()],
            app_cost=app_cost(),
            logs=Collect.records,
            **more,
        )
"""


def run_findings(*parts: str, **env: str) -> dict[str, Any]:
    """Run the script made of ``parts`` and return the JSON it printed last."""
    result = run_python(*parts, env=clean_env(**env))
    return json.loads(result.stdout.strip().splitlines()[-1])


# Defines scrape() in a subprocess: the text llmmeter's Prometheus endpoint serves.
SCRAPE = """
    import urllib.request
    def scrape():
        host, port = llmmeter._export.prometheus_address()
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
            return response.read().decode()
"""


def cost_samples(text: str) -> dict[str, float]:
    """llmmeter's cost counter per response model, from Prometheus text."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "llmmeter_cost_USD_total":
                found[sample.labels["gen_ai_response_model"]] = sample.value
    return found


# --- in this process: no provider is touched -------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"prometheus_port": "9464"},
        {"prometheus_port": True},
        {"prometheus_port": 70_000},
        {"prometheus_port": -1},
        {"otlp": "yes"},
        {"console": 1},
        {"export_to_existing": None},
        {"service_name": ""},
        {"prometheus_host": ""},
    ],
)
def test_bad_export_options_are_configuration_errors(options):
    """A wrongly typed or out-of-range export option is a ConfigurationError naming the option."""
    with pytest.raises(ConfigurationError, match=next(iter(options))):
        ExportRequest(**options)


def test_configure_hands_the_export_options_to_the_exporter(monkeypatch):
    """configure(otlp=..., prometheus_port=..., ...) passes every export option on, validated."""
    seen: list[ExportRequest] = []
    monkeypatch.setattr(llmmeter._export, "configure_export", seen.append)
    llmmeter.configure(otlp=True, prometheus_port=9464, prometheus_host="0.0.0.0", service_name="billing")
    assert seen == [
        ExportRequest(otlp=True, prometheus_port=9464, prometheus_host="0.0.0.0", service_name="billing")
    ]


def test_configure_without_export_options_starts_no_exporter(monkeypatch):
    """Options unrelated to export never reach the exporter code."""
    monkeypatch.setattr(llmmeter._export, "configure_export", lambda request: pytest.fail("exporter started"))
    llmmeter.configure(capture_content=False, metric_attributes=["tenant"])


# --- in subprocesses --------------------------------------------------------------------------------


def test_importing_llmmeter_loads_no_exporter():
    """import llmmeter and a configure() without exporters load no exporter package."""
    result = run_python("""
        import sys, llmmeter
        llmmeter.configure(capture_content=False)
        loaded = [m for m in sys.modules if m.startswith(("opentelemetry.exporter", "prometheus_client"))]
        print(loaded, "llmmeter._export" in sys.modules)
    """)
    assert result.stdout.strip() == "[] False"


def test_prometheus_endpoint_serves_the_cost_counter():
    """configure(prometheus_port=0) serves llmmeter_cost_USD_total on a free loopback port."""
    found = run_findings(
        """
        import json, llmmeter, llmmeter._export
        from tests.export.workload import raw_chat_call
        """,
        SCRAPE,
        """
        llmmeter.configure(prometheus_port=0)
        raw_chat_call("gpt-4o-2024-08-06")
        print(json.dumps({"address": llmmeter._export.prometheus_address(), "text": scrape()}))
        """,
    )
    host, port = found["address"]
    assert host == "127.0.0.1"
    assert port > 0
    assert cost_samples(found["text"]) == {"gpt-4o-2024-08-06": pytest.approx(ONE_CALL_COST, rel=1e-12)}


def test_existing_providers_are_not_replaced():
    """With the app's SDK providers set, llmmeter keeps them, exports nothing itself there, logs one
    INFO line about them (the app set no logger provider: llmmeter's takes the events)."""
    found = run_findings(
        APP_WITH_PROVIDERS,
        """
        llmmeter.configure(otlp=True, console=True, prometheus_port=0)
        raw_chat_call("gpt-4o-2024-08-06")
        print(json.dumps(findings()))
        """,
    )
    assert found["same_tracer_provider"]
    assert found["same_meter_provider"]
    assert found["prometheus"] is None
    # llmmeter still reports to the app's own pipeline
    assert found["span_costs"] == [pytest.approx(ONE_CALL_COST)]
    assert found["app_cost"] == pytest.approx(ONE_CALL_COST)
    (line,) = [line for line in found["logs"] if "already set" in line]
    assert "tracer provider (TracerProvider)" in line
    assert "meter provider (MeterProvider)" in line
    assert "export_to_existing=True" in line


def test_export_to_existing_adds_exporters_to_the_apps_providers():
    """export_to_existing=True adds llmmeter's Prometheus reader to the app's MeterProvider, keeping it."""
    found = run_findings(
        APP_WITH_PROVIDERS,
        SCRAPE,
        """
        llmmeter.configure(prometheus_port=0, export_to_existing=True)
        raw_chat_call("gpt-4o-2024-08-06")
        print(json.dumps(findings(text=scrape())))
        """,
    )
    assert found["same_tracer_provider"]
    assert found["same_meter_provider"]
    assert found["app_cost"] == pytest.approx(ONE_CALL_COST)
    assert cost_samples(found["text"]) == {"gpt-4o-2024-08-06": pytest.approx(ONE_CALL_COST, rel=1e-12)}
    assert not any("already set" in line for line in found["logs"])


def test_only_the_missing_provider_is_installed():
    """An app with only a tracer provider keeps it and gets llmmeter's meter provider."""
    found = run_findings("""
        import json, logging
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.trace import TracerProvider
        import llmmeter, llmmeter._export

        logging.basicConfig(level=logging.INFO, format="%(message)s")
        app_tracer_provider = TracerProvider()
        trace.set_tracer_provider(app_tracer_provider)
        llmmeter.configure(prometheus_port=0, console=True)
        print(json.dumps({
            "same_tracer_provider": trace.get_tracer_provider() is app_tracer_provider,
            "meter_provider": type(metrics.get_meter_provider()).__module__,
            "prometheus": llmmeter._export.prometheus_address() is not None,
        }))
    """)
    assert found == {
        "same_tracer_provider": True,
        "meter_provider": "opentelemetry.sdk.metrics._internal",
        "prometheus": True,
    }


def test_each_exporter_starts_once():
    """Asking twice for the console exporter prints each span once, not twice."""
    result = run_python("""
        import llmmeter
        from tests.export.workload import raw_chat_call

        llmmeter.configure(console=True)
        llmmeter.configure(console=True, service_name="again")
        raw_chat_call("gpt-4o-2024-08-06")
    """)
    assert result.stdout.count('"name": "chat gpt-4o-2024-08-06"') == 1


def test_a_second_prometheus_port_is_refused():
    """One Prometheus endpoint per process: another port afterwards is a ConfigurationError."""
    found = run_findings("""
        import json, llmmeter
        llmmeter.configure(prometheus_port=0)
        try:
            llmmeter.configure(prometheus_port=1)
        except llmmeter.ConfigurationError as exc:
            print(json.dumps({"error": str(exc)}))
    """)
    assert "one endpoint per process" in found["error"]


def test_busy_prometheus_port_is_a_configuration_error_and_installs_nothing():
    """A port already in use fails with a ConfigurationError naming it; no provider is installed."""
    found = run_findings("""
        import json, socket
        from opentelemetry import metrics, trace
        import llmmeter

        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        try:
            llmmeter.configure(prometheus_port=port, console=True)
        except llmmeter.ConfigurationError as exc:
            print(json.dumps({
                "error": str(exc), "port": port,
                "tracer": type(trace.get_tracer_provider()).__name__,
                "meter": type(metrics.get_meter_provider()).__name__,
            }))
    """)
    assert f"prometheus_port={found['port']}" in found["error"]
    assert found["tracer"] == "ProxyTracerProvider"
    assert found["meter"] == "_ProxyMeterProvider"


@pytest.mark.parametrize(
    ("option", "blocked"),
    [
        ("otlp=True", "opentelemetry.exporter.otlp"),
        ("prometheus_port=0", "opentelemetry.exporter.prometheus"),
    ],
)
def test_missing_exporter_package_names_the_extra(option, blocked):
    """Without the exporter package, configure() says which one and how to install it; nothing changes."""
    found = run_findings(f"""
        import json, sys
        from opentelemetry import metrics, trace

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == {blocked!r} or name.startswith({blocked!r} + "."):
                    raise ModuleNotFoundError(f"No module named {{name!r}}")

        sys.meta_path.insert(0, Block())
        import llmmeter
        try:
            llmmeter.configure({option})
        except llmmeter.ConfigurationError as exc:
            print(json.dumps({{
                "error": str(exc),
                "tracer": type(trace.get_tracer_provider()).__name__,
                "meter": type(metrics.get_meter_provider()).__name__,
            }}))
    """)
    assert "pip install 'llmmeter[export]'" in found["error"]
    assert found["tracer"] == "ProxyTracerProvider"
    assert found["meter"] == "_ProxyMeterProvider"


def test_grpc_protocol_is_refused_before_anything_changes():
    """OTEL_EXPORTER_OTLP_PROTOCOL=grpc is a ConfigurationError: llmmeter exports http/protobuf only."""
    found = run_findings(
        """
        import json
        from opentelemetry import trace
        import llmmeter
        try:
            llmmeter.configure(otlp=True)
        except llmmeter.ConfigurationError as exc:
            print(json.dumps({"error": str(exc), "tracer": type(trace.get_tracer_provider()).__name__}))
        """,
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
    )
    assert "OTEL_EXPORTER_OTLP_PROTOCOL='grpc'" in found["error"]
    assert found["tracer"] == "ProxyTracerProvider"


def test_otlp_exports_the_inference_events():
    """configure(otlp=True) installs a logger provider too: the events reach /v1/logs, in the
    span's trace, with their cost and their structured content."""
    script = """
        import llmmeter
        from tests.export.workload import raw_chat_call

        llmmeter.configure(otlp=True, capture_content="EVENT_ONLY")
        raw_chat_call("gpt-4o-2024-08-06")
    """
    with OTLPReceiver() as receiver:
        run_python(script, env=clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint))
    [(scope, record)] = list(receiver.log_records())
    [(_, _, span)] = [found for found in receiver.spans() if found[1] == "llmmeter"]
    assert scope == "llmmeter"
    assert record.event_name == "gen_ai.client.inference.operation.details"
    assert record.trace_id == span.trace_id
    assert record.span_id == span.span_id
    found = attributes(record.attributes)
    assert found["gen_ai.usage.cost.amount"] == pytest.approx(ONE_CALL_COST)
    [message] = found["gen_ai.input.messages"]
    assert message["role"] == "user"
