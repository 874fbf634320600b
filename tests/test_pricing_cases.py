"""Pricing rules, checked against costs worked out by hand from the providers' published prices.

Every expected cost below is written out from the per-1M (or per-second) price and the token
counts, never copied from llmmeter's output.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest

import llmmeter
from llmmeter import PricingTable, Usage

M = 1_000_000


def per_m(price: str, tokens: int) -> Decimal:
    """``tokens`` at ``price`` USD per 1M tokens."""
    return Decimal(price) * tokens / M


CASES = [
    # --- GPT-5.4: $2.50 input, $0.25 cached, $15.00 output ----------------------------------------
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 20_000, "output_tokens": 3_000},
        per_m("2.50", 20_000) + per_m("15.00", 3_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 input and output",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 120_000, "cache_read_tokens": 100_000, "output_tokens": 2_000},
        per_m("2.50", 20_000) + per_m("0.25", 100_000) + per_m("15.00", 2_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 cached input billed once at the cache rate",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 1_000, "output_tokens": 5_000, "reasoning_tokens": 4_000},
        per_m("2.50", 1_000) + per_m("15.00", 5_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 reasoning inside output",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 300_000, "cache_read_tokens": 100_000, "output_tokens": 10_000},
        per_m("5.00", 200_000) + per_m("0.50", 100_000) + per_m("22.50", 10_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 long context rates for the whole request",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 272_000, "output_tokens": 1_000},
        per_m("2.50", 272_000) + per_m("15.00", 1_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 exactly 272K input is not long context",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 272_001, "output_tokens": 1_000},
        per_m("5.00", 272_001) + per_m("22.50", 1_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 one token over 272K is long context",
    ),
    pytest.param(
        "gpt-5.4",
        {
            "input_tokens": 10_000,
            "cache_read_tokens": 4_000,
            "output_tokens": 1_000,
            "service_tier": "priority",
        },
        per_m("5.00", 6_000) + per_m("0.50", 4_000) + per_m("30.00", 1_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 priority tier",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 10_000, "cache_read_tokens": 4_000, "output_tokens": 1_000, "service_tier": "fast"},
        per_m("5.00", 6_000) + per_m("0.50", 4_000) + per_m("30.00", 1_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 fast is priority",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 10_000, "output_tokens": 1_000, "service_tier": "flex"},
        per_m("1.25", 10_000) + per_m("7.50", 1_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 flex half price",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 10_000, "output_tokens": 1_000, "service_tier": "batch"},
        per_m("1.25", 10_000) + per_m("7.50", 1_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 batch half price",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 10_000, "output_tokens": 1_000, "service_tier": "default"},
        per_m("2.50", 10_000) + per_m("15.00", 1_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 default tier is standard",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 10_000, "output_tokens": 1_000, "service_tier": "auto"},
        per_m("2.50", 10_000) + per_m("15.00", 1_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 auto tier is standard",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 10_000, "output_tokens": 1_000, "service_tier": "scale"},
        per_m("2.50", 10_000) + per_m("15.00", 1_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 scale tier is standard",
    ),
    pytest.param(
        "gpt-5.4-2026-03-05",
        {"input_tokens": 10_000, "output_tokens": 1_000},
        per_m("2.50", 10_000) + per_m("15.00", 1_000),
        "ok",
        "gpt-5.4",
        id="gpt-5.4 dated snapshot resolves to the alias",
    ),
    pytest.param(
        "GPT-5.4",
        {"input_tokens": 10_000, "output_tokens": 1_000},
        per_m("2.50", 10_000) + per_m("15.00", 1_000),
        "ok",
        "gpt-5.4",
        id="model names are case-insensitive",
    ),
    pytest.param(
        "openai/gpt-5.4",
        {"input_tokens": 10_000, "output_tokens": 1_000},
        per_m("2.50", 10_000) + per_m("15.00", 1_000),
        "ok",
        "gpt-5.4",
        id="openai/ provider prefix",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 10_000, "cache_write_tokens": 4_000, "output_tokens": 100},
        per_m("2.50", 10_000) + per_m("15.00", 100),
        "ok",
        "gpt-5.4",
        id="openai cache writes cost the input rate",
    ),
    pytest.param(
        "gpt-5.4",
        {"input_tokens": 1_000, "input_audio_tokens": 1_000},
        per_m("2.50", 1_000),
        "estimated",
        "gpt-5.4",
        id="audio without its own rate falls back to the text rate, estimated",
    ),
    # --- GPT-5 mini: $0.25 input, $0.025 cached, $2.00 output ------------------------------------
    pytest.param(
        "gpt-5-mini",
        {"input_tokens": 100_000, "output_tokens": 20_000},
        per_m("0.25", 100_000) + per_m("2.00", 20_000),
        "ok",
        "gpt-5-mini",
        id="gpt-5-mini input and output",
    ),
    pytest.param(
        "gpt-5-mini",
        {"input_tokens": 100_000, "cache_read_tokens": 50_000, "output_tokens": 1_000},
        per_m("0.25", 50_000) + per_m("0.025", 50_000) + per_m("2.00", 1_000),
        "ok",
        "gpt-5-mini",
        id="gpt-5-mini cached input",
    ),
    pytest.param(
        "gpt-5-mini",
        {"input_tokens": 100_000, "output_tokens": 20_000, "service_tier": "flex"},
        per_m("0.125", 100_000) + per_m("1.00", 20_000),
        "ok",
        "gpt-5-mini",
        id="gpt-5-mini flex half price",
    ),
    # --- fine-tuned models (llmmeter's supplement) -------------------------------------------------
    pytest.param(
        "ft:gpt-4.1-2025-04-14:acme::abc123",
        {"input_tokens": 10_000, "cache_read_tokens": 2_000, "output_tokens": 1_000},
        per_m("3.00", 8_000) + per_m("0.75", 2_000) + per_m("12.00", 1_000),
        "ok",
        "ft:gpt-4.1",
        id="fine-tuned gpt-4.1 inference",
    ),
    pytest.param(
        "ft:gpt-4.1-2025-04-14:acme::abc123",
        {"training_tokens": 2_000_000},
        Decimal("25.00") * 2,
        "ok",
        "ft:gpt-4.1",
        id="fine-tuned gpt-4.1 training",
    ),
    pytest.param(
        "ft:gpt-4.1-mini-2025-04-14:acme::abc123",
        {
            "input_tokens": 10_000,
            "cache_read_tokens": 2_000,
            "output_tokens": 1_000,
            "training_tokens": 1_000,
        },
        per_m("0.80", 8_000) + per_m("0.20", 2_000) + per_m("3.20", 1_000) + per_m("5.00", 1_000),
        "ok",
        "ft:gpt-4.1-mini",
        id="fine-tuned gpt-4.1-mini",
    ),
    pytest.param(
        "ft:gpt-4.1-nano-2025-04-14:acme::abc123",
        {
            "input_tokens": 10_000,
            "cache_read_tokens": 2_000,
            "output_tokens": 1_000,
            "training_tokens": 1_000,
        },
        per_m("0.20", 8_000) + per_m("0.05", 2_000) + per_m("0.80", 1_000) + per_m("1.50", 1_000),
        "ok",
        "ft:gpt-4.1-nano",
        id="fine-tuned gpt-4.1-nano",
    ),
    pytest.param(
        "ft:gpt-4o-2024-08-06:acme::abc123",
        {
            "input_tokens": 10_000,
            "cache_read_tokens": 2_000,
            "output_tokens": 1_000,
            "training_tokens": 1_000,
        },
        per_m("3.75", 8_000) + per_m("1.875", 2_000) + per_m("15.00", 1_000) + per_m("25.00", 1_000),
        "ok",
        "ft:gpt-4o",
        id="fine-tuned gpt-4o",
    ),
    pytest.param(
        "ft:gpt-4o-mini-2024-07-18:acme::abc123",
        {
            "input_tokens": 10_000,
            "cache_read_tokens": 2_000,
            "output_tokens": 1_000,
            "training_tokens": 1_000,
        },
        per_m("0.30", 8_000) + per_m("0.15", 2_000) + per_m("1.20", 1_000) + per_m("3.00", 1_000),
        "ok",
        "ft:gpt-4o-mini",
        id="fine-tuned gpt-4o-mini",
    ),
    pytest.param(
        "ft:o4-mini-2025-04-16:acme::abc123",
        {"input_tokens": 10_000, "cache_read_tokens": 2_000, "output_tokens": 1_000},
        per_m("4.00", 8_000) + per_m("1.00", 2_000) + per_m("16.00", 1_000),
        "ok",
        "ft:o4-mini",
        id="fine-tuned o4-mini inference",
    ),
    pytest.param(
        "ft:o4-mini-2025-04-16:acme::abc123",
        {"seconds": 2 * 3600},
        Decimal("100.00") * 2,
        "ok",
        "ft:o4-mini",
        id="fine-tuned o4-mini training at $100 per hour",
    ),
    pytest.param(
        "ft:gpt-4.1-mini:acme::abc123",
        {"input_tokens": 1_000},
        per_m("0.80", 1_000),
        "ok",
        "ft:gpt-4.1-mini",
        id="fine-tuned name without a snapshot date",
    ),
    # --- audio and image tokens --------------------------------------------------------------------
    pytest.param(
        "gpt-realtime-1.5",
        {"input_tokens": 1_000_000, "input_audio_tokens": 1_000_000},
        Decimal("32.00"),
        "ok",
        "gpt-realtime",
        id="gpt-realtime-1.5 audio input $32 per 1M",
    ),
    pytest.param(
        "gpt-realtime-1.5",
        {
            "input_tokens": 10_000,
            "input_audio_tokens": 8_000,
            "output_tokens": 500,
            "output_audio_tokens": 400,
        },
        per_m("4.00", 2_000) + per_m("32.00", 8_000) + per_m("16.00", 100) + per_m("64.00", 400),
        "ok",
        "gpt-realtime",
        id="gpt-realtime-1.5 text and audio parts at their own rates",
    ),
    pytest.param(
        "gpt-image-1.5",
        {"input_tokens": 1_000_000},
        Decimal("5.00"),
        "ok",
        "gpt-image-1.5",
        id="gpt-image-1.5 text input $5 per 1M",
    ),
    pytest.param(
        "gpt-image-1.5",
        {
            "input_tokens": 2_000,
            "input_image_tokens": 1_500,
            "output_tokens": 4_000,
            "output_image_tokens": 4_000,
        },
        per_m("5.00", 500) + per_m("8.00", 1_500) + per_m("32.00", 4_000),
        "ok",
        "gpt-image-1.5",
        id="gpt-image-1.5 image input and output",
    ),
    # --- video, per second (llmmeter's supplement) ---------------------------------------------------
    pytest.param(
        "sora-2", {"seconds": 10}, Decimal("0.10") * 10, "ok", "sora-2", id="sora-2 $0.10 per second"
    ),
    pytest.param(
        "sora-2",
        {"seconds": 4.5},
        Decimal("0.10") * Decimal("4.5"),
        "ok",
        "sora-2",
        id="sora-2 fractional seconds",
    ),
    pytest.param(
        "sora-2-pro",
        {"seconds": 8, "size": "720x1280"},
        Decimal("0.30") * 8,
        "ok",
        "sora-2-pro",
        id="sora-2-pro 720x1280 $0.30 per second",
    ),
    pytest.param(
        "sora-2-pro",
        {"seconds": 8, "size": "1280x720"},
        Decimal("0.30") * 8,
        "ok",
        "sora-2-pro",
        id="sora-2-pro 1280x720 $0.30 per second",
    ),
    pytest.param(
        "sora-2-pro",
        {"seconds": 8, "size": "1024x1792"},
        Decimal("0.50") * 8,
        "ok",
        "sora-2-pro",
        id="sora-2-pro 1024x1792 $0.50 per second",
    ),
    pytest.param(
        "sora-2-pro",
        {"seconds": 12, "size": "1792X1024"},
        Decimal("0.50") * 12,
        "ok",
        "sora-2-pro",
        id="sora-2-pro 1792x1024 $0.50 per second",
    ),
    pytest.param(
        "sora-2-pro",
        {"seconds": 4},
        Decimal("0.30") * 4,
        "ok",
        "sora-2-pro",
        id="sora-2-pro default size is 720p",
    ),
    pytest.param(
        "sora-2-pro",
        {"seconds": 4, "size": "512x512"},
        Decimal("0.30") * 4,
        "estimated",
        "sora-2-pro",
        id="sora-2-pro unknown size is estimated at the default rate",
    ),
    pytest.param(
        "whisper-1",
        {"seconds": 90},
        Decimal("0.36") * 90 / 3600,
        "ok",
        "whisper-1",
        id="whisper-1 audio billed by time",
    ),
    # --- dated snapshots, prefixes, providers --------------------------------------------------------
    pytest.param(
        "gpt-4o-2024-05-13",
        {"input_tokens": 1_000, "output_tokens": 1_000},
        per_m("5.00", 1_000) + per_m("15.00", 1_000),
        "ok",
        "gpt-4o-2024-05-13",
        id="gpt-4o-2024-05-13 has its own entry",
    ),
    pytest.param(
        "gpt-4o",
        {"input_tokens": 2_000, "cache_read_tokens": 1_000, "output_tokens": 1_000},
        per_m("2.50", 1_000) + per_m("1.25", 1_000) + per_m("10.00", 1_000),
        "ok",
        "gpt-4o",
        id="gpt-4o",
    ),
    pytest.param(
        "gpt-4o-2024-08-06",
        {"input_tokens": 1_000, "output_tokens": 1_000},
        per_m("2.50", 1_000) + per_m("10.00", 1_000),
        "ok",
        "gpt-4o",
        id="gpt-4o-2024-08-06 resolves to gpt-4o",
    ),
    pytest.param(
        "azure/gpt-4o",
        {"input_tokens": 1_000, "output_tokens": 1_000},
        per_m("2.50", 1_000) + per_m("10.00", 1_000),
        "ok",
        "gpt-4o",
        id="azure/ provider prefix",
    ),
    pytest.param(
        "gpt-4o",
        {"input_tokens": 1_000, "output_tokens": 1_000, "provider": "azure.ai.openai"},
        per_m("2.50", 1_000) + per_m("10.00", 1_000),
        "ok",
        "gpt-4o",
        id="azure.ai.openai provider hint",
    ),
    pytest.param(
        "gpt-4.1",
        {"input_tokens": 10_000, "output_tokens": 1_000, "service_tier": "batch"},
        per_m("1.00", 10_000) + per_m("4.00", 1_000),
        "ok",
        "gpt-4.1",
        id="gpt-4.1 batch half price",
    ),
    pytest.param(
        "o3",
        {"input_tokens": 1_000, "output_tokens": 10_000, "reasoning_tokens": 9_000},
        per_m("2.00", 1_000) + per_m("8.00", 10_000),
        "ok",
        "o3",
        id="o3 reasoning billed as output, not on top",
    ),
    # --- Anthropic: cache writes at their own rates ----------------------------------------------------
    pytest.param(
        "claude-sonnet-4-5",
        {
            "input_tokens": 1_000 + 2_000 + 3_000 + 4_000,
            "cache_read_tokens": 2_000,
            "cache_write_tokens": 3_000,
            "cache_write_1h_tokens": 4_000,
            "output_tokens": 500,
        },
        per_m("3.00", 1_000)
        + per_m("0.30", 2_000)
        + per_m("3.75", 3_000)
        + per_m("6.00", 4_000)
        + per_m("15.00", 500),
        "ok",
        "claude-sonnet-4-5",
        id="claude-sonnet-4-5 cache reads and 5-minute and 1-hour writes",
    ),
    pytest.param(
        "claude-opus-4-1",
        {
            "input_tokens": 10_000,
            "cache_read_tokens": 5_000,
            "cache_write_tokens": 2_000,
            "cache_write_1h_tokens": 1_000,
            "output_tokens": 1_000,
        },
        per_m("15.00", 2_000)
        + per_m("1.50", 5_000)
        + per_m("18.75", 2_000)
        + per_m("30.00", 1_000)
        + per_m("75.00", 1_000),
        "ok",
        "claude-opus-4-1",
        id="claude-opus-4-1 cache writes",
    ),
    pytest.param(
        "claude-sonnet-4-5-20250929",
        {"input_tokens": 1_000, "output_tokens": 100},
        per_m("3.00", 1_000) + per_m("15.00", 100),
        "ok",
        "claude-sonnet-4-5",
        id="anthropic dated snapshot",
    ),
    pytest.param(
        "anthropic/claude-sonnet-4-5",
        {"input_tokens": 1_000, "output_tokens": 100},
        per_m("3.00", 1_000) + per_m("15.00", 100),
        "ok",
        "claude-sonnet-4-5",
        id="anthropic/ provider prefix",
    ),
    pytest.param(
        "claude-sonnet-4-5",
        {"input_tokens": 250_000, "output_tokens": 1_000},
        per_m("6.00", 250_000) + per_m("22.50", 1_000),
        "ok",
        "claude-sonnet-4-5",
        id="claude-sonnet-4-5 long context over 200K",
    ),
    # --- Names that need no provider hint (openai.com/api/pricing: embeddings $0.02 and $0.13 per
    # 1M tokens; codex-mini-latest $1.50 input, $6.00 output) -------------------------------------
    pytest.param(
        "text-embedding-3-small",
        {"input_tokens": 2_500_000},
        per_m("0.02", 2_500_000),
        "ok",
        "text-embedding-3-small",
        id="bare text-embedding-3-small resolves without a provider hint",
    ),
    pytest.param(
        "text-embedding-3-large",
        {"input_tokens": 40_000},
        per_m("0.13", 40_000),
        "ok",
        "text-embedding-3-large",
        id="bare text-embedding-3-large resolves without a provider hint",
    ),
    pytest.param(
        "codex-mini-latest",
        {"input_tokens": 10_000, "output_tokens": 2_000},
        per_m("1.50", 10_000) + per_m("6.00", 2_000),
        "ok",
        "codex-mini",
        id="bare codex-mini-latest resolves without a provider hint",
    ),
]


@pytest.mark.parametrize(("model", "usage", "expected", "status", "entry"), CASES)
def test_price(model: str, usage: dict[str, Any], expected: Decimal, status: str, entry: str) -> None:
    """llmmeter.price gives the hand-computed cost, status and entry."""
    cost = llmmeter.price(model, **usage)
    assert cost.total == expected
    assert isinstance(cost.total, Decimal)
    assert cost.status == status
    assert cost.model == entry


def test_there_are_at_least_forty_cases() -> None:
    """The case table stays large enough to cover every rule."""
    assert len(CASES) >= 40


def test_components_sum_to_the_total() -> None:
    """Each priced part appears once in components, and they add up to the total."""
    cost = llmmeter.price("gpt-5.4", input_tokens=120_000, cache_read_tokens=100_000, output_tokens=2_000)
    assert cost.components == {
        "input": per_m("2.50", 20_000),
        "cache_read": per_m("0.25", 100_000),
        "output": per_m("15.00", 2_000),
    }
    assert sum(cost.components.values()) == cost.total


def test_fine_tuned_model_is_not_priced_as_its_base_model() -> None:
    """ft:gpt-4.1 is neither gpt-4.1's rates nor free."""
    tuned = llmmeter.price("ft:gpt-4.1-2025-04-14:org::id", input_tokens=1_000_000)
    base = llmmeter.price("gpt-4.1", input_tokens=1_000_000)
    assert tuned.total == Decimal("3.00")
    assert base.total == Decimal("2.00")


