"""The telemetry written for a fixed set of calls is exactly what main wrote before issue 22's changes
(golden files made by ``python -m tests.golden.capture``, see its docstring)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.export.conftest import ROOT, clean_env, python_command
from tests.golden.capture import HERE, capture, golden_path


def _differences(found: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Where a capture differs from a golden file, span by span and metric by metric, to read in a failure."""
    lines = []
    for i, (got, want) in enumerate(zip(found["spans"], expected["spans"], strict=False)):
        if got != want:
            lines.append(f"span {i} ({want['name']}): {json.dumps(got, sort_keys=True)}")
    if len(found["spans"]) != len(expected["spans"]):
        lines.append(f"{len(found['spans'])} spans, golden has {len(expected['spans'])}")
    for name in sorted(found["metrics"].keys() | expected["metrics"].keys()):
        if found["metrics"].get(name) != expected["metrics"].get(name):
            lines.append(f"metric {name}: {json.dumps(found['metrics'].get(name), sort_keys=True)}")
    if found["track"] != expected["track"]:
        lines.append(f"track: {found['track']}")
    return lines


def test_telemetry_matches_the_golden_capture():
    """Spans, metric points and track() totals of the fixed calls equal the golden file's."""
    expected = json.loads(golden_path().read_text())
    found = json.loads(json.dumps(capture(), sort_keys=True))
    assert _differences(found, expected) == []
    assert found == expected


def test_latest_conventions_telemetry_matches_the_golden_capture():
    """With gen_ai_latest_experimental, the fixed calls write what the latest golden file holds."""
    env = clean_env(OTEL_SEMCONV_STABILITY_OPT_IN="gen_ai_latest_experimental")
    script = (
        "import json\nfrom tests.golden.capture import capture\nprint(json.dumps(capture(), sort_keys=True))"
    )
    # The capture imports openai, anthropic and langchain: more than run_python's 30 s on a busy machine.
    result = subprocess.run(
        python_command(script), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    found = json.loads(result.stdout.splitlines()[-1])
    expected = json.loads((HERE / "telemetry_latest.json").read_text())
    assert _differences(found, expected) == []
    assert found == expected
