"""A real Prometheus server scrapes an app using configure(prometheus_port=...); PromQL gives the costs.

The app runs the known calls of ``workload.py`` in a subprocess and keeps serving its metrics;
Prometheus (Debian's package, started here on loopback with a temporary config) scrapes it every
second. The sums PromQL returns must equal the costs computed by hand. Without a prometheus binary
the tests skip; with LLMMETER_REQUIRE_PROMETHEUS=1 (set by .ci/run) that is a failure.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import select
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.export.conftest import ROOT, SUBPROCESS_TIMEOUT_S, clean_env, python_command
from tests.export.prometheus_server import JOB, PrometheusServer, free_port, prometheus_binary, wait_for
from tests.export.workload import (
    EXPECTED_COST_BY_MODEL,
    EXPECTED_COST_BY_PROVIDER,
    EXPECTED_COST_BY_TENANT,
    EXPECTED_TOKENS,
    FAILED_CALLS,
    PRICED_CALLS,
)

pytestmark = pytest.mark.prometheus

COST = "llmmeter_cost_USD_total"
SCOPE = 'otel_scope_name="llmmeter"'
OTHER_CALLS = 5
"""Calls another GenAI instrumentation in the same process records under the same metric name."""
APP = f"""
    import json, os, sys
    from opentelemetry import metrics
    import llmmeter, llmmeter._export
    from tests.export.workload import run_known_calls

    port = int(os.environ["APP_METRICS_PORT"])
    llmmeter.configure(prometheus_port=port, metric_attributes=["tenant"], service_name="prom-test")
    with llmmeter.budget(usd="100", name="tenant:acme", per="day"):
        run_known_calls()
    # Another GenAI instrumentation (its own scope) writing the conventions' duration histogram.
    other = metrics.get_meter("opentelemetry.instrumentation.openai_v2").create_histogram(
        "gen_ai.client.operation.duration", unit="s"
    )
    for _ in range({OTHER_CALLS}):
        other.record(0.5, {{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                            "gen_ai.request.model": "gpt-4o", "error.type": "500"}})
    print(json.dumps(llmmeter._export.prometheus_address()), flush=True)
    sys.stdin.read()  # keep serving until the test closes stdin
"""
DASHBOARD = ROOT / "examples" / "grafana-dashboard.json"
LIVE_APP = """
    import contextlib, json, os, select, sys
    import openai
    import llmmeter, llmmeter._export
    from tests import fakes
    from tests.export.workload import openai_client, raw_chat_call

    port = int(os.environ["APP_METRICS_PORT"])
    llmmeter.configure(prometheus_port=port, service_name="prom-live")
    failing = fakes.Reply({"error": {"message": "boom", "type": "server_error"}}, status=500)
    print(json.dumps(llmmeter._export.prometheus_address()), flush=True)
    # Calls keep coming, so the counters grow between scrapes, until the test closes stdin:
    # gpt-4o calls all succeed, gpt-4o-mini calls all fail.
    while not select.select([sys.stdin], [], [], 0.3)[0]:
        raw_chat_call(model="gpt-4o")
        with contextlib.suppress(openai.InternalServerError):
            openai_client(failing).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
"""


@dataclass
class Stack:
    """The app and the Prometheus server scraping it."""

    prometheus: PrometheusServer
    app: subprocess.Popen[str]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant PromQL query."""
        return self.prometheus.query(promql)

    def by_label(self, promql: str, label: str) -> dict[str, float]:
        """An instant query's values keyed by one label."""
        return {sample["metric"].get(label, ""): float(sample["value"][1]) for sample in self.query(promql)}


def _first_line(process: subprocess.Popen[str], timeout_s: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout_s)
    line = process.stdout.readline() if ready else ""
    if not line:
        process.kill()
        _, err = process.communicate(timeout=5)
        pytest.fail(f"the app did not start its Prometheus endpoint:\n{err}")
    return line


