"""Fork: nothing inherited from the parent is recorded again in the child, and sums start from zero."""

from __future__ import annotations

import json
import os
from decimal import Decimal

import httpx2
import pytest

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import metric_total

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

M = Decimal(1_000_000)
# gpt-4o-2024-08-06: $2.50 input, $10.00 output per 1M tokens (openai.com/api/pricing).
COST = (100 * Decimal("2.50") + 20 * Decimal("10.00")) / M


def _in_child(work) -> dict:
    """Run ``work()`` in a forked child; return the JSON-able dict it returns."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            result = work()
        except BaseException as exc:
            result = {"error": repr(exc)}
        os.write(write, json.dumps(result).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def _client(tracer_provider, meter_provider, reply: fakes.Reply) -> httpx2.Client:
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, reply)),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    return httpx2.Client(transport=transport)


def test_stream_open_at_fork_is_not_recorded_in_the_child(tracer_provider, meter_provider, span_exporter):
    """The child's copy of a stream the parent had open yields no record when the child drops it."""
    client = _client(tracer_provider, meter_provider, fakes.Reply(chunks=fakes.chat_stream()))
    body = {"model": "gpt-4o", "messages": [], "stream": True}
    with client.stream("POST", "https://api.openai.com/v1/chat/completions", json=body) as response:
        chunks = response.iter_bytes()
        next(chunks)

        def child() -> dict:
            with record_calls() as calls:
                response.close()
            return {"records": len(calls), "spans": len(span_exporter.get_finished_spans())}

        assert _in_child(child) == {"records": 0, "spans": 0}
        with record_calls() as calls:
            for _ in chunks:
                pass
    assert [record.ending for record in calls] == ["complete"]
    assert len(span_exporter.get_finished_spans()) == 1


def test_cost_counter_starts_from_zero_in_a_forked_child(tracer_provider, meter_provider, metric_reader):
    """A worker forked after calls were made reports only its own cost, so a fleet's sum is not inflated."""
    client = _client(tracer_provider, meter_provider, fakes.Reply(fakes.chat_completion()))
    url = "https://api.openai.com/v1/chat/completions"
    client.post(url, json={"model": "gpt-4o", "messages": []}).read()
    assert metric_total(metric_reader, "llmmeter.cost") == pytest.approx(float(COST))

    def child() -> dict:
        before = metric_total(metric_reader, "llmmeter.cost")
        client.post(url, json={"model": "gpt-4o", "messages": []}).read()
        return {"before": before, "after": metric_total(metric_reader, "llmmeter.cost")}

    result = _in_child(child)
    assert result == {"before": 0.0, "after": pytest.approx(float(COST))}
    assert metric_total(metric_reader, "llmmeter.cost") == pytest.approx(float(COST))


def test_configure_in_a_worker_of_a_configured_master_says_how_to_fix_it():
    """A pre-fork master that ran configure(): a worker's own configure() is refused with the recipe,
    instead of silently reusing the master's exporters and cumulative sums."""
    from tests.export.conftest import clean_env, run_python

    script = """
        import os, json
        import llmmeter

        llmmeter.configure(console=True)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                llmmeter.configure(console=True)
                message = "accepted"
            except llmmeter.ConfigurationError as error:
                message = str(error)
            os.write(write, message.encode())
            os._exit(0)
        os.close(write)
        print(json.dumps(os.read(read, 4096).decode()))
        os.waitpid(pid, 0)
    """
    result = run_python(script, env=clean_env())
    message = json.loads(result.stdout.strip().splitlines()[-1])
    assert "before this worker was forked" in message
    assert "post_fork" in message
