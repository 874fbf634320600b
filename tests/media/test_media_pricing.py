"""Per-character prices: the pricing file field, the bill and the listing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import llmmeter
from llmmeter._cli import main
from llmmeter._errors import PricingFileError
from llmmeter._pricing import PricingTable
from llmmeter._usage import Usage


def test_a_pricing_file_prices_a_model_by_the_character(tmp_path: Path):
    """``characters_mtok`` is USD per 1M characters of input."""
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."my-tts"]\ncharacters_mtok = 12.50\n')
    table = PricingTable(files=[prices], include_genai_prices=False)

    cost = table.price_usage("my-tts", Usage(characters=4_000))

    assert cost.total == 4_000 * Decimal("12.50") / Decimal(1_000_000)
    assert cost.components == {"characters": cost.total}
    assert cost.status == "ok"


def test_a_negative_character_price_is_refused(tmp_path: Path):
    """The field is validated like every price: the error names the file, entry and field."""
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."my-tts"]\ncharacters_mtok = -1\n')

    with pytest.raises(PricingFileError, match="characters_mtok"):
        PricingTable(files=[prices], include_genai_prices=False)


def test_tts_1_is_listed_with_its_character_price(capsys: pytest.CaptureFixture[str]):
    """`llmmeter models tts-1` shows the bundled per-character rates (OpenAI: $15 and $30 per 1M)."""
    assert main(["models", "tts-1"]) == 0

    output = capsys.readouterr().out
    assert "$15.00/1M characters" in output
    assert "$30.00/1M characters" in output


def test_price_takes_the_characters_of_a_speech_input() -> None:
    """``llmmeter.price(characters=...)``: tts-1 at $15.00 per 1M input characters, exactly."""
    cost = llmmeter.price("tts-1", characters=4_096)

    assert cost.total == 4_096 * Decimal("15.00") / Decimal(1_000_000)
    assert cost.components == {"characters": cost.total}
    assert cost.status == "ok"
