"""Service tiers, long context and modalities, checked against costs worked out by hand.

Every expected cost is written out from the provider's published per-1M price and the token counts.
Rates and where they are published:

Anthropic, https://platform.claude.com/docs/en/about-claude/pricing ("Model pricing", "Batch
processing", "Long context pricing") and https://docs.anthropic.com/en/docs/build-with-claude/
batch-processing ("Pricing"): the Message Batches API is 50% of the standard price on every model,
the prompt-caching multipliers (read 0.1x, 5-minute write 1.25x, 1-hour write 2x the input rate)
stack with it, and above 200K input tokens -- input + cache reads + cache writes -- the 1M-context
models bill the WHOLE request at their long-context rates.
    Claude Opus 4.1     $15 in, $18.75 5m write, $30 1h write, $1.50 read, $75 out; batch $7.50 / $37.50
    Claude Sonnet 4     $3 / $3.75 / $6 / $0.30 / $15; batch $1.50 / $7.50; >200K $6 in, $22.50 out
    Claude Sonnet 4.5   as Sonnet 4
    Claude Sonnet 4.6   as Sonnet 4; the >200K premium was removed on 2026-03-13 (flat since)
    Claude Haiku 4.5    $1 / $1.25 / $2 / $0.10 / $5; batch $0.50 / $2.50
    Claude Haiku 3.5    $0.80 in, $4 out; batch $0.40 / $2
Google, https://ai.google.dev/gemini-api/docs/pricing#gemini-2.5-pro: Gemini 2.5 Pro $1.25 in,
$0.125 cached, $10 out up to 200K prompt tokens; $2.50 / $0.25 / $15 above.
OpenAI, https://developers.openai.com/api/docs/models/<model> (text / audio / image tokens, per 1M):
    gpt-realtime-1.5         text $4 in, $0.40 cached, $16 out; audio $32, $0.40 cached, $64 out;
                             image $5 in, $0.50 cached
    gpt-4o-realtime-preview  text $5 / $2.50 / $20; audio $40 / $2.50 / $80
    gpt-4o-audio-preview     text $2.50 in, $10 out; audio $40 in, $80 out
    gpt-image-1              text $5 in, $1.25 cached; image $10 in, $2.50 cached, $40 out;
                             batch (developers.openai.com/api/docs/pricing): text $2.50 in, image $20 out
    gpt-image-1-mini         text $2 in, $0.20 cached; image $2.50 in, $0.25 cached, $8 out
    gpt-image-1.5            text $5 in, $1.25 cached, $10 out; image $8 in, $2 cached, $32 out
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

import llmmeter
from llmmeter import PricingFileError, PricingTable, Usage
from llmmeter._usage import from_anthropic

M = 1_000_000


def per_m(price: str, tokens: int) -> Decimal:
    """``tokens`` at ``price`` USD per 1M tokens."""
    return Decimal(price) * tokens / M


# (model, price() arguments, expected total, status, price entry)
CASES = [
    # --- Anthropic Message Batches: half of every rate, cache rates included ----------------------
    pytest.param(
        "claude-opus-4-1-20250805",
        {
            "input_tokens": 10_000,
            "cache_read_tokens": 4_000,
            "cache_write_tokens": 2_000,
            "cache_write_1h_tokens": 1_000,
            "output_tokens": 1_000,
            "service_tier": "batch",
        },
        per_m("7.50", 3_000)
        + per_m("0.75", 4_000)
        + per_m("9.375", 2_000)
        + per_m("15.00", 1_000)
        + per_m("37.50", 1_000),
        "ok",
        "claude-opus-4-1",
        id="Opus 4.1 batch: half of input, cache reads, both cache writes and output",
    ),
    pytest.param(
        "claude-sonnet-4-20250514",
        {"input_tokens": 100_000, "output_tokens": 2_000, "service_tier": "batch"},
        per_m("1.50", 100_000) + per_m("7.50", 2_000),
        "ok",
        "claude-sonnet-4-0",
        id="Sonnet 4 batch $1.50 / $7.50",
    ),
    pytest.param(
        "claude-3-5-haiku-20241022",
        {"input_tokens": 50_000, "output_tokens": 5_000, "service_tier": "batch"},
        per_m("0.40", 50_000) + per_m("2.00", 5_000),
        "ok",
        "claude-3-5-haiku-latest",
        id="Haiku 3.5 batch $0.40 / $2",
    ),
    pytest.param(
        "claude-haiku-4-5",
        {
            "input_tokens": 20_000,
            "cache_read_tokens": 10_000,
            "output_tokens": 1_000,
            "service_tier": "batch",
        },
        per_m("0.50", 10_000) + per_m("0.05", 10_000) + per_m("2.50", 1_000),
        "ok",
        "claude-haiku-4-5",
        id="Haiku 4.5 batch, from genai-prices' own batch prices",
    ),
    pytest.param(
        "claude-haiku-4-5",
        {
            "input_tokens": 20_000,
            "cache_read_tokens": 10_000,
            "output_tokens": 1_000,
            "service_tier": "batch",
            "when": datetime(2026, 9, 1, tzinfo=UTC),
        },
        per_m("0.50", 10_000) + per_m("0.05", 10_000) + per_m("2.50", 1_000),
        "ok",
        "claude-haiku-4-5",
        id="Haiku 4.5 batch before genai-prices has batch prices: by Anthropic's rule, same cost",
    ),
    pytest.param(
        "claude-sonnet-4-20250514",
        {"input_tokens": 250_000, "output_tokens": 1_000, "service_tier": "batch"},
        per_m("3.00", 250_000) + per_m("11.25", 1_000),
        "ok",
        "claude-sonnet-4-0",
        id="Sonnet 4 batch above 200K: half of the long-context rates",
    ),
    pytest.param(
        "claude-sonnet-4-5",
        {"input_tokens": 250_000, "output_tokens": 1_000, "service_tier": "batch"},
        per_m("3.00", 250_000) + per_m("11.25", 1_000),
        "ok",
        "claude-sonnet-4-5",
        id="Sonnet 4.5 batch above 200K",
    ),
    # --- a tier without a price and without a rule: standard rates, estimated ----------------------
    pytest.param(
        "claude-opus-4-1",
        {"input_tokens": 1_000, "output_tokens": 1_000, "service_tier": "priority"},
        per_m("15.00", 1_000) + per_m("75.00", 1_000),
        "estimated",
        "claude-opus-4-1",
        id="Anthropic priority tier has no published per-token price: standard, estimated",
    ),
    pytest.param(
        "gpt-4o-audio-preview",
        {"input_tokens": 1_000, "output_tokens": 1_000, "service_tier": "flex"},
        per_m("2.50", 1_000) + per_m("10.00", 1_000),
        "estimated",
        "gpt-4o-audio-preview",
        id="OpenAI flex on a model without flex prices: standard, estimated",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 1_000, "output_tokens": 1_000, "service_tier": "turbo"},
        per_m("2.50", 1_000) + per_m("15.00", 1_000),
        "estimated",
        "gpt-5.4",
        id="an unknown tier name is never silently standard",
    ),
    # --- long context: the threshold counts all input; above it the whole request is dearer ---------
    pytest.param(
        "claude-sonnet-4-20250514",
        {"input_tokens": 200_000, "output_tokens": 1_000},
        per_m("3.00", 200_000) + per_m("15.00", 1_000),
        "ok",
        "claude-sonnet-4-0",
        id="Sonnet 4 exactly 200K input: base rates",
    ),
    pytest.param(
        "claude-sonnet-4-20250514",
        {"input_tokens": 200_001, "output_tokens": 1_000},
        per_m("6.00", 200_001) + per_m("22.50", 1_000),
        "ok",
        "claude-sonnet-4-0",
        id="Sonnet 4 200,001 input: long-context rates on the whole request",
    ),
    pytest.param(
        "claude-sonnet-4-5-20250929",
        {"input_tokens": 200_000, "output_tokens": 1_000},
        per_m("3.00", 200_000) + per_m("15.00", 1_000),
        "ok",
        "claude-sonnet-4-5",
        id="Sonnet 4.5 exactly 200K input: base rates",
    ),
    pytest.param(
        "claude-sonnet-4-5-20250929",
        {"input_tokens": 200_001, "output_tokens": 1_000},
        per_m("6.00", 200_001) + per_m("22.50", 1_000),
        "ok",
        "claude-sonnet-4-5",
        id="Sonnet 4.5 200,001 input: long-context rates on the whole request",
    ),
    pytest.param(
        "claude-sonnet-4-6",
        {"input_tokens": 250_000, "output_tokens": 1_000, "when": datetime(2026, 3, 12, 23, 59, tzinfo=UTC)},
        per_m("6.00", 250_000) + per_m("22.50", 1_000),
        "ok",
        "claude-sonnet-4-6",
        id="Sonnet 4.6 above 200K before 2026-03-13: long-context rates",
    ),
    pytest.param(
        "claude-sonnet-4-6",
        {"input_tokens": 250_000, "output_tokens": 1_000, "when": datetime(2026, 3, 13, tzinfo=UTC)},
        per_m("3.00", 250_000) + per_m("15.00", 1_000),
        "ok",
        "claude-sonnet-4-6",
        id="Sonnet 4.6 above 200K from 2026-03-13: flat rates",
    ),
    pytest.param(
        "gemini-2.5-pro",
        {"input_tokens": 200_000, "cache_read_tokens": 50_000, "output_tokens": 1_000},
        per_m("1.25", 150_000) + per_m("0.125", 50_000) + per_m("10.00", 1_000),
        "ok",
        "gemini-2.5-pro",
        id="Gemini 2.5 Pro exactly 200K prompt tokens: base rates",
    ),
    pytest.param(
        "gemini-2.5-pro",
        {"input_tokens": 200_001, "cache_read_tokens": 50_000, "output_tokens": 1_000},
        per_m("2.50", 150_001) + per_m("0.25", 50_000) + per_m("15.00", 1_000),
        "ok",
        "gemini-2.5-pro",
        id="Gemini 2.5 Pro 200,001 prompt tokens: the >200K rates on the whole request",
    ),
    # --- audio, image and cached modalities at their own rates --------------------------------------
    pytest.param(
        "gpt-realtime-1.5",
        {
            "input_tokens": 10_000,
            "input_audio_tokens": 6_000,
            "input_image_tokens": 1_000,
            "cache_read_tokens": 5_000,
            "cache_read_audio_tokens": 3_000,
            "cache_read_image_tokens": 500,
            "output_tokens": 2_000,
            "output_audio_tokens": 1_500,
        },
        per_m("4.00", 1_500)  # uncached text: 10,000 - 5,000 cached - 3,000 audio - 500 image
        + per_m("0.40", 1_500)  # cached text
        + per_m("0.40", 3_000)  # cached audio
        + per_m("0.50", 500)  # cached image
        + per_m("32.00", 3_000)  # uncached audio
        + per_m("5.00", 500)  # uncached image
        + per_m("16.00", 500)  # text output
        + per_m("64.00", 1_500),  # audio output
        "ok",
        "gpt-realtime",
        id="gpt-realtime-1.5 text, audio and image input, each cached part, audio output",
    ),
    pytest.param(
        "gpt-4o-realtime-preview",
        {
            "input_tokens": 4_000,
            "input_audio_tokens": 3_000,
            "cache_read_tokens": 2_000,
            "cache_read_audio_tokens": 1_500,
            "output_tokens": 1_000,
            "output_audio_tokens": 800,
        },
        per_m("5.00", 500)
        + per_m("2.50", 500)
        + per_m("2.50", 1_500)
        + per_m("40.00", 1_500)
        + per_m("20.00", 200)
        + per_m("80.00", 800),
        "ok",
        "gpt-4o-realtime-preview",
        id="gpt-4o-realtime-preview cached audio and audio output",
    ),
    pytest.param(
        "gpt-4o-audio-preview-2025-06-03",
        {
            "input_tokens": 3_000,
            "input_audio_tokens": 2_000,
            "output_tokens": 1_000,
            "output_audio_tokens": 900,
        },
        per_m("2.50", 1_000) + per_m("40.00", 2_000) + per_m("10.00", 100) + per_m("80.00", 900),
        "ok",
        "gpt-4o-audio-preview",
        id="gpt-4o-audio-preview audio at $40 / $80",
    ),
    pytest.param(
        "gpt-image-1",
        {
            "input_tokens": 1_000,
            "input_image_tokens": 600,
            "cache_read_tokens": 300,
            "cache_read_image_tokens": 200,
            "output_tokens": 5_000,
            "output_image_tokens": 5_000,
        },
        per_m("5.00", 300)
        + per_m("1.25", 100)
        + per_m("2.50", 200)
        + per_m("10.00", 400)
        + per_m("40.00", 5_000),
        "ok",
        "gpt-image-1",
        id="gpt-image-1 text and image input, cached of each, image output",
    ),
    pytest.param(
        "gpt-image-1",
        {
            "input_tokens": 1_000,
            "output_tokens": 5_000,
            "output_image_tokens": 5_000,
            "service_tier": "batch",
        },
        per_m("2.50", 1_000) + per_m("20.00", 5_000),
        "ok",
        "gpt-image-1",
        id="gpt-image-1 batch: image output at the batch rate ($20)",
    ),
    pytest.param(
        "gpt-image-1-mini",
        {
            "input_tokens": 1_000,
            "input_image_tokens": 400,
            "output_tokens": 4_000,
            "output_image_tokens": 4_000,
        },
        per_m("2.00", 600) + per_m("2.50", 400) + per_m("8.00", 4_000),
        "ok",
        "gpt-image-1-mini",
        id="gpt-image-1-mini image output at $8",
    ),
    pytest.param(
        "gpt-image-1.5",
        {
            "input_tokens": 2_000,
            "input_image_tokens": 1_000,
            "cache_read_tokens": 500,
            "cache_read_image_tokens": 500,
            "output_tokens": 3_000,
            "output_image_tokens": 2_500,
        },
        per_m("5.00", 1_000)
        + per_m("2.00", 500)
        + per_m("8.00", 500)
        + per_m("10.00", 500)
        + per_m("32.00", 2_500),
        "ok",
        "gpt-image-1.5",
        id="gpt-image-1.5 text output and image output at their own rates",
    ),
    # --- a modality without a rate of its own: another rate, estimated -------------------------------
    pytest.param(
        "gpt-4o",
        {"input_tokens": 1_000, "input_audio_tokens": 400, "output_tokens": 100},
        per_m("2.50", 1_000) + per_m("10.00", 100),
        "estimated",
        "gpt-4o",
        id="audio on a model without an audio rate: the text rate, estimated",
    ),
    pytest.param(
        "gpt-4o-realtime-preview",
        {
            "input_tokens": 1_000,
            "input_image_tokens": 400,
            "cache_read_tokens": 200,
            "cache_read_image_tokens": 200,
        },
        per_m("5.00", 600) + per_m("2.50", 200) + per_m("5.00", 200),
        "estimated",
        "gpt-4o-realtime-preview",
        id="cached image without an image rate: the cache rate, estimated",
    ),
]


@pytest.mark.parametrize(("model", "usage", "expected", "status", "entry"), CASES)
def test_price(model: str, usage: dict[str, Any], expected: Decimal, status: str, entry: str) -> None:
    """llmmeter.price gives the hand-computed cost, status and entry."""
    cost = llmmeter.price(model, **usage)
    assert cost.total == expected
    assert cost.status == status
    assert cost.model == entry
    assert (cost.reason is None) == (status == "ok")


def test_estimated_tier_says_why() -> None:
    """A tier that is neither priced nor covered by a rule names itself in the reason."""
    cost = llmmeter.price("claude-opus-4-1", input_tokens=1_000, service_tier="priority")
    assert cost.service_tier == "standard"
    assert cost.reason == "claude-opus-4-1 has no priority price; priced at the standard rates"


def test_modality_fallback_says_why() -> None:
    """A part billed at another modality's rate names the part in the reason."""
    cost = llmmeter.price("gpt-4o", input_tokens=1_000, input_audio_tokens=400)
    assert cost.reason == "gpt-4o has no input_audio price; those tokens are billed at another rate"


