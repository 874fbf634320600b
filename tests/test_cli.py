"""The llmmeter command line: price breakdowns, model listings, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from decimal import Decimal
from pathlib import Path

import pytest

import llmmeter
from llmmeter._cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``llmmeter argv...``."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_price_prints_breakdown_and_total(capsys: pytest.CaptureFixture[str]) -> None:
    """`llmmeter price` shows each part with its tokens, rate and cost, and the total."""
    code, out, _ = run(
        capsys, "price", "gpt-5.4", "--input", "120000", "--cached", "100000", "--output", "2000"
    )
    assert code == 0
    assert "gpt-5.4" in out
    assert "20,000 tokens" in out
    assert "100,000 tokens" in out
    assert "$2.50 / 1M tokens" in out
    assert "$0.25 / 1M tokens" in out
    assert "$15.00 / 1M tokens" in out
    assert "$0.105" in out  # 20K x $2.50 + 100K x $0.25 + 2K x $15.00, per 1M


def test_price_with_priority_tier(capsys: pytest.CaptureFixture[str]) -> None:
    """--tier priority uses the model's priority prices."""
    code, out, _ = run(
        capsys,
        "price",
        "gpt-5.4",
        "--input",
        "120000",
        "--cached",
        "100000",
        "--output",
        "2000",
        "--tier",
        "priority",
    )
    assert code == 0
    assert "priority tier" in out
    assert "$0.21" in out  # 20K x $5.00 + 100K x $0.50 + 2K x $30.00, per 1M


def test_price_video_by_size(capsys: pytest.CaptureFixture[str]) -> None:
    """--seconds and --size price per-second video at the resolution's rate."""
    code, out, _ = run(capsys, "price", "sora-2-pro", "--seconds", "8", "--size", "1024x1792")
    assert code == 0
    assert "$0.50 / second" in out
    assert "$4.00" in out


def test_price_unknown_model_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown model is a clear message on stderr and exit code 2."""
    code, out, err = run(capsys, "price", "no-such-model-abc", "--input", "10")
    assert code == 2
    assert out == ""
    assert "no price for model 'no-such-model-abc'" in err


def test_price_nothing_to_price_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Pricing no usage at all is refused rather than shown as $0."""
    code, _, err = run(capsys, "price", "gpt-5.4")
    assert code == 2
    assert "nothing to price" in err


def test_price_with_pricing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--pricing-file entries win over the bundled prices."""
    path = tmp_path / "prices.toml"
    path.write_text('[models."gpt-5.4"]\ninput_mtok = 1.00\noutput_mtok = 2.00\n', encoding="utf-8")
    code, out, _ = run(capsys, "price", "gpt-5.4", "--input", "1000000", "--pricing-file", str(path))
    assert code == 0
    assert "(user)" in out
    assert "$1.00" in out


def test_bad_pricing_file_exits_2_naming_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A malformed pricing file is reported with its path, entry and field, exit code 2."""
    path = tmp_path / "bad.toml"
    path.write_text('[models."m"]\ninput_mtok = -1\n', encoding="utf-8")
    code, _, err = run(capsys, "price", "m", "--input", "1", "--pricing-file", str(path))
    assert code == 2
    assert "bad.toml" in err
    assert "'m'" in err
    assert "'input_mtok'" in err


def test_negative_count_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A negative token count is refused by the argument parser (exit code 2)."""
    with pytest.raises(SystemExit) as caught:
        main(["price", "gpt-5.4", "--input", "-5"])
    assert caught.value.code == 2
    assert "must not be negative" in capsys.readouterr().err


def test_models_lists_matching_entries(capsys: pytest.CaptureFixture[str]) -> None:
    """`llmmeter models gpt-5` lists entries with their input, cached and output rates and source."""
    code, out, _ = run(capsys, "models", "gpt-5", "--provider", "openai")
    assert code == 0
    row = next(line for line in out.splitlines() if " gpt-5.4 " in line)
    for cell in ("$2.50", "$0.25", "$15.00", "genai-prices"):
        assert cell in row
    assert "gpt-5-mini" in out


def test_models_lists_supplement_entries(capsys: pytest.CaptureFixture[str]) -> None:
    """Fine-tuned entries from llmmeter's supplement are listed with their source."""
    code, out, _ = run(capsys, "models", "ft:gpt-4.1")
    assert code == 0
    row = next(line for line in out.splitlines() if " ft:gpt-4.1 " in line)
    assert "$3.00" in row
    assert "$0.75" in row
    assert "$12.00" in row
    assert "training $25.00" in row
    assert "llmmeter" in row


def test_models_without_match_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """A pattern nothing matches says so on stderr."""
    code, _, err = run(capsys, "models", "zzz-nothing-matches-this")
    assert code == 1
    assert "no price entries match" in err


