"""Pricing Claude on Bedrock and Vertex AI: model ids resolved, and the endpoint's rate.

Claude Sonnet 4.5's published rates per 1M tokens: $3 input, $0.30 cache read, $3.75 5-minute
cache write, $15 output; above 200K input tokens the whole request at $6 / $0.60 / $7.50 / $22.50.
On Bedrock and Vertex AI, from Sonnet 4.5 on, regional endpoints (Bedrock in-region ids and
geographic us./eu./apac. profiles; Vertex regions and multi-regions) cost 10% more than global ones.
https://platform.claude.com/docs/en/about-claude/pricing (Model pricing; Long context pricing;
Third-party platform pricing), https://aws.amazon.com/bedrock/pricing/,
https://platform.claude.com/docs/en/build-with-claude/claude-on-vertex-ai (Global vs regional endpoints).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from llmmeter._pricing import get_table
from llmmeter._pricing._names import (
    GLOBAL,
    REGIONAL,
    bedrock_model,
    bedrock_pricing_name,
    vertex_pricing_name,
)
from llmmeter._pricing._table import PricingTable
from llmmeter._usage import Usage

M = Decimal(1_000_000)
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
USAGE = Usage(input_tokens=10_000, output_tokens=2_000)


def priced(name: str | None, provider: str, usage: Usage = USAGE) -> Decimal | None:
    """The total the default table gives ``usage`` of ``name`` at ``provider``."""
    return get_table().price_usage(name, usage, provider=provider).total


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        (f"us.{SONNET_45}", (SONNET_45, REGIONAL)),
        (f"eu.{SONNET_45}", (SONNET_45, REGIONAL)),
        (f"apac.{SONNET_45}", (SONNET_45, REGIONAL)),
        (f"global.{SONNET_45}", (SONNET_45, GLOBAL)),
        (SONNET_45, (SONNET_45, REGIONAL)),
        (f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET_45}", (SONNET_45, REGIONAL)),
        (f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.{SONNET_45}", (SONNET_45, GLOBAL)),
        ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", (None, REGIONAL)),
        ("meta.llama3-70b-instruct-v1:0", ("meta.llama3-70b-instruct-v1:0", REGIONAL)),
    ],
)
def test_bedrock_model_ids_name_a_model_and_a_scope(model_id, expected):
    """Cross-region prefixes and ARNs come off; the prefix (or its absence) says the scope."""
    assert bedrock_model(model_id) == expected


def test_bedrock_geographic_profile_costs_ten_percent_more():
    """``us.`` Sonnet 4.5: $3.30 input and $16.50 output per 1M (the global rates + 10%)."""
    cost = priced(bedrock_pricing_name(f"us.{SONNET_45}"), "aws.bedrock")

    assert cost == (10_000 * Decimal("3.30") + 2_000 * Decimal("16.50")) / M


def test_bedrock_global_profile_costs_the_global_rates():
    """``global.`` Sonnet 4.5: $3 input and $15 output per 1M."""
    cost = priced(bedrock_pricing_name(f"global.{SONNET_45}"), "aws.bedrock")

    assert cost == (10_000 * Decimal("3") + 2_000 * Decimal("15")) / M


def test_bedrock_version_suffix_resolves_for_models_before_the_regional_premium():
    """``-v2:0`` ids of older models resolve; Sonnet 3.5 v2 costs the same everywhere ($3 / $15)."""
    cost = priced(bedrock_pricing_name("us.anthropic.claude-3-5-sonnet-20241022-v2:0"), "aws.bedrock")

    assert cost == (10_000 * Decimal("3") + 2_000 * Decimal("15")) / M


def test_bedrock_regional_cache_rates_carry_the_premium():
    """Regional cache reads are $0.33 and 5-minute writes $4.125 per 1M (Anthropic's input is
    exclusive of both, llmmeter's total input includes them)."""
    usage = Usage(input_tokens=11_500, output_tokens=100, cache_read_tokens=1_000, cache_write_tokens=500)

    cost = priced(bedrock_pricing_name(SONNET_45), "aws.bedrock", usage)

    expected = (
        10_000 * Decimal("3.30") + 1_000 * Decimal("0.33") + 500 * Decimal("4.125") + 100 * Decimal("16.50")
    )
    assert cost == expected / M


def test_vertex_global_location_prices_the_dated_model_at_global_rates():
    """``claude-sonnet-4-5@20250929`` at ``global``: $3 / $15."""
    cost = priced(vertex_pricing_name("claude-sonnet-4-5@20250929", "global"), "gcp.vertex_ai")

    assert cost == (10_000 * Decimal("3") + 2_000 * Decimal("15")) / M


@pytest.mark.parametrize("location", ["us-east5", "europe-west1", "us", "eu"])
def test_vertex_regional_and_multi_region_locations_cost_ten_percent_more(location):
    """Regions and multi-regions are not global: $3.30 / $16.50 for Sonnet 4.5."""
    cost = priced(vertex_pricing_name("claude-sonnet-4-5@20250929", location), "gcp.vertex_ai")

    assert cost == (10_000 * Decimal("3.30") + 2_000 * Decimal("16.50")) / M


def test_vertex_regional_model_before_the_premium_costs_its_own_rates():
    """Sonnet 4 has no regional premium: at ``us-east5`` it costs $3 / $15."""
    cost = priced(vertex_pricing_name("claude-sonnet-4@20250514", "us-east5"), "gcp.vertex_ai")

    assert cost == (10_000 * Decimal("3") + 2_000 * Decimal("15")) / M


def test_vertex_regional_long_context_bills_the_whole_request_at_the_higher_rates():
    """Over 200K input tokens Sonnet 4.5 regional is $6.60 input and $24.75 output for the WHOLE request."""
    usage = Usage(input_tokens=250_000, output_tokens=1_000)

    cost = priced(vertex_pricing_name("claude-sonnet-4-5@20250929", "us-east5"), "gcp.vertex_ai", usage)

    assert cost == (250_000 * Decimal("6.60") + 1_000 * Decimal("24.75")) / M


def _generation(model_id: str) -> tuple[int, int] | None:
    """(major, minor) of a Claude id: ``claude-opus-4-5`` -> (4, 5), ``claude-3-5-sonnet`` -> (3, 5)."""
    numbers = re.findall(r"(?<![\d.])(\d)(?:[-.](\d))?(?![\d])", model_id.removeprefix("claude-"))
    if not numbers:
        return None
    major, minor = numbers[0]
    return int(major), int(minor or 0)


def test_every_vertex_claude_model_from_sonnet_4_5_on_has_its_regional_rates():
    """Each genai-prices google Claude entry of the 4.5 generation or later has a ``regional.``
    supplement entry whose every rate is its global rate x 1.10."""
    from genai_prices import data_snapshot

    table = PricingTable()
    google = next(p for p in data_snapshot.get_snapshot().providers if p.id == "google")
    checked = 0
    for model in google.models:
        generation = _generation(model.id)
        if not model.id.startswith("claude") or generation is None or generation < (4, 5):
            continue
        regional = table.resolve(f"regional.{model.id}", "gcp.vertex_ai")
        assert regional is not None
        assert regional.source == "llmmeter", model.id
        own = table.resolve(model.id, "gcp.vertex_ai", when=datetime.now(UTC))
        for name in ("input", "cache_read", "cache_write", "cache_write_1h", "output"):
            base = own.schedules["standard"].base.per_million(name)
            if base is not None:
                assert regional.schedules["standard"].base.per_million(name) == base * Decimal("1.1"), (
                    model.id,
                    name,
                )
        checked += 1
    assert checked >= 10