def test_unknown_fine_tune_base_is_unknown() -> None:
    """A fine-tune of a model without fine-tuned prices is unknown, not its base model's price."""
    cost = llmmeter.price("ft:gpt-4-0613:org::id", input_tokens=1_000)
    assert cost.total is None
    assert cost.status == "unknown_model"


def test_unknown_model_has_no_total() -> None:
    """An unknown model is unknown, never $0."""
    cost = llmmeter.price("no-such-model-xyz", input_tokens=1_000, output_tokens=10)
    assert cost.total is None
    assert cost.status == "unknown_model"
    assert cost.components == {}
    assert cost.model is None


def test_unknown_model_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    """An unknown model is logged once, however often it is priced."""
    table = PricingTable()
    with caplog.at_level(logging.WARNING, logger="llmmeter"):
        for _ in range(3):
            table.price_usage("mystery-model-1", Usage(input_tokens=10))
    warnings = [record for record in caplog.records if "mystery-model-1" in record.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].name == "llmmeter"


def test_each_unknown_model_warns(caplog: pytest.LogCaptureFixture) -> None:
    """Two unknown models give two warnings, one per name."""
    table = PricingTable()
    with caplog.at_level(logging.WARNING, logger="llmmeter"):
        for model in ("mystery-a", "mystery-b", "mystery-a"):
            table.price_usage(model, Usage(input_tokens=1))
    named = [("'mystery-a'" in r.getMessage(), "'mystery-b'" in r.getMessage()) for r in caplog.records]
    assert named == [(True, False), (False, True)]


