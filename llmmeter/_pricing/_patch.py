"""Additions to genai-prices' data: rates it lacks, laid on its own entry instead of replacing it.

An ``extends`` entry in a pricing file (``extends = "anthropic"``) names a genai-prices provider and
model; its price fields replace genai-prices' standard price for those fields, its ``long_context``
adds a threshold tier, its ``tiers.<tier>`` do the same for a service tier genai-prices prices, and
everything else (other rates, other tiers, dated prices) stays genai-prices'. A tier given no
addition keeps genai-prices' rates only: a part it has no rate for is billed as ``estimated``.
A provider rule (``[providers.anthropic.tier_multipliers]``) prices a service tier that genai-prices
lacks for a model as a fraction of that model's standard rates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["GenaiPatch", "RatePatch"]


@dataclass(frozen=True, slots=True)
class RatePatch:
    """Rates added to one service tier's prices, in genai-prices' keys (USD per 1M tokens...)."""

    prices: Mapping[str, Decimal]
    """Flat prices that replace genai-prices' price for their key."""
    long_context: tuple[int, Mapping[str, Decimal]] | None = None
    """A threshold and the prices that apply to the whole request above it."""
    images: Mapping[str, Mapping[str, Decimal]] | None = None
    """Per-image prices by quality then size, which genai-prices does not carry."""


@dataclass(frozen=True, slots=True)
class GenaiPatch:
    """Rates added to one genai-prices entry."""

    provider: str
    """The genai-prices provider id, e.g. ``anthropic``."""
    model: str
    """The genai-prices model id, lower case, e.g. ``claude-sonnet-4-0``."""
    standard: RatePatch
    """Additions to the standard prices."""
    tiers: Mapping[str, RatePatch]
    """Additions to the prices of the service tiers genai-prices has (``batch``, ``flex``...)."""
    origin: str
    """The file the patch was read from."""
