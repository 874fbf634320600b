"""The botocore capture point within instrument(): absent without botocore, found by the instrumentor."""

from __future__ import annotations

import subprocess
import sys

from botocore.client import BaseClient

from llmmeter.instrumentation import LLMMeterInstrumentor
from llmmeter.testing import record_calls
from tests.bedrock.server import Reply, converse_body
from tests.export.conftest import ROOT, clean_env


def test_without_botocore_instrument_imports_nothing_of_it() -> None:
    """With botocore absent, instrument() works and no botocore or boto3 module is imported."""
    code = (
        "import sys; sys.modules['botocore'] = None; sys.modules['boto3'] = None\n"
        "import llmmeter; llmmeter.instrument(); llmmeter.uninstrument()\n"
        "assert not [m for m in sys.modules if m.startswith(('botocore.', 'boto3.'))], 'imported'\n"
        "print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=clean_env(), timeout=60
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_the_opentelemetry_instrumentor_meters_bedrock(server, client, tracer_provider, meter_provider):
    """LLMMeterInstrumentor (what opentelemetry-instrument calls) meters boto3's Bedrock calls too."""
    pristine = BaseClient.__dict__["_make_request"]
    server.reply = Reply(body=converse_body())
    instrumentor = LLMMeterInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        with record_calls() as calls:
            client.converse(modelId="amazon.nova-pro-v1:0", messages=[])
    finally:
        instrumentor.uninstrument()
    assert [call.provider for call in calls] == ["aws.bedrock"]
    assert BaseClient.__dict__["_make_request"] is pristine
