"""llmmeter beside OpenTelemetry's botocore instrumentation and OpenLLMetry's Bedrock instrumentation.

``BotocoreInstrumentor`` wraps ``BaseClient._make_api_call`` (with wrapt), around the
``_make_request`` llmmeter patches; OpenLLMetry's ``BedrockInstrumentor`` wraps the client factory
and the clients it makes.
Whatever the order of instrument and uninstrument, each keeps working, llmmeter counts each call once,
and botocore's client class ends as it began.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from typing import Any

import pytest
from botocore.client import BaseClient
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

import llmmeter
from llmmeter.testing import record_calls
from tests.bedrock.server import Reply, converse_body
from tests.export.conftest import ROOT, clean_env
from tests.otel import llm_spans

ORDERS = list(itertools.product(("llmmeter first", "other first"), ("LIFO", "FIFO")))
MODEL = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"


def converse(client: Any) -> int:
    """One Converse call; how many calls llmmeter recorded for it."""
    with record_calls() as calls:
        response = client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "Hi"}]}])
    assert response["usage"]["inputTokens"] == 100
    return len(calls)


def botocore_spans(exporter: Any) -> int:
    return sum(1 for span in exporter.get_finished_spans() if "botocore" in span.instrumentation_scope.name)


@pytest.mark.parametrize(("first", "undo"), ORDERS, ids=[f"{a}, {b}" for a, b in ORDERS])
def test_botocore_instrumentation_and_llmmeter_in_any_order(
    first, undo, server, client, tracer_provider, meter_provider, span_exporter
):
    """Both work while both are on, each alone works after the other left, and the class ends pristine."""
    server.reply = Reply(body=converse_body())
    pristine = {name: BaseClient.__dict__[name] for name in ("_make_api_call", "_make_request")}
    other = BotocoreInstrumentor()

    def on(which: str) -> None:
        if which == "llmmeter":
            llmmeter.instrument(
                tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False
            )
        else:
            other.instrument(tracer_provider=tracer_provider)

    def off(which: str) -> None:
        llmmeter.uninstrument() if which == "llmmeter" else other.uninstrument()

    ups = ["llmmeter", "other"] if first == "llmmeter first" else ["other", "llmmeter"]
    downs = list(reversed(ups)) if undo == "LIFO" else list(ups)
    try:
        for which in ups:
            on(which)
        assert converse(client) == 1
        assert botocore_spans(span_exporter) == 1
        assert len(llm_spans(span_exporter.get_finished_spans())) == 1

        off(downs[0])
        span_exporter.clear()
        assert converse(client) == (0 if downs[0] == "llmmeter" else 1)
        assert botocore_spans(span_exporter) == (1 if downs[0] == "llmmeter" else 0)

        off(downs[1])
        span_exporter.clear()
        assert converse(client) == 0
        assert span_exporter.get_finished_spans() == ()
    finally:
        llmmeter.uninstrument()
        other.uninstrument()
    assert {name: BaseClient.__dict__[name] for name in pristine} == pristine


OPENLLMETRY = """
import json
import boto3
from botocore.client import BaseClient
import llmmeter
from opentelemetry.instrumentation.bedrock import BedrockInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from llmmeter.testing import record_calls

ups, downs = {ups!r}, {downs!r}
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
other = BedrockInstrumentor()
pristine = BaseClient.__dict__["_make_request"]

def on(which):
    if which == "llmmeter":
        llmmeter.instrument(tracer_provider=provider, integrations=False)
    else:
        other.instrument(tracer_provider=provider)

def off(which):
    llmmeter.uninstrument() if which == "llmmeter" else other.uninstrument()

def converse():
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url={url!r},
                          aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret-example-key")
    with record_calls() as calls:
        reply = client.converse(modelId={model!r}, messages=[])
    assert reply["usage"]["inputTokens"] == 100
    return len(calls)

counts = []
for which in ups:
    on(which)
counts.append(converse())
spans = exporter.get_finished_spans()
openllmetry_spans = sum(1 for s in spans if s.instrumentation_scope.name != "llmmeter")
off(downs[0])
counts.append(converse())
off(downs[1])
counts.append(converse())
print(json.dumps({{"counts": counts, "openllmetry_spans": openllmetry_spans,
                  "pristine": BaseClient.__dict__["_make_request"] is pristine}}))
"""


@pytest.mark.parametrize(("first", "undo"), ORDERS, ids=[f"{a}, {b}" for a, b in ORDERS])
def test_openllmetry_bedrock_instrumentation_and_llmmeter_in_any_order(first, undo, server):
    """With OpenLLMetry's Bedrock instrumentor on too, each call is counted once while llmmeter is on,
    OpenLLMetry's span is made, and the client class ends pristine (each order in a fresh process)."""
    server.reply = Reply(body=converse_body())
    ups = ["llmmeter", "other"] if first == "llmmeter first" else ["other", "llmmeter"]
    downs = list(reversed(ups)) if undo == "LIFO" else list(ups)
    # Not run with warnings as errors: OpenLLMetry's own import may warn.
    result = subprocess.run(
        [sys.executable, "-c", OPENLLMETRY.format(ups=ups, downs=downs, url=server.url, model=MODEL)],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["openllmetry_spans"] == 1
    assert found["counts"] == [1, 0 if downs[0] == "llmmeter" else 1, 0]
    assert found["pristine"] is True