@contextlib.contextmanager
def _running(script: str, workdir: Path, ready: str) -> Iterator[Stack]:
    """An app running ``script`` and Prometheus scraping it, once the PromQL ``ready`` returns true."""
    binary = prometheus_binary()
    app_port = free_port()
    # Prometheus first: it scrapes its targets only some seconds after starting, time the app uses to start.
    prometheus = PrometheusServer(binary, f"127.0.0.1:{app_port}", workdir)
    app = subprocess.Popen(
        python_command(script),
        cwd=ROOT,
        env=clean_env(APP_METRICS_PORT=str(app_port)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert json.loads(_first_line(app, SUBPROCESS_TIMEOUT_S)) == ["127.0.0.1", app_port]
        prometheus.wait_ready()

        def scraped() -> bool | None:
            up = prometheus.query(f'up{{job="{JOB}"}}')
            done = up and up[0]["value"][1] == "1" and prometheus.query(ready)
            return True if done else None

        wait_for(scraped, 20, "prometheus to scrape the app's series")
        yield Stack(prometheus, app)
    finally:
        prometheus.close()
        _stop(app)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The app, with its workload done, and Prometheus, once it has scraped the app's cost series."""
    with _running(APP, Path(tmp_path_factory.mktemp("prometheus")), f"count({COST}) == 4") as running:
        yield running


def _stop(app: subprocess.Popen[str]) -> None:
    if app.stdin is not None:
        app.stdin.close()
    try:
        app.wait(timeout=5)
    except subprocess.TimeoutExpired:
        app.kill()
        app.wait(timeout=5)
    for pipe in (app.stdout, app.stderr):
        if pipe is not None:
            pipe.close()


def assert_costs(found: dict[str, float], expected: dict[str, Decimal]) -> None:
    """Prometheus keeps float64: each sum must match the exact Decimal to 12 significant digits."""
    assert found.keys() == expected.keys()
    for key, amount in expected.items():
        assert math.isclose(found[key], float(amount), rel_tol=1e-12, abs_tol=0), (key, found[key], amount)


def test_cost_by_model_equals_the_hand_computed_costs(stack):
    """sum by (gen_ai_response_model) of the cost counter equals each model's cost."""
    found = stack.by_label(f"sum by (gen_ai_response_model) ({COST})", "gen_ai_response_model")
    assert_costs(found, EXPECTED_COST_BY_MODEL)


def test_cost_by_provider(stack):
    """sum by (gen_ai_provider_name) splits the spend between OpenAI and Anthropic."""
    found = stack.by_label(f"sum by (gen_ai_provider_name) ({COST})", "gen_ai_provider_name")
    assert_costs(found, EXPECTED_COST_BY_PROVIDER)


def test_cost_by_allow_listed_tenant(stack):
    """The tenant allow-listed with configure(metric_attributes=...) is a label to sum by."""
    found = stack.by_label(f"sum by (tenant) ({COST})", "tenant")
    assert_costs(found, EXPECTED_COST_BY_TENANT)


def test_total_cost(stack):
    """sum() over every series is the whole workload's cost."""
    (sample,) = stack.query(f"sum({COST})")
    assert math.isclose(float(sample["value"][1]), float(sum(EXPECTED_COST_BY_MODEL.values())), rel_tol=1e-12)


def test_budget_gauge_reports_the_spend_of_the_budget_around_the_calls(stack):
    """llmmeter.budget.spent, by budget name and period, is the cost of the calls made inside it."""
    found = stack.by_label(f"llmmeter_budget_spent_USD{{{SCOPE}}}", "llmmeter_budget_name")
    assert_costs(found, {"tenant:acme": sum(EXPECTED_COST_BY_MODEL.values(), Decimal(0))})
    reserved = stack.by_label(f"llmmeter_budget_reserved_USD{{{SCOPE}}}", "llmmeter_budget_period")
    assert reserved == {"day": 0.0}


def test_tokens_by_type(stack):
    """llmmeter_tokens_total sums by gen_ai_token_type to the workload's tokens."""
    found = stack.by_label("sum by (gen_ai_token_type) (llmmeter_tokens_total)", "gen_ai_token_type")
    assert found == {key: float(value) for key, value in EXPECTED_TOKENS.items()}


def test_error_ratio_from_the_duration_histogram(stack):
    """Failed calls carry error_type on the duration histogram, so the error ratio is one PromQL division."""
    count = "gen_ai_client_operation_duration_seconds_count"
    (sample,) = stack.query(f'sum({count}{{{SCOPE}, error_type!=""}}) / sum({count}{{{SCOPE}}})')
    assert float(sample["value"][1]) == pytest.approx(FAILED_CALLS / (FAILED_CALLS + PRICED_CALLS))


def test_latency_percentile_from_the_duration_histogram(stack):
    """histogram_quantile over the duration buckets gives a latency within the conventions' buckets."""
    promql = (
        f"histogram_quantile(0.95, sum by (le) (gen_ai_client_operation_duration_seconds_bucket{{{SCOPE}}}))"
    )
    (sample,) = stack.query(promql)
    assert 0 < float(sample["value"][1]) <= 81.92


def test_the_series_carry_the_service_name(stack):
    """target_info carries the service.name given to configure(), for joins on job/instance."""
    (sample,) = stack.query("target_info")
    assert sample["metric"]["service_name"] == "prom-test"
    assert sample["metric"]["service_instance_id"]


def _dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", ())
        if "expr" in target
    ]


def _concrete(expr: str, **variables: str) -> str:
    """A dashboard expression with Grafana's variables filled in as Grafana would: ``variables``
    (e.g. ``model="gpt-4o"``) as given, the others as "All"."""
    for variable, value in (("$__rate_interval", "1m"), ("$__range", "5m"), ("$__interval", "1m")):
        expr = expr.replace(variable, value)
    for name, value in variables.items():
        expr = expr.replace(f"${name}", value)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def _panel_query(title: str) -> str:
    (expr,) = [expr for panel_title, expr in _dashboard_queries() if panel_title == title]
    return expr


def _metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers and by-clauses removed)."""
    bare = re.sub(r"\{[^}]*\}", "", expr)
    bare = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", bare)
    return set(re.findall(r"\b(?:llmmeter|gen_ai)_\w+", bare))


def test_every_dashboard_query_runs_and_returns_data(stack):
    """Each PromQL expression of examples/grafana-dashboard.json is valid and finds series in Prometheus."""
    # rate() and increase() need two samples of each series
    wait_for(
        lambda: stack.query(f"min(count_over_time({COST}[1m])) >= 2") or None,
        10,
        "a second scrape of the app",
    )
    known = set(stack.prometheus.api("label/__name__/values"))
    queries = _dashboard_queries()
    assert queries
    for title, expr in queries:
        for name in _metric_names(expr):
            assert name in known, f"panel {title!r} uses {name}, which Prometheus never scraped"
        assert stack.query(_concrete(expr)), f"panel {title!r}: no data for {expr}"


def test_missing_binary_skips_with_a_reason(monkeypatch):
    """Without a prometheus binary the Prometheus tests skip, saying how to get one."""
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setattr("os.access", lambda path, mode: False)
    monkeypatch.delenv("LLMMETER_REQUIRE_PROMETHEUS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install prometheus"):
        prometheus_binary()


def test_missing_binary_fails_when_ci_requires_prometheus(monkeypatch):
    """With LLMMETER_REQUIRE_PROMETHEUS=1 (as .ci/run sets) a missing binary is a failure, not a skip."""
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setattr("os.access", lambda path, mode: False)
    monkeypatch.setenv("LLMMETER_REQUIRE_PROMETHEUS", "1")
    with pytest.raises(pytest.fail.Exception, match="LLMMETER_REQUIRE_PROMETHEUS=1"):
        prometheus_binary()


def test_every_dashboard_query_selects_llmmeters_scope():
    """Each selector of the dashboard names otel_scope_name="llmmeter", the label the Prometheus
    exporters give llmmeter's instrumentation scope."""
    for title, expr in _dashboard_queries():
        selectors = re.findall(r"\b(?:llmmeter|gen_ai)_\w+\{[^}]*\}", expr)
        assert selectors, title
        for selector in selectors:
            assert SCOPE in selector, f"panel {title!r}: {selector}"