def test_empty_usage_is_no_usage() -> None:
    """A known model with nothing reported has no total, never a zero presented as real."""
    cost = llmmeter.price("gpt-5.4")
    assert cost.total is None
    assert cost.status == "no_usage"
    assert cost.model == "gpt-5.4"


def test_service_tier_reports_the_prices_applied() -> None:
    """Cost.service_tier names the tier whose prices were used."""
    assert llmmeter.price("gpt-5.4", input_tokens=1, service_tier="fast").service_tier == "priority"
    assert llmmeter.price("gpt-5.4", input_tokens=1, service_tier=None).service_tier == "standard"


def test_tier_not_offered_bills_standard() -> None:
    """A tier the model has no prices for is billed at standard prices, estimated, and says why."""
    cost = llmmeter.price("gpt-4o-2024-05-13", input_tokens=1_000_000, service_tier="flex")
    assert cost.total == Decimal("5.00")
    assert cost.service_tier == "standard"
    assert cost.status == "estimated"
    assert cost.reason == "gpt-4o-2024-05-13 has no flex price; priced at the standard rates"


def test_parts_larger_than_total_are_estimated_never_negative() -> None:
    """Cached tokens beyond the input total (Anthropic-style counts) never give a negative part."""
    cost = llmmeter.price("gpt-5.4", input_tokens=100, cache_read_tokens=200_000)
    assert cost.status == "estimated"
    assert cost.total == per_m("0.25", 200_000)
    assert all(value >= 0 for value in cost.components.values())


