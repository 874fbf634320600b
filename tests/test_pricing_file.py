"""User pricing layers (code overrides, files, LLMMETER_PRICING_FILE) and malformed files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

import llmmeter
from llmmeter import PricingFileError, PricingTable, Usage
from llmmeter._pricing import PRICING_FILE_ENV, set_table

ONE_MILLION_IN = Usage(input_tokens=1_000_000)


def write(tmp_path: Path, name: str, text: str) -> Path:
    """A pricing file named ``name`` with ``text`` in it."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_code_override_wins_over_genai_prices() -> None:
    """A negotiated price given in code replaces genai-prices' entry."""
    table = PricingTable(overrides={"gpt-4o": {"input_mtok": 1.10, "output_mtok": 4}})
    cost = table.price_usage("gpt-4o", ONE_MILLION_IN)
    assert cost.total == Decimal("1.10")
    assert cost.source == "user"


def test_code_override_wins_over_supplement() -> None:
    """A user entry replaces llmmeter's bundled supplement entry."""
    table = PricingTable(overrides={"sora-2": {"video_second": 0.05}})
    assert table.price_usage("sora-2", Usage(seconds=10)).total == Decimal("0.50")


def test_override_applies_to_dated_snapshots_of_its_model() -> None:
    """A user entry for gpt-4o also prices gpt-4o-2024-08-06, which genai-prices maps to gpt-4o."""
    table = PricingTable(overrides={"gpt-4o": {"input_mtok": 1, "output_mtok": 4}})
    assert table.price_usage("gpt-4o-2024-08-06", ONE_MILLION_IN).total == Decimal("1")


def test_override_leaves_a_snapshot_with_its_own_entry_alone() -> None:
    """gpt-4o-2024-05-13 keeps its own genai-prices entry when only gpt-4o is overridden."""
    table = PricingTable(overrides={"gpt-4o": {"input_mtok": 1, "output_mtok": 4}})
    assert table.price_usage("gpt-4o-2024-05-13", ONE_MILLION_IN).total == Decimal("5.00")


def test_self_hosted_model_from_overrides() -> None:
    """A model genai-prices does not know is priced from the user's entry, dated or not."""
    table = PricingTable(overrides={"my-llama": {"input_mtok": 0.1, "output_mtok": 0.2}})
    usage = Usage(input_tokens=10, output_tokens=10)
    assert table.price_usage("my-llama-2025-01-31", usage).total == Decimal("0.000003")


def test_prices_stay_exact_decimals(tmp_path: Path) -> None:
    """0.1 in a TOML file is exactly 0.1, not the nearest binary float."""
    path = write(tmp_path, "a.toml", '[models."tiny"]\ninput_mtok = 0.1\n')
    table = PricingTable(files=[path])
    assert table.price_usage("tiny", Usage(input_tokens=3)).total == Decimal("0.0000003")


def test_toml_file_wins_over_genai_prices_and_supplement(tmp_path: Path) -> None:
    """Entries from a TOML file replace both lower layers."""
    path = write(
        tmp_path,
        "prices.toml",
        '[models."gpt-4o"]\ninput_mtok = 2.00\noutput_mtok = 8.00\n[models."sora-2"]\nvideo_second = 0.08\n',
    )
    table = PricingTable(files=[path])
    assert table.price_usage("gpt-4o", ONE_MILLION_IN).total == Decimal("2.00")
    assert table.price_usage("sora-2", Usage(seconds=10)).total == Decimal("0.80")


def test_json_file(tmp_path: Path) -> None:
    """A .json file uses the same format."""
    path = write(tmp_path, "prices.json", json.dumps({"models": {"my-model": {"input_mtok": 1.5}}}))
    assert PricingTable(files=[path]).price_usage("my-model", ONE_MILLION_IN).total == Decimal("1.5")


def test_later_file_wins(tmp_path: Path) -> None:
    """Of two files defining the same model, the later one wins."""
    first = write(tmp_path, "a.toml", '[models."m"]\ninput_mtok = 1\n')
    second = write(tmp_path, "b.toml", '[models."m"]\ninput_mtok = 2\n')
    assert PricingTable(files=[first, second]).price_usage("m", ONE_MILLION_IN).total == Decimal("2")


def test_code_overrides_win_over_files(tmp_path: Path) -> None:
    """Overrides given in code win over files."""
    path = write(tmp_path, "a.toml", '[models."m"]\ninput_mtok = 1\n')
    table = PricingTable(overrides={"m": {"input_mtok": 3}}, files=[path])
    assert table.price_usage("m", ONE_MILLION_IN).total == Decimal("3")