def test_another_instrumentation_does_not_double_the_panels(stack):
    """Another instrumentation's gen_ai_client_operation_duration series (same name, its own scope)
    are left out: the calls panel counts llmmeter's calls only (read here with max_over_time in place
    of the panel's increase, which extrapolates, to compare exact counts)."""
    count = "gen_ai_client_operation_duration_seconds_count"
    (everything,) = stack.query(f"sum({count})")
    assert float(everything["value"][1]) == PRICED_CALLS + FAILED_CALLS + OTHER_CALLS
    (calls,) = stack.query(
        _concrete(_panel_query("LLM calls (time range)")).replace("increase(", "max_over_time(")
    )
    assert float(calls["value"][1]) == PRICED_CALLS + FAILED_CALLS


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An app making calls all along, once Prometheus has seen its call counts grow."""
    count = f"gen_ai_client_operation_duration_seconds_count{{{SCOPE}}}"
    ready = f"min(changes({count}[1m])) >= 2"
    with _running(LIVE_APP, Path(tmp_path_factory.mktemp("prometheus-live")), ready) as running:
        yield running


def test_error_ratio_is_zero_without_errors(live_stack):
    """For calls of which none failed (gpt-4o), both error ratio panels show 0, not "No data";
    for calls that all failed (gpt-4o-mini), 1."""
    for model, expected in (("gpt-4o", 0.0), ("gpt-4o-mini", 1.0)):
        (total,) = live_stack.query(_concrete(_panel_query("Error ratio (time range)"), model=model))
        assert float(total["value"][1]) == expected, model
        (per_model,) = live_stack.query(_concrete(_panel_query("Error ratio per model"), model=model))
        assert per_model["metric"] == {"gen_ai_request_model": model}
        assert float(per_model["value"][1]) == expected, model