def test_batch_tier_reported_by_the_rule() -> None:
    """A batch call priced by Anthropic's rule reports the batch tier."""
    cost = llmmeter.price("claude-opus-4-1", input_tokens=1_000, service_tier="batch")
    assert cost.service_tier == "batch"
    assert cost.total == per_m("7.50", 1_000)


@pytest.mark.parametrize(
    ("input_tokens", "expected_rates"),
    [
        pytest.param(150_000, ("3.00", "0.30", "3.75", "6.00", "15.00"), id="200,000 in all: base"),
        pytest.param(150_001, ("6.00", "0.60", "7.50", "12.00", "22.50"), id="200,001 in all: long context"),
    ],
)
def test_anthropic_threshold_counts_cache_reads_and_writes(
    input_tokens: int, expected_rates: tuple[str, str, str, str, str]
) -> None:
    """Anthropic's uncached input_tokens plus cache reads and writes decide the long-context rates."""
    usage = from_anthropic(
        {
            "input_tokens": input_tokens,
            "cache_read_input_tokens": 30_000,
            "cache_creation_input_tokens": 20_000,
            "cache_creation": {"ephemeral_5m_input_tokens": 15_000, "ephemeral_1h_input_tokens": 5_000},
            "output_tokens": 1_000,
        }
    )
    uncached, read, write_5m, write_1h, output = expected_rates
    for model in ("claude-sonnet-4-20250514", "claude-sonnet-4-5"):
        cost = PricingTable().price_usage(model, usage, provider="anthropic")
        assert cost.total == (
            per_m(uncached, input_tokens)
            + per_m(read, 30_000)
            + per_m(write_5m, 15_000)
            + per_m(write_1h, 5_000)
            + per_m(output, 1_000)
        ), model
        assert cost.status == "ok"