def test_environment_variable_names_the_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LLMMETER_PRICING_FILE is read when the default table is built."""
    path = write(tmp_path, "env.toml", '[models."gpt-5.4"]\ninput_mtok = 1.00\noutput_mtok = 2.00\n')
    monkeypatch.setenv(PRICING_FILE_ENV, str(path))
    set_table(None)
    cost = llmmeter.price("gpt-5.4", input_tokens=1_000_000)
    assert cost.total == Decimal("1.00")
    assert cost.source == "user"


def test_bad_environment_file_fails_on_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed LLMMETER_PRICING_FILE fails loudly, naming the file."""
    path = write(tmp_path, "env.toml", '[models."x"]\ninput_mtok = -1\n')
    monkeypatch.setenv(PRICING_FILE_ENV, str(path))
    set_table(None)
    with pytest.raises(PricingFileError, match=r"env\.toml"):
        llmmeter.price("x", input_tokens=1)


def test_aliases(tmp_path: Path) -> None:
    """An entry answers to its aliases, case-insensitively."""
    path = write(tmp_path, "a.toml", '[models."house-model"]\naliases = ["House-Alias"]\ninput_mtok = 4\n')
    cost = PricingTable(files=[path]).price_usage("house-alias", ONE_MILLION_IN)
    assert cost.total == Decimal("4")
    assert cost.model == "house-model"


def test_deployments_in_a_file(tmp_path: Path) -> None:
    """A file's [deployments] table maps Azure deployment names to models."""
    path = write(tmp_path, "a.toml", '[deployments]\n"prod-chat" = "gpt-4o"\n')
    cost = PricingTable(files=[path]).price_usage("prod-chat", ONE_MILLION_IN, provider="azure.ai.openai")
    assert cost.total == Decimal("2.50")


def test_long_context_in_a_file(tmp_path: Path) -> None:
    """A long_context table prices the whole request above its threshold, other prices kept."""
    path = write(
        tmp_path,
        "a.toml",
        '[models."m"]\ninput_mtok = 1\noutput_mtok = 2\n'
        '[models."m".long_context]\nthreshold = 100\ninput_mtok = 3\n',
    )
    table = PricingTable(files=[path])
    assert table.price_usage("m", Usage(input_tokens=100, output_tokens=1_000_000)).total == Decimal("2.0001")
    assert table.price_usage("m", Usage(input_tokens=101, output_tokens=1_000_000)).total == Decimal(
        "2.000303"
    )


def test_tier_prices_in_a_file(tmp_path: Path) -> None:
    """A tier table sets that tier's prices; fields it leaves out keep the standard price."""
    path = write(
        tmp_path,
        "a.toml",
        '[models."m"]\ninput_mtok = 2\noutput_mtok = 8\n[models."m".tiers.batch]\ninput_mtok = 1\n',
    )
    table = PricingTable(files=[path])
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert table.price_usage("m", usage, service_tier="batch").total == Decimal("9")
    assert table.price_usage("m", usage).total == Decimal("10")


def test_without_genai_prices_only_local_entries_exist() -> None:
    """include_genai_prices=False leaves llmmeter's supplement and user entries."""
    table = PricingTable(include_genai_prices=False)
    assert table.price_usage("gpt-4o", ONE_MILLION_IN).status == "unknown_model"
    assert table.price_usage("sora-2", Usage(seconds=1)).total == Decimal("0.10")


# --- malformed files: each error names the file, the entry and the field ----------------------------


def load_error(tmp_path: Path, name: str, text: str) -> PricingFileError:
    """The error raised when loading a file named ``name`` containing ``text``."""
    path = write(tmp_path, name, text)
    with pytest.raises(PricingFileError) as caught:
        PricingTable(files=[path])
    assert str(path) in str(caught.value)
    assert caught.value.path == str(path)
    return caught.value


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    """A file that is not TOML fails at load with its path."""
    error = load_error(tmp_path, "bad.toml", '[models."m"\ninput_mtok = 1\n')
    assert "not valid TOML" in str(error)


def test_bad_json_names_the_file(tmp_path: Path) -> None:
    """A file that is not JSON fails at load with its path."""
    error = load_error(tmp_path, "bad.json", '{"models": {')
    assert "not valid JSON" in str(error)


def test_unknown_field_names_entry_and_field(tmp_path: Path) -> None:
    """A misspelt field is reported with its entry and name."""
    error = load_error(tmp_path, "a.toml", '[models."gpt-4o"]\ninput_mtoks = 1\n')
    assert (error.entry, error.field) == ("gpt-4o", "input_mtoks")
    assert "'gpt-4o'" in str(error)
    assert "'input_mtoks'" in str(error)
    assert "unknown field" in str(error)


