"""Zero-code: ``opentelemetry-instrument python app.py`` meters an app that never mentions llmmeter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path

from tests.export.conftest import ROOT, clean_env
from tests.export.otlp_receiver import OTLPReceiver, attributes

APP = """
import httpx2, openai
from tests import fakes

reply = fakes.Reply(fakes.chat_completion(prompt_tokens=100, completion_tokens=20))
transport = httpx2.MockTransport(fakes.mock_handler(httpx2, reply))
client = openai.OpenAI(api_key="sk-test", http_client=httpx2.Client(transport=transport))
client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
"""


def test_opentelemetry_instrument_meters_the_app_with_the_distros_providers(tmp_path: Path):
    """The distro's providers receive llmmeter's span, priced, over OTLP: no code change in the app."""
    command = Path(sys.executable).with_name("opentelemetry-instrument")
    if not command.exists():
        command = Path(shutil.which("opentelemetry-instrument") or "")
    assert command.exists(), "opentelemetry-distro is a test dependency"
    app = tmp_path / "app.py"
    app.write_text(APP)
    with OTLPReceiver() as receiver:
        result = subprocess.run(
            [str(command), sys.executable, str(app)],
            cwd=ROOT,
            env=clean_env(
                OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
                OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                OTEL_SERVICE_NAME="zero-code-app",
                OTEL_METRICS_EXPORTER="none",
                OTEL_LOGS_EXPORTER="none",
                LLMMETER_STRICT="1",
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    spans = [
        (resource, attributes(span.attributes))
        for resource, scope, span in receiver.spans()
        if scope == "llmmeter"
    ]
    assert len(spans) == 1, result.stderr
    resource, span = spans[0]
    assert resource["service.name"] == "zero-code-app"
    assert span["gen_ai.usage.input_tokens"] == 100
    assert span["llmmeter.cost.status"] == "ok"
    # gpt-4o: $2.50 input, $10.00 output per 1M tokens (openai.com/api/pricing).
    assert span["gen_ai.usage.cost.amount"] == float((100 * Decimal("2.50") + 20 * Decimal("10.00")) / 10**6)


def test_the_instrumentor_is_registered():
    """llmmeter's instrumentor is found where opentelemetry-instrument looks."""
    (found,) = [ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "llmmeter"]
    assert found.load().__name__ == "LLMMeterInstrumentor"
