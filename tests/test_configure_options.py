"""configure(): options are never silently dropped or half-applied, and wrong ones fail at the call."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import llmmeter
from llmmeter import ConfigurationError, PricingFileError
from llmmeter._pricing import PRICING_FILE_ENV
from tests.export.conftest import clean_env, run_python

M = Decimal(1_000_000)


def pricing_file(tmp_path: Path, name: str, model: str, input_mtok: str) -> Path:
    path = tmp_path / name
    path.write_text(f'[models."{model}"]\ninput_mtok = {input_mtok}\noutput_mtok = 1\n', encoding="utf-8")
    return path


def test_overrides_after_the_environment_file_keep_its_entries(tmp_path, monkeypatch):
    """configure(pricing_overrides=...) adds a layer: the LLMMETER_PRICING_FILE entries stay."""
    monkeypatch.setenv(PRICING_FILE_ENV, str(pricing_file(tmp_path, "env.toml", "house-model", "0.5")))
    llmmeter.configure(pricing_overrides={"other-model": {"input_mtok": 2, "output_mtok": 1}})

    assert llmmeter.price("house-model", input_tokens=1_000_000).total == Decimal("0.5")
    assert llmmeter.price("other-model", input_tokens=1_000_000).total == Decimal(2)


def test_deployments_after_pricing_files_keep_the_files(tmp_path):
    """configure(azure_deployments=...) after configure(pricing_files=...) keeps the files' prices."""
    llmmeter.configure(pricing_files=[pricing_file(tmp_path, "a.toml", "house-model", "0.25")])
    llmmeter.configure(azure_deployments={"prod": "house-model"})

    assert llmmeter.price("prod", input_tokens=1_000_000).total == Decimal("0.25")


def test_a_bad_file_changes_nothing(tmp_path):
    """A configure() call whose file fails raises, and the pricing configured before stays in force."""
    llmmeter.configure(pricing_files=[pricing_file(tmp_path, "good.toml", "house-model", "0.25")])
    bad = tmp_path / "bad.toml"
    bad.write_text('[models."x"]\ninput_mtok = "cheap"\n', encoding="utf-8")

    with pytest.raises(PricingFileError, match=r"bad\.toml"):
        llmmeter.configure(pricing_files=[bad])
    assert llmmeter.price("house-model", input_tokens=1_000_000).total == Decimal("0.25")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("pricing_files", 123),
        ("pricing_files", [Path("a.toml"), 5]),
        ("pricing_overrides", "gpt-4o"),
        ("pricing_overrides", {"gpt-4o": 2}),
        ("azure_deployments", {5: "gpt-4o"}),
        ("azure_deployments", {"prod": 5}),
        ("azure_deployments", ["prod"]),
    ],
    ids=repr,
)
def test_wrong_types_raise_a_configuration_error_naming_the_option(option: str, value: Any):
    """Each wrong type raises ConfigurationError at the call, naming the option."""
    kwargs: dict[str, Any] = {option: value}
    with pytest.raises(ConfigurationError, match=rf"configure\({option}="):
        llmmeter.configure(**kwargs)


def test_prometheus_host_without_a_port_is_refused():
    """prometheus_host= alone would start nothing: it is an error, not a silent no-op."""
    with pytest.raises(ConfigurationError, match="prometheus_port"):
        llmmeter.configure(prometheus_host="0.0.0.0")


def test_a_json_file_defining_a_model_twice_fails_naming_file_and_entry(tmp_path):
    """JSON keeps the last of two equal keys silently; llmmeter refuses it, as TOML does."""
    path = tmp_path / "prices.json"
    path.write_text(
        '{"models": {"house-model": {"input_mtok": 1, "output_mtok": 1},'
        ' "house-model": {"input_mtok": 9, "output_mtok": 9}}}',
        encoding="utf-8",
    )
    with pytest.raises(PricingFileError) as raised:
        llmmeter.configure(pricing_files=[path])
    assert (raised.value.path.endswith("prices.json"), raised.value.entry) == (True, "house-model")


def test_a_broken_environment_pricing_file_loses_no_call(tmp_path):
    """A typo in LLMMETER_PRICING_FILE: calls are still recorded with their tokens and a cost status
    saying pricing failed, and one error names the file, entry and field."""
    bad = tmp_path / "prices.toml"
    bad.write_text('[models."house-model"]\ninput_mtok = "cheap"\noutput_mtok = 1\n', encoding="utf-8")
    script = """
        import llmmeter
        from llmmeter.testing import record_calls
        from tests.export.workload import raw_chat_call

        with llmmeter.track() as spend, record_calls() as calls:
            raw_chat_call("gpt-4o-2024-08-06", prompt_tokens=100, completion_tokens=20)
            raw_chat_call("gpt-4o-2024-08-06", prompt_tokens=100, completion_tokens=20)
        print(spend.calls, spend.input_tokens, spend.unpriced_calls, [c.cost.status for c in calls])
    """
    result = run_python(script, env=clean_env(LLMMETER_PRICING_FILE=str(bad)))

    assert result.stdout.strip() == "2 200 2 ['pricing_error', 'pricing_error']"
    errors = [line for line in result.stderr.splitlines() if "invalid pricing file" in line]
    assert len(errors) == 1
    assert "prices.toml" in errors[0]
    assert "'house-model'" in errors[0]
    assert "'input_mtok'" in errors[0]