def test_deployment_name_resolves_to_its_model() -> None:
    """An Azure deployment name is priced as the model it deploys."""
    table = PricingTable(deployments={"my-prod-4o": "gpt-4o"})
    cost = table.price_usage("my-prod-4o", Usage(input_tokens=1_000_000), provider="azure.ai.openai")
    assert cost.total == Decimal("2.50")
    assert cost.model == "gpt-4o"


def test_resolution_is_cached() -> None:
    """Resolving the same model twice gives the same entry object."""
    table = PricingTable()
    assert table.resolve("gpt-5.4") is table.resolve("gpt-5.4")


def test_source_names_the_layer() -> None:
    """Cost.source says which layer priced the call."""
    assert llmmeter.price("sora-2", seconds=1).source == "llmmeter"
    assert llmmeter.price("gpt-5.4", input_tokens=1).source == "genai-prices"


def test_unknown_provider_is_no_hint() -> None:
    """A provider name genai-prices does not know does not stop the lookup."""
    cost = llmmeter.price("gpt-5.4", input_tokens=100_000, provider="some.gateway")
    assert cost.total == per_m("2.50", 100_000)


def test_one_hour_writes_without_their_own_rate_are_estimated() -> None:
    """1-hour cache writes fall back to the 5-minute write rate, and the cost says it is estimated."""
    table = PricingTable(overrides={"m": {"input_mtok": 1, "cache_write_mtok": 2}})
    cost = table.price_usage("m", Usage(input_tokens=1_000_000, cache_write_1h_tokens=1_000_000))
    assert cost.total == Decimal("2")
    assert cost.status == "estimated"