def test_anthropic_batch_result_usage_prices_at_half() -> None:
    """A Message Batches result reports service_tier "batch" in its usage: half price."""
    reported = {"input_tokens": 1_000, "output_tokens": 500, "service_tier": "batch"}
    cost = PricingTable().price_usage(
        "claude-sonnet-4-20250514", from_anthropic(reported), provider="anthropic", service_tier="batch"
    )
    assert cost.total == per_m("1.50", 1_000) + per_m("7.50", 500)


def test_supplement_additions_keep_genai_prices_rates() -> None:
    """An extends entry adds rates: the genai-prices rates it does not set are kept."""
    entry = PricingTable().resolve("claude-sonnet-4-0", "anthropic")
    assert entry is not None
    assert entry.source == "genai-prices"
    assert entry.standard.per_million("input") == Decimal("3")
    assert entry.standard.per_million("cache_write_1h") == Decimal("6")
    assert entry.origin is not None
    assert entry.origin.endswith("supplement.toml")


def test_user_extends_entry_adds_a_long_context_tier(tmp_path: Any) -> None:
    """A user's pricing file can add a long-context tier to a genai-prices entry without replacing it."""
    path = tmp_path / "prices.toml"
    path.write_text(
        '[models."claude-opus-4-1"]\nextends = "anthropic"\n'
        '[models."claude-opus-4-1".long_context]\nthreshold = 100000\ninput_mtok = 30\n'
    )
    table = PricingTable(files=[path])
    long = table.price_usage("claude-opus-4-1", Usage(input_tokens=100_001, output_tokens=10))
    short = table.price_usage("claude-opus-4-1", Usage(input_tokens=100_000, output_tokens=10))
    assert long.total == per_m("30", 100_001) + per_m("75", 10)
    assert short.total == per_m("15", 100_000) + per_m("75", 10)


