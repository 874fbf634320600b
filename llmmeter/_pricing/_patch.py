"""Additions to genai-prices' data: rates it lacks, laid on its own entry instead of replacing it.

An ``extends`` entry in a pricing file (``extends = "anthropic"``) names a genai-prices provider and
model; its price fields replace genai-prices' price for those fields, its ``long_context`` adds a
threshold tier, and everything else (other rates, service tiers, dated prices) stays genai-prices'.
A provider rule (``[providers.anthropic.tier_multipliers]``) prices a service tier that genai-prices
lacks for a model as a fraction of that model's standard rates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["GenaiPatch"]


@dataclass(frozen=True, slots=True)
class GenaiPatch:
    """Rates added to one genai-prices entry, in genai-prices' keys (USD per 1M tokens...)."""

    provider: str
    """The genai-prices provider id, e.g. ``anthropic``."""
    model: str
    """The genai-prices model id, lower case, e.g. ``claude-sonnet-4-0``."""
    prices: Mapping[str, Decimal]
    """Flat prices that replace genai-prices' price for their key."""
    long_context: tuple[int, Mapping[str, Decimal]] | None
    """A threshold and the prices that apply to the whole request above it."""
    origin: str
    """The file the patch was read from."""
