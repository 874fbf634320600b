"""OpenAI's Batch API rule across model families, and images billed per image (DALL-E, and GPT Image
answered without usage), checked against costs worked out by hand.

Sources:
- Batch: "Each model will be offered at 50% cost discount vs. the synchronous APIs"
  (https://help.openai.com/en/articles/9197833-batch-api-faq, "What is the pricing for the Batch API?").
  Standard rates per 1M tokens: text-embedding-3-large $0.13, text-embedding-3-small $0.02,
  text-embedding-ada-002 $0.10 (https://developers.openai.com/api/docs/models/text-embedding-3-large,
  "Embeddings, per 1M tokens", and /text-embedding-3-small, /text-embedding-ada-002); davinci-002 $2.00
  in and out (/davinci-002); fine-tuned gpt-4o-2024-08-06 $3.75 in, $15.00 out
  (https://openai.com/api/pricing/, "Fine-tuning").
- DALL-E 3, per image: standard 1024x1024 $0.040, 1024x1792 and 1792x1024 $0.080; HD 1024x1024
  $0.080, 1024x1792 and 1792x1024 $0.120. DALL-E 2: 256x256 $0.016, 512x512 $0.018, 1024x1024
  $0.020 (https://openai.com/api/pricing/, "Image generation"; both models now shut down,
  https://developers.openai.com/api/docs/models/dall-e-3).
- GPT Image 1, per image (https://developers.openai.com/api/docs/models/gpt-image-1, "Image
  generation, per image"): low 1024x1024 $0.011, 1024x1536 $0.016; medium $0.042 / $0.063; high
  $0.167 / $0.25. GPT Image 1 mini (/gpt-image-1-mini): medium 1024x1024 $0.011.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

import llmmeter
from llmmeter import PricingFileError, PricingTable, Usage
from llmmeter._cli import main

M = Decimal(1_000_000)


@pytest.mark.parametrize(
    ("model", "standard_mtok"),
    [
        ("text-embedding-3-large", Decimal("0.13")),
        ("text-embedding-3-small", Decimal("0.02")),
        ("text-embedding-ada-002", Decimal("0.10")),
    ],
)
def test_batch_embeddings_are_half_price(model: str, standard_mtok: Decimal) -> None:
    """Embeddings through the Batch API cost half the standard rate, priced ok."""
    cost = llmmeter.price(model, input_tokens=2_000_000, service_tier="batch")
    assert cost.status == "ok"
    assert cost.service_tier == "batch"
    assert cost.total == 2_000_000 * standard_mtok / 2 / M


def test_batch_legacy_completions_are_half_price() -> None:
    """davinci-002 in batch: $1.00 in and out instead of $2.00."""
    cost = llmmeter.price("davinci-002", input_tokens=1_000, output_tokens=500, service_tier="batch")
    assert cost.status == "ok"
    assert cost.total == (1_000 * Decimal("1.00") + 500 * Decimal("1.00")) / M


def test_batch_fine_tuned_model_is_half_its_own_rates() -> None:
    """A fine-tuned gpt-4o in batch: half the fine-tuned rates, never the base model's."""
    cost = llmmeter.price(
        "ft:gpt-4o-2024-08-06:acme::abc123", input_tokens=10_000, output_tokens=2_000, service_tier="batch"
    )
    assert cost.status == "ok"
    assert cost.model == "ft:gpt-4o"
    assert cost.total == (10_000 * Decimal("3.75") + 2_000 * Decimal("15.00")) / 2 / M


def test_standard_embeddings_keep_the_standard_rate() -> None:
    """Without a tier, text-embedding-3-large is $0.13 per 1M."""
    cost = llmmeter.price("text-embedding-3-large", input_tokens=1_000_000)
    assert cost.total == Decimal("0.13")


def test_a_user_entry_naming_its_provider_gets_the_providers_batch_rule(tmp_path: Path) -> None:
    """A pricing-file entry with provider = "openai" is priced in batch by OpenAI's rule."""
    path = tmp_path / "p.toml"
    path.write_text('[models."my-ft"]\nprovider = "openai"\ninput_mtok = 4\noutput_mtok = 8\n')
    cost = PricingTable(files=[path]).price_usage(
        "my-ft", Usage(input_tokens=1_000, output_tokens=1_000), service_tier="batch"
    )
    assert cost.status == "ok"
    assert cost.total == (1_000 * Decimal(2) + 1_000 * Decimal(4)) / M


def test_dall_e_3_hd_tall_and_standard_square_differ() -> None:
    """DALL-E 3 HD 1024x1792 is $0.120 an image, standard 1024x1024 $0.040."""
    hd = llmmeter.price("dall-e-3", images=3, size="1024x1792", quality="hd")
    standard = llmmeter.price("dall-e-3", images=3, size="1024x1024", quality="standard")
    assert (hd.status, standard.status) == ("ok", "ok")
    assert hd.total == 3 * Decimal("0.120")
    assert standard.total == 3 * Decimal("0.040")
    assert hd.components == {"images": 3 * Decimal("0.120")}