def test_user_provider_rule(tmp_path: Any) -> None:
    """A user's pricing file can add a provider rule for a tier genai-prices lacks."""
    path = tmp_path / "prices.toml"
    path.write_text("[providers.anthropic.tier_multipliers]\npriority = 1.25\n")
    cost = PricingTable(files=[path]).price_usage(
        "claude-opus-4-1", Usage(input_tokens=1_000), service_tier="priority"
    )
    assert cost.total == per_m("18.75", 1_000)
    assert cost.status == "ok"


def test_images_without_a_per_image_price_are_never_zero() -> None:
    """A per-image count on an entry with no per-image price is left out and flagged, not $0 ok."""
    # gpt-image-1.5: text input $5.00 per 1M (https://developers.openai.com/api/docs/pricing); no
    # per-image price is compiled for it.
    only_images = llmmeter.price("gpt-image-1.5", images=2)
    assert only_images.total is None
    assert only_images.status == "unknown_model"
    with_tokens = llmmeter.price("gpt-image-1.5", input_tokens=1_000, images=2)
    assert with_tokens.total == per_m("5.00", 1_000)
    assert with_tokens.status == "estimated"
    assert with_tokens.reason == "gpt-image-1.5 has no images price; that part of its cost is left out"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param('aliases = ["x"]\n', "aliases", id="aliases"),
        pytest.param(
            'tiers.batch.video_second_by_size = { "720x1280" = 1 }\n',
            "tiers.batch.video_second_by_size",
            id="video sizes in a tier",
        ),
    ],
)
def test_extends_entry_refuses_what_it_cannot_add(tmp_path: Any, body: str, field: str) -> None:
    """An extends entry with fields it cannot add fails at load, naming the file, entry and field."""
    path = tmp_path / "prices.toml"
    path.write_text('[models."claude-opus-4-1"]\nextends = "anthropic"\n' + body)
    with pytest.raises(PricingFileError) as caught:
        PricingTable(files=[path])
    assert (caught.value.path, caught.value.entry, caught.value.field) == (
        str(path),
        "claude-opus-4-1",
        field,
    )


def test_tier_multiplier_must_be_a_number(tmp_path: Any) -> None:
    """A provider rule's multiplier is validated like any price."""
    path = tmp_path / "prices.toml"
    path.write_text('[providers.anthropic.tier_multipliers]\nbatch = "half"\n')
    with pytest.raises(PricingFileError) as caught:
        PricingTable(files=[path])
    assert caught.value.field == "providers.anthropic.tier_multipliers.batch"
    assert caught.value.problem == "expected a number, got str"
