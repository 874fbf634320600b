"""`llmmeter demo`: offline, real SDK calls, a cost table, totals and the trace tree, well under 30 s
of CPU (about 5 s on an idle 2-core machine)."""

from __future__ import annotations

import re
import resource
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.export.conftest import ROOT, SUBPROCESS_TIMEOUT_S, clean_env

DEMO_TIME_LIMIT_S = 30
"""CPU seconds (user and system) the demo may take: CPU, not wall time, so that a machine busy
with other work (a parallel test run, a benchmark) does not fail it."""


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.fixture(scope="module")
def demo() -> tuple[subprocess.CompletedProcess[str], float]:
    """The output of `llmmeter demo`, run through the installed console script, and the CPU it took."""
    script = Path(sys.executable).with_name("llmmeter")
    command = [str(script), "demo"] if script.exists() else [sys.executable, "-m", "llmmeter", "demo"]
    started = _children_cpu_s()
    result = subprocess.run(
        command,
        cwd=ROOT,
        env=clean_env(COLUMNS="120", PYTHONWARNINGS="error"),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S * 2,
        check=False,
    )
    return result, _children_cpu_s() - started


def test_demo_succeeds_offline_within_the_time_limit(demo):
    """The demo exits 0 with no key and no network, in well under 30 seconds of CPU."""
    result, cpu_s = demo
    assert result.returncode == 0, result.stdout + result.stderr
    assert 0 < cpu_s < DEMO_TIME_LIMIT_S
    assert "local fake provider" in result.stdout


def test_demo_runs_every_step(demo):
    """OpenAI plain, streamed, tool call, Responses, embeddings, Anthropic and LangChain all ran."""
    output = demo[0].stdout
    for step in (
        "OpenAI chat completion:",
        "OpenAI chat completion, streamed:",
        "OpenAI tool call round trip: 2 call(s)",
        "OpenAI Responses API:",
        "OpenAI embeddings:",
        "OpenAI Realtime session over WebSocket: 2 call(s)",
        "OpenAI image generation: 1 call(s)",
        "Anthropic messages, plain then streamed: 2 call(s)",
        "LangChain chain",
        "Gateway call, cost reported by OpenRouter: 1 call(s)",
    ):
        assert f"✓ {step}" in output, step
    assert "skipped" not in output


def test_demo_prints_a_cost_table_per_model(demo):
    """A rich table lists each priced model with calls, tokens and cost, and a total row."""
    output = demo[0].stdout
    assert "Cost per model" in output
    assert re.search(r"┃ Model\s+┃ Calls ┃ Input tokens ┃ Output tokens ┃\s+Cost \(USD\) ┃", output)
    models = (
        "gpt-4o-mini",
        "gpt-4o",
        "gpt-5.4",
        "text-embedding-3-small",
        "claude-sonnet-4-6",
        "gpt-image-1.5",
    )
    for model in models:
        assert re.search(rf"│ {re.escape(model)}\s+│\s+\d+ │", output), model
    assert re.search(r"│ Total\s+│\s+13 │", output)


def test_demo_totals_agree_with_the_exported_metric(demo):
    """The track() total and the sum of the llmmeter.cost metric are the same amount."""
    output = demo[0].stdout
    tracked = re.search(r"llmmeter\.track\(\): 13 calls.*?\$(\d+\.\d+)", output, re.S)
    exported = re.search(r"metric llmmeter\.cost: \$(\d+\.\d+)", output)
    assert tracked, output
    assert exported, output
    assert Decimal(tracked.group(1)) == Decimal(exported.group(1)) > 0


def test_demo_prints_the_trace_tree(demo):
    """The trace tree nests llmmeter's spans under the demo's steps, and the anthropic SDK's span."""
    output = demo[0].stdout
    assert "Trace tree" in output
    lines = output.splitlines()
    root = next(i for i, line in enumerate(lines) if "llmmeter demo  [llmmeter.demo]" in line)
    step = next(i for i, line in enumerate(lines) if "Anthropic messages" in line and i > root)
    sdk = next(i for i, line in enumerate(lines) if "anthropic.messages.create" in line and i > step)
    ours = next(i for i, line in enumerate(lines) if "chat claude-sonnet-4-6  [llmmeter]" in line and i > sdk)

    def depth(i: int) -> int:
        return len(lines[i]) - len(lines[i].lstrip("│ ├└─"))

    assert depth(root) < depth(step) < depth(sdk) < depth(ours)


def test_demo_prices_its_image_generation(demo):
    """The image step's span is a generate_content call on gpt-image-1.5 with its exact cost.

    The fake server reports 8 text input tokens (the prompt, four characters a token) and 272 image
    output tokens (a low-quality 1024x1024 image); gpt-image-1.5 bills $5.00 per 1M text input and
    $32.00 per 1M image output tokens (OpenAI's pricing page, and the seed's text input rate).
    """
    output = demo[0].stdout
    expected = (8 * Decimal("5.00") + 272 * Decimal("32.00")) / Decimal(1_000_000)
    assert re.search(r"generate_content gpt-image-1\.5\s+\[llmmeter\].*8 in / 272 out", output)
    cost = re.escape(f"${expected:.6f}")
    assert re.search(rf"│ gpt-image-1\.5\s+│\s+1 │\s+8 │\s+272 │\s+{cost} │", output)


def test_live_without_a_key_refuses_before_any_call():
    """--live with no OPENAI_API_KEY exits 2 with a message, sending nothing."""
    result = subprocess.run(
        [sys.executable, "-m", "llmmeter._demo", "--live"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 2
    assert "OPENAI_API_KEY" in result.stdout


def test_demo_prices_its_realtime_session_exactly(demo):
    """The Realtime session's two responses cost what gpt-realtime's published rates say.

    The fake server reports, per response, 17 text and 4 (then 8: the audio accumulates) audio input
    tokens, 14 text and 60 audio output tokens. Rates, USD per 1M tokens (OpenAI pricing page,
    Realtime API; genai-prices ``gpt-realtime``): text $4.00 in / $16.00 out, audio $32.00 in /
    $64.00 out.
    """
    text_in, text_out, audio_in, audio_out = Decimal("4"), Decimal("16"), Decimal("32"), Decimal("64")
    per_response = [17 * text_in + audio * audio_in + 14 * text_out + 60 * audio_out for audio in (4, 8)]
    cost = sum(per_response) / Decimal(1_000_000)
    output = demo[0].stdout
    assert f"OpenAI Realtime session over WebSocket: 2 call(s), ${cost:.6f}" in output
    assert re.search(rf"│ gpt-realtime\s+│\s+2 │.*\${cost:.6f}", output)
    assert "session of 2 response(s)" in output


def test_demo_prices_its_gateway_call_from_the_reported_cost(demo):
    """The OpenRouter-shaped call costs what the gateway reported, with the table's estimate beside it.

    The fake gateway reports 13 input and 14 output tokens at OpenRouter's list price for
    openai/gpt-4o-mini, $0.15 / $0.60 per 1M (openrouter.ai/openai/gpt-4o-mini): $0.00001035, in
    ``usage.cost``; llmmeter's table prices the same call at the same rates.
    """
    expected = (13 * Decimal("0.15") + 14 * Decimal("0.60")) / Decimal(1_000_000)
    output = demo[0].stdout
    assert f"reported ${expected}, table ${expected}" in output
    assert re.search(r"chat openai/gpt-4o-mini\s+\[llmmeter\].*13 in / 14 out", output)
    assert "reported by the provider (table:" in output