def test_negative_price_names_entry_and_field(tmp_path: Path) -> None:
    """A negative price is refused, naming the entry and field."""
    error = load_error(tmp_path, "a.toml", '[models."gpt-4o"]\ninput_mtok = 1\noutput_mtok = -0.5\n')
    assert (error.entry, error.field) == ("gpt-4o", "output_mtok")
    assert "negative" in str(error)


def test_wrong_type_names_entry_and_field(tmp_path: Path) -> None:
    """A price given as text is refused, naming the entry and field."""
    error = load_error(tmp_path, "a.toml", '[models."gpt-4o"]\ninput_mtok = "cheap"\n')
    assert (error.entry, error.field) == ("gpt-4o", "input_mtok")
    assert "expected a number" in str(error)


def test_boolean_is_not_a_price(tmp_path: Path) -> None:
    """true is not a number, even though Python treats it as 1."""
    error = load_error(tmp_path, "a.toml", '[models."m"]\ninput_mtok = true\n')
    assert (error.entry, error.field) == ("m", "input_mtok")


def test_nan_is_not_a_price(tmp_path: Path) -> None:
    """NaN in a JSON file is refused."""
    error = load_error(tmp_path, "a.json", '{"models": {"m": {"input_mtok": NaN}}}')
    assert (error.entry, error.field) == ("m", "input_mtok")
    assert "finite" in str(error)


def test_error_in_a_tier_names_the_nested_field(tmp_path: Path) -> None:
    """A fault inside a tier table names the path to the field."""
    error = load_error(
        tmp_path, "a.toml", '[models."m"]\ninput_mtok = 1\n[models."m".tiers.priority]\nnput_mtok = 2\n'
    )
    assert (error.entry, error.field) == ("m", "tiers.priority.nput_mtok")


def test_unknown_tier_is_refused(tmp_path: Path) -> None:
    """Only priority, flex and batch tiers exist."""
    error = load_error(
        tmp_path, "a.toml", '[models."m"]\ninput_mtok = 1\n[models."m".tiers.turbo]\ninput_mtok = 2\n'
    )
    assert (error.entry, error.field) == ("m", "tiers.turbo")


def test_bad_video_size_is_refused(tmp_path: Path) -> None:
    """Video sizes are WIDTHxHEIGHT."""
    error = load_error(tmp_path, "a.toml", '[models."v"]\nvideo_second_by_size = { "hd" = 0.5 }\n')
    assert error.entry == "v"
    assert error.field is not None
    assert error.field.startswith("video_second_by_size")


def test_duplicate_alias_is_refused(tmp_path: Path) -> None:
    """Two entries cannot claim the same name."""
    error = load_error(
        tmp_path, "a.toml", '[models."a"]\ninput_mtok = 1\n[models."b"]\naliases = ["A"]\ninput_mtok = 2\n'
    )
    assert (error.entry, error.field) == ("b", "aliases")


def test_unknown_top_level_table_is_refused(tmp_path: Path) -> None:
    """A misspelt top-level table is reported by name."""
    error = load_error(tmp_path, "a.toml", '[model."m"]\ninput_mtok = 1\n')
    assert (error.entry, error.field) == (None, "model")


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    """A pricing file that does not exist fails at load with its path."""
    path = tmp_path / "nowhere.toml"
    with pytest.raises(PricingFileError, match="file not found") as caught:
        PricingTable(files=[path])
    assert str(path) in str(caught.value)


def test_unsupported_extension(tmp_path: Path) -> None:
    """Only .toml and .json files are read."""
    error = load_error(tmp_path, "prices.yaml", "models: {}\n")
    assert "toml" in str(error)


def test_bad_code_override_names_the_entry_and_field() -> None:
    """Overrides in code are validated like a file."""
    with pytest.raises(PricingFileError) as caught:
        PricingTable(overrides={"gpt-4o": {"input_mtok": -1}})
    assert (caught.value.path, caught.value.entry, caught.value.field) == (
        "<overrides>",
        "gpt-4o",
        "input_mtok",
    )


def test_pricing_file_error_is_a_configuration_error() -> None:
    """PricingFileError can be caught as ConfigurationError or ValueError."""
    with pytest.raises(llmmeter.ConfigurationError):
        PricingTable(overrides={"m": {"input_mtok": "x"}})
    with pytest.raises(ValueError, match="input_mtok"):
        PricingTable(overrides={"m": {"input_mtok": "x"}})
