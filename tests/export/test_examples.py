"""The runnable examples run offline, and the Collector config and dashboard are consistent."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx2
import pytest
import yaml
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import llmmeter
from llmmeter.testing import fake_provider
from tests import fakes
from tests.export.conftest import ROOT, SUBPROCESS_TIMEOUT_S, clean_env

EXAMPLES = ROOT / "examples"
SCRIPTS = ["openai_sdk.py", "anthropic_sdk.py", "raw_httpx.py", "langchain_app.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_offline(script):
    """Each example runs against the local fake provider, with no key, and prints what it cost."""
    result = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / script)],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    match = re.search(r"(\d+) (?:model )?calls.*: \$(\d+\.\d+)", result.stdout)
    assert match, result.stdout
    assert int(match.group(1)) > 0
    assert float(match.group(2)) > 0


def test_collector_pipelines_use_defined_components():
    """otel-collector.yaml: OTLP in; traces to an OTLP (Tempo) exporter, metrics to Prometheus."""
    config = yaml.safe_load((EXAMPLES / "otel-collector.yaml").read_text())
    pipelines = config["service"]["pipelines"]
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            for name in pipeline.get(kind, []):
                assert name in config[kind], f"{name} is used but not defined under {kind}"
    assert pipelines["traces"]["receivers"] == ["otlp"]
    assert pipelines["metrics"]["receivers"] == ["otlp"]
    assert {"http", "grpc"} <= config["receivers"]["otlp"]["protocols"].keys()
    assert any(name.startswith("otlp/") for name in pipelines["traces"]["exporters"])
    assert any(name.startswith("prometheus") for name in pipelines["metrics"]["exporters"])
    assert "prometheusremotewrite" in config["exporters"]


def exported_metric_names() -> set[str]:
    """The Prometheus names of llmmeter's metrics, from one metered call and a private registry."""
    registry = CollectorRegistry(auto_describe=True)
    provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    reply = fakes.Reply(chunks=fakes.chat_stream())
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, reply)), meter_provider=provider
    )
    with httpx2.Client(transport=transport) as client:
        body = {"model": "gpt-4o", "messages": [], "stream": True}
        client.post("https://api.openai.com/v1/chat/completions", json=body).read()
    text = generate_latest(registry).decode()
    provider.shutdown()
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def test_prometheus_metric_names_are_the_documented_ones():
    """The exporter names the cost counter llmmeter_cost_USD_total, as the dashboard and README say."""
    names = exported_metric_names()
    assert {
        "llmmeter_cost_USD_total",
        "llmmeter_tokens_total",
        "llmmeter_calls_total",
        "gen_ai_client_token_usage_bucket",
        "gen_ai_client_operation_duration_seconds_bucket",
        "gen_ai_client_operation_duration_seconds_count",
        "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",
    } <= names


def dashboard_exprs() -> dict[str, list[str]]:
    """Panel title -> PromQL expressions, from examples/grafana-dashboard.json."""
    dashboard = json.loads((EXAMPLES / "grafana-dashboard.json").read_text())
    return {
        panel["title"]: [target["expr"] for target in panel.get("targets", [])]
        for panel in dashboard["panels"]
        if panel["type"] != "row"
    }


@pytest.mark.parametrize(
    ("what", "pattern"),
    [
        ("cost per model", r"sum by \(gen_ai_response_model\) \(rate\(llmmeter_cost_USD_total"),
        ("cost per provider", r"sum by \(gen_ai_provider_name\) \(increase\(llmmeter_cost_USD_total"),
        ("cost per tenant", r"sum by \(tenant\) \(increase\(llmmeter_cost_USD_total"),
        ("tokens by type", r"sum by \(gen_ai_token_type\) \(rate\(llmmeter_tokens_total"),
        (
            "latency percentiles",
            r"histogram_quantile\(0\.99, .*gen_ai_client_operation_duration_seconds_bucket",
        ),
        ("error rate", r'gen_ai_client_operation_duration_seconds_count\{[^}]*error_type!=""'),
        ("calls by cost status", r"sum by \(llmmeter_cost_status\) \(rate\(llmmeter_calls_total"),
        ("unpriced calls", r'llmmeter_calls_total\{[^}]*llmmeter_cost_status=~"unknown_model\|no_usage'),
    ],
)
def test_dashboard_has_panel_for(what, pattern):
    """The Grafana dashboard covers cost per model/provider/tenant, tokens by type, latency and errors."""
    exprs = [expr for panel in dashboard_exprs().values() for expr in panel]
    assert any(re.search(pattern, expr) for expr in exprs), what


def test_dashboard_panels_have_ids_positions_and_queries():
    """Every panel has a unique id and a grid position, and every non-row panel queries Prometheus."""
    dashboard = json.loads((EXAMPLES / "grafana-dashboard.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all({"x", "y", "w", "h"} <= panel["gridPos"].keys() for panel in dashboard["panels"])
    assert all(exprs for exprs in dashboard_exprs().values())
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert variables == {"datasource", "job", "model"}


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_takes_a_base_url(script):
    """--base-url sends the example's calls to that server (here a fake provider the test runs)."""
    with fake_provider() as provider:
        base_url = provider.anthropic_base_url if script == "anthropic_sdk.py" else provider.openai_base_url
        result = subprocess.run(
            [sys.executable, "-W", "error", str(EXAMPLES / script), "--base-url", base_url],
            cwd=ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
        )
        received = len(provider.requests)
    assert result.returncode == 0, result.stderr
    match = re.search(r"(\d+) (?:model )?calls.*: \$(\d+\.\d+)", result.stdout)
    assert match, result.stdout
    assert received >= int(match.group(1)) > 0
