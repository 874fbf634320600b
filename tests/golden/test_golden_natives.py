"""The telemetry written for a fixed set of Gemini, Bedrock and aiohttp calls is exactly what main wrote
before issue 22's cuts to their paths (golden files made by ``python -m tests.golden.natives``)."""

from __future__ import annotations

import json
import subprocess

from tests.export.conftest import ROOT, clean_env, python_command
from tests.golden.natives import HERE, capture, golden_path
from tests.golden.test_golden import _differences


def test_native_calls_telemetry_matches_the_golden_capture():
    """Spans, metric points and track() totals of the fixed native calls equal the golden file's."""
    expected = json.loads(golden_path().read_text())
    found = capture()
    assert _differences(found, expected) == []
    assert found == expected


def test_native_calls_latest_conventions_telemetry_matches_the_golden_capture():
    """With gen_ai_latest_experimental, the fixed native calls write what the latest golden file holds."""
    env = clean_env(OTEL_SEMCONV_STABILITY_OPT_IN="gen_ai_latest_experimental")
    script = (
        "import json\nfrom tests.golden.natives import capture\nprint(json.dumps(capture(), sort_keys=True))"
    )
    result = subprocess.run(
        python_command(script), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    found = json.loads(result.stdout.splitlines()[-1])
    expected = json.loads((HERE / "natives_latest.json").read_text())
    assert _differences(found, expected) == []
    assert found == expected