def test_reasoning_with_its_own_rate_is_billed_apart() -> None:
    """An entry with output_reasoning_mtok bills reasoning at that rate and the rest of output at its own."""
    table = PricingTable(overrides={"m": {"output_mtok": 10, "output_reasoning_mtok": 5}})
    cost = table.price_usage("m", Usage(output_tokens=1_000_000, reasoning_tokens=400_000))
    assert cost.components == {"output": Decimal("6"), "reasoning": Decimal("2")}


def test_part_without_any_rate_is_left_out_and_estimated() -> None:
    """Training tokens on a model with no training price are not guessed: the rest is priced, estimated."""
    cost = llmmeter.price("gpt-5.4", input_tokens=100_000, training_tokens=1_000)
    assert cost.total == per_m("2.50", 100_000)
    assert cost.status == "estimated"
    assert "training" not in cost.components


def test_nothing_priceable_is_unknown() -> None:
    """A usage whose only part has no price anywhere has no total."""
    cost = llmmeter.price("gpt-5.4", training_tokens=1_000)
    assert cost.total is None
    assert cost.status == "unknown_model"


def test_cached_audio_is_billed_once_at_the_audio_cache_rate() -> None:
    """Cached audio is part of both the cache reads and the audio input, and is billed once."""
    usage = Usage(
        input_tokens=1_000, cache_read_tokens=400, cache_read_audio_tokens=300, input_audio_tokens=700
    )
    cost = PricingTable().price_usage("gpt-realtime-1.5", usage)
    assert cost.components == {
        "input": per_m("4.00", 200),
        "cache_read": per_m("0.40", 100),
        "cache_read_audio": per_m("0.40", 300),
        "input_audio": per_m("32.00", 400),
    }
    assert cost.status == "ok"


def test_compact_and_at_dated_names_resolve_to_the_alias() -> None:
    """`-YYYYMMDD` and `@YYYYMMDD` suffixes fall back to the undated entry."""
    table = PricingTable(overrides={"house-model": {"input_mtok": 2}})
    for name in ("house-model-20250131", "house-model@20250131", "house-model-2025-01-31"):
        assert table.price_usage(name, Usage(input_tokens=1_000_000)).total == Decimal("2"), name


def test_importing_pricing_loads_neither_pydantic_nor_genai_prices() -> None:
    """The price database and pydantic load on first use, not at import."""
    code = (
        "import sys, llmmeter, llmmeter._pricing; "
        "print('pydantic' in sys.modules, 'genai_prices' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "False"]
