"""Gemini (Gemini API, Vertex AI) and Cohere pricing rules, each computed by hand from published rates."""

from __future__ import annotations

from decimal import Decimal

import pytest

import llmmeter
from llmmeter._providers._cohere import from_cohere
from llmmeter._providers._gemini import from_gemini
from tests.providers import wire

M = Decimal(1_000_000)
# Gemini 2.5 Pro, per 1M tokens: input $1.25 (prompts <= 200K) / $2.50 (> 200K); output, thinking
# included, $10.00 / $15.00; context-cache reads $0.125 / $0.25. The higher rates apply to the
# whole request once its prompt passes 200K tokens.
# https://ai.google.dev/gemini-api/docs/pricing (Gemini 2.5 Pro),
# https://cloud.google.com/vertex-ai/generative-ai/pricing (Gemini 2.5 Pro: the same rates)
PRO = {"in": Decimal("1.25"), "out": Decimal("10"), "read": Decimal("0.125")}
PRO_LONG = {"in": Decimal("2.50"), "out": Decimal("15"), "read": Decimal("0.25")}
# Gemini 2.5 Flash, per 1M tokens: input $0.30 (text, image, video) / $1.00 (audio); cache reads
# $0.03 / $0.10 (audio); output, thinking included, $2.50. Same pages.
FLASH = {
    "in": Decimal("0.30"),
    "audio": Decimal("1.00"),
    "read": Decimal("0.03"),
    "audio_read": Decimal("0.10"),
}
FLASH_OUT = Decimal("2.50")


def gemini_cost(model: str, provider: str = "gcp.gemini", **usage: int) -> llmmeter.Cost:
    """The cost of a Gemini response whose usageMetadata is built from ``usage``."""
    converted = from_gemini(wire.gemini_usage(**usage))
    return llmmeter.price(
        model,
        provider=provider,
        input_tokens=converted.input_tokens,
        output_tokens=converted.output_tokens,
        cache_read_tokens=converted.cache_read_tokens,
        reasoning_tokens=converted.reasoning_tokens,
        input_audio_tokens=converted.input_audio_tokens,
        cache_read_audio_tokens=converted.cache_read_audio_tokens,
    )


def test_cached_content_is_part_of_the_prompt_and_read_at_the_cache_rate():
    """promptTokenCount includes cachedContentTokenCount: the cached part is billed once, at its rate."""
    cost = gemini_cost("gemini-2.5-flash", prompt=10_000, cached=8_000, candidates=100)

    assert cost.total == (2_000 * FLASH["in"] + 8_000 * FLASH["read"] + 100 * FLASH_OUT) / M
    assert cost.status == "ok"


def test_thinking_tokens_are_output_added_to_candidates():
    """thoughtsTokenCount is outside candidatesTokenCount and billed at the output rate."""
    cost = gemini_cost("gemini-2.5-flash", prompt=1_000, candidates=200, thoughts=1_800)

    assert cost.total == (1_000 * FLASH["in"] + 2_000 * FLASH_OUT) / M


def test_tool_use_prompt_tokens_are_input():
    """toolUsePromptTokenCount is input beside the prompt."""
    cost = gemini_cost("gemini-2.5-flash", prompt=1_000, tool_prompt=500, candidates=10)

    assert cost.total == (1_500 * FLASH["in"] + 10 * FLASH_OUT) / M


def test_audio_input_and_cached_audio_have_their_own_rates():
    """Flash bills audio input at $1.00 and cached audio at $0.10 per 1M tokens."""
    cost = gemini_cost(
        "gemini-2.5-flash", prompt=4_000, audio=3_000, cached=2_500, cached_audio=2_000, candidates=0
    )

    # Uncached text 500, uncached audio 1,000, cached text 500, cached audio 2,000.
    expected = (
        500 * FLASH["in"] + 1_000 * FLASH["audio"] + 500 * FLASH["read"] + 2_000 * FLASH["audio_read"]
    ) / M
    assert cost.total == expected
    assert cost.status == "ok"


def test_pro_prompt_over_200k_bills_the_whole_request_at_the_higher_rates():
    """One token past 200K moves input, cache reads and output (thinking too) to the long-context rates."""
    cost = gemini_cost("gemini-2.5-pro", prompt=200_001, cached=50_000, candidates=1_000, thoughts=500)

    expected = (150_001 * PRO_LONG["in"] + 50_000 * PRO_LONG["read"] + 1_500 * PRO_LONG["out"]) / M
    assert cost.total == expected


def test_pro_prompt_of_exactly_200k_keeps_the_base_rates():
    """A prompt of 200K tokens is not over the threshold."""
    cost = gemini_cost("gemini-2.5-pro", prompt=200_000, cached=50_000, candidates=1_000)

    assert cost.total == (150_000 * PRO["in"] + 50_000 * PRO["read"] + 1_000 * PRO["out"]) / M


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite"])
def test_vertex_ai_and_the_gemini_api_price_a_model_alike(model):
    """Vertex AI publishes the same per-token rates as the Gemini API for the 2.5 models."""
    usage = {"prompt": 30_000, "cached": 10_000, "candidates": 500, "thoughts": 700}

    assert (
        gemini_cost(model, "gcp.vertex_ai", **usage).total == gemini_cost(model, "gcp.gemini", **usage).total
    )


def test_dated_and_numbered_vertex_model_ids_resolve_to_their_model():
    """Versioned ids (gemini-2.0-flash-001, previews with dates) resolve to the model's entry."""
    cost = llmmeter.price(
        "gemini-2.0-flash-001", provider="gcp.vertex_ai", input_tokens=1_000, output_tokens=100
    )

    # Gemini 2.0 Flash: $0.10 input, $0.40 output per 1M tokens (same pages).
    assert cost.total == (1_000 * Decimal("0.10") + 100 * Decimal("0.40")) / M
    assert cost.model == "gemini-2.0-flash"


def test_cohere_bills_billed_units():
    """Cohere's billed_units are priced; the processed tokens are not."""
    usage = from_cohere(
        wire.cohere_chat(billed_in=1_000, billed_out=300, tokens_in=1_400, tokens_out=320)["usage"]
    )

    cost = llmmeter.price(
        "command-a-03-2025",
        provider="cohere",
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
    )

    # Command A: $2.50 input, $10.00 output per 1M tokens. https://cohere.com/pricing
    assert cost.total == (1_000 * Decimal("2.50") + 300 * Decimal("10.00")) / M
    assert cost.model == "command-a"