def test_dall_e_quality_and_size_are_read_in_any_case() -> None:
    """``HD`` and ``1792X1024`` name the same price as ``hd`` and ``1792x1024``."""
    cost = llmmeter.price("dall-e-3", images=1, size="1792X1024", quality="HD")
    assert cost.total == Decimal("0.120")


def test_dall_e_2_is_priced_by_size() -> None:
    """DALL-E 2 has one quality: two 256x256 images are $0.032."""
    cost = llmmeter.price("dall-e-2", images=2, size="256x256")
    assert cost.status == "ok"
    assert cost.total == 2 * Decimal("0.016")


def test_a_size_without_a_price_is_estimated_at_the_highest() -> None:
    """A DALL-E 2 size it has no price for is estimated at its priciest size, with the reason."""
    cost = llmmeter.price("dall-e-2", images=1, size="2048x2048")
    assert cost.status == "estimated"
    assert cost.total == Decimal("0.020")
    assert cost.reason == "dall-e-2 has no per-image price for size '2048x2048'; priced at 1024x1024"


def test_gpt_image_without_tokens_is_estimated_per_image() -> None:
    """GPT Image billed by the token but reporting none: its per-image price, estimated, with why."""
    cost = llmmeter.price("gpt-image-1", images=2, size="1024x1536", quality="medium")
    assert cost.status == "estimated"
    assert cost.total == 2 * Decimal("0.063")
    assert cost.reason == (
        "the response reported no token usage; estimated from gpt-image-1's per-image price "
        "(2 x medium 1024x1536)"
    )


def test_gpt_image_auto_quality_is_estimated_at_the_highest() -> None:
    """quality="auto" lets the model choose: estimated at its highest quality."""
    cost = llmmeter.price("gpt-image-1-mini", images=1, size="1024x1024", quality="auto")
    assert cost.status == "estimated"
    assert cost.total == Decimal("0.036")


def test_gpt_image_tokens_win_over_per_image_prices() -> None:
    """With token usage, GPT Image is billed by the token, its images not again per image."""
    cost = llmmeter.price("gpt-image-1", output_tokens=1_000, output_image_tokens=1_000, images=1)
    assert cost.status == "ok"
    assert cost.total == 1_000 * Decimal("40.00") / M


def test_cli_prices_images_as_price_does(capsys: pytest.CaptureFixture[str]) -> None:
    """`llmmeter price dall-e-3 --images 2 --size 1024x1792 --quality hd` agrees with price()."""
    code = main(["price", "dall-e-3", "--images", "2", "--size", "1024x1792", "--quality", "hd", "--json"])
    assert code == 0
    found = json.loads(capsys.readouterr().out)
    assert Decimal(found["total"]) == 2 * Decimal("0.120")
    assert found["charges"][0]["unit"] == "images"


def test_a_pricing_file_prices_images_per_quality_and_size(tmp_path: Path) -> None:
    """A user entry's image_by_quality prices images; its tiers inherit it."""
    path = tmp_path / "p.toml"
    path.write_text(
        '[models."my-painter"]\n'
        'image_by_quality.draft = { "512x512" = 0.01 }\n'
        'image_by_quality.final = { "512x512" = 0.05, "1024x1024" = 0.09 }\n'
    )
    table = PricingTable(files=[path])
    cost = table.price_usage("my-painter", Usage(images=4), size="1024x1024", quality="final")
    assert cost.total == 4 * Decimal("0.09")
    assert cost.status == "ok"


@pytest.mark.parametrize(
    ("body", "entry", "field"),
    [
        pytest.param(
            '[models."p"]\nimage_by_quality.hd = { "big" = 0.1 }\n',
            "p",
            "image_by_quality.hd",
            id="size not WxH",
        ),
        pytest.param(
            '[models."p"]\nimage_by_quality.hd = { "1024x1024" = -1 }\n',
            "p",
            "image_by_quality.hd.1024x1024",
            id="negative price",
        ),
        pytest.param(
            '[models."p"]\nimage_by_quality = 0.04\n',
            "p",
            "image_by_quality",
            id="not a table",
        ),
        pytest.param(
            '[models."gpt-image-1"]\nextends = "openai"\nprovider = "openai"\n',
            "gpt-image-1",
            "provider",
            id="provider on an extends entry",
        ),
        pytest.param(
            '[models."gpt-image-1"]\nextends = "openai"\n'
            '[models."gpt-image-1".long_context]\nthreshold = 1\n'
            'image_by_quality.hd = { "1024x1024" = 1 }\n',
            "gpt-image-1",
            "long_context.image_by_quality",
            id="per-image prices in an extends entry's long context",
        ),
    ],
)
def test_bad_per_image_prices_name_file_entry_and_field(
    tmp_path: Path, body: str, entry: str, field: str
) -> None:
    """A malformed per-image price fails at load, naming the file, the entry and the field."""
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(PricingFileError) as caught:
        PricingTable(files=[path])
    assert caught.value.path == str(path)
    assert caught.value.entry == entry
    assert caught.value.field is not None
    assert caught.value.field.startswith(field)
