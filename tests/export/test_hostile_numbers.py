"""Hostile usage numbers never poison the metrics export: the app's own metrics keep arriving."""

from __future__ import annotations

import pytest

from tests.export.conftest import clean_env, run_python
from tests.export.otlp_receiver import OTLPReceiver, attributes

SCRIPT = """
    import llmmeter
    from opentelemetry import metrics
    from llmmeter.testing import record_calls
    from tests.export.workload import raw_chat_call

    llmmeter.configure(otlp=True)
    app_counter = metrics.get_meter("the-app").create_counter("app.requests")
    with record_calls() as calls:
        raw_chat_call("gpt-4o-2024-08-06", prompt_tokens={tokens}, completion_tokens=5)
        raw_chat_call("gpt-4o-2024-08-06", prompt_tokens=100, completion_tokens=20)
    app_counter.add(3)
    assert [record.cost.status for record in calls] == ["invalid_usage", "ok"], calls
    assert calls[0].usage.invalid == "prompt_tokens"
"""


@pytest.mark.parametrize("tokens", ["2**70", "10**400", "-1"])
def test_impossible_token_counts_leave_the_export_intact(tokens):
    """A response reporting an impossible count is recorded as invalid usage, writes no token or cost
    point, and the export still carries the app's own metric and the other call's tokens."""
    with OTLPReceiver() as receiver:
        run_python(
            SCRIPT.replace("{tokens}", tokens),
            env=clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_METRIC_EXPORT_INTERVAL="60000"),
        )

    assert [point.as_int for _, _, point in receiver.metric_points("app.requests")] == [3]
    token_values = sorted(point.as_int for _, _, point in receiver.metric_points("llmmeter.tokens"))
    assert token_values == [20, 100]
    spans = [attributes(span.attributes) for _, scope, span in receiver.spans() if scope == "llmmeter"]
    invalid = [span for span in spans if span.get("llmmeter.cost.status") == "invalid_usage"]
    assert len(invalid) == 1
    assert invalid[0]["llmmeter.usage.invalid"] == "prompt_tokens"
    assert "gen_ai.usage.input_tokens" not in invalid[0]