def test_demo_runs_the_demo_module(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`llmmeter demo ARGS` hands ARGS to llmmeter._demo.main and returns its exit code."""
    received: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        received.append(argv)
        return 3

    demo = types.ModuleType("llmmeter._demo")
    demo.main = fake_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llmmeter._demo", demo)
    assert main(["demo", "--calls", "5"]) == 3
    assert received == [["--calls", "5"]]


def test_python_dash_m_runs_the_cli() -> None:
    """`python -m llmmeter` is the same command line."""
    result = subprocess.run(
        [sys.executable, "-m", "llmmeter", "price", "sora-2", "--seconds", "10"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "$1.00" in result.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints llmmeter's version and exits 0."""
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"llmmeter {llmmeter.__version__}"


def test_unknown_model_suggests_close_names(capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt model name gets a "did you mean" with the close known names."""
    code, _, err = run(capsys, "price", "gpt-4o-mni", "--input", "10")
    assert code == 2
    assert "Did you mean 'gpt-4o-mini'" in err


def test_unknown_tier_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--tier with a name llmmeter does not know is refused, listing the names it knows."""
    with pytest.raises(SystemExit) as caught:
        main(["price", "gpt-5.4", "--input", "10", "--tier", "flexx"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "unknown service tier 'flexx'" in err
    assert "batch" in err


def test_cached_above_input_warns(capsys: pytest.CaptureFixture[str]) -> None:
    """Cached tokens above --input (Anthropic-style counts) get a warning saying --input is ALL input."""
    code, _, err = run(capsys, "price", "gpt-5.4", "--input", "100", "--cached", "200")
    assert code == 0
    assert "warning" in err
    assert "exceed --input" in err


def test_estimated_price_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    """A tier the model has no price for is shown as estimated, with the reason."""
    code, out, _ = run(capsys, "price", "gpt-4o-2024-05-13", "--input", "1000000", "--tier", "flex")
    assert code == 0
    assert "(estimated)" in out
    assert "has no flex price" in out


def test_price_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the cost as one JSON document, money as exact decimal strings."""
    code, out, _ = run(
        capsys, "price", "gpt-5.4", "--input", "120000", "--cached", "100000", "--output", "2000", "--json"
    )
    assert code == 0
    document = json.loads(out)
    assert document["total"] == "0.105"  # 20K x $2.50 + 100K x $0.25 + 2K x $15.00, per 1M
    assert document["components"] == {"input": "0.05", "cache_read": "0.025", "output": "0.03"}
    assert document["status"] == "ok"
    assert document["entry"] == "gpt-5.4"


def test_price_when(capsys: pytest.CaptureFixture[str]) -> None:
    """--when prices at the prices in force then (Sonnet 4.6 had a >200K premium before 2026-03-13)."""
    argv = ["price", "claude-sonnet-4-6", "--input", "250000", "--output", "1000", "--json"]
    _, before, _ = run(capsys, *argv, "--when", "2026-03-12")
    _, after, _ = run(capsys, *argv, "--when", "2026-03-13")
    assert json.loads(before)["total"] == "1.5225"  # 250K x $6 + 1K x $22.50, per 1M
    assert json.loads(after)["total"] == "0.765"  # 250K x $3 + 1K x $15, per 1M


def test_models_json_lists_the_makers_entries_first(capsys: pytest.CaptureFixture[str]) -> None:
    """`models --json` is machine-readable; a model's own provider comes before resellers."""
    code, out, _ = run(capsys, "models", "gpt-4o-mini", "--json")
    assert code == 0
    entries = json.loads(out)
    genai = [entry for entry in entries if entry["source"] == "genai-prices"]
    providers = [entry["provider"] for entry in genai]
    first_reseller = next(i for i, provider in enumerate(providers) if provider != "openai")
    assert set(providers[:first_reseller]) == {"openai"}
    assert "openai" not in providers[first_reseller:]
    mini = next(entry for entry in genai if entry["model"] == "gpt-4o-mini" and entry["provider"] == "openai")
    assert mini["per_million_tokens"]["input"] == "0.15"


def test_models_filter_by_provider(capsys: pytest.CaptureFixture[str]) -> None:
    """--provider keeps only that provider's entries."""
    code, out, _ = run(capsys, "models", "claude-sonnet-4", "--provider", "anthropic", "--json")
    assert code == 0
    assert {entry["provider"] for entry in json.loads(out)} == {"anthropic"}


def test_price_characters(capsys: pytest.CaptureFixture[str]) -> None:
    """--characters prices a model billed by the character: tts-1-hd at $30.00 per 1M characters
    (OpenAI's pricing page, "Legacy models" TTS table)."""
    code, out, _ = run(capsys, "price", "tts-1-hd", "--characters", "2500", "--json")
    assert code == 0
    assert json.loads(out)["total"] == str(2_500 * Decimal("30.00") / 1_000_000)
