"""The genai-prices layer: look a model up once, compile its prices into a ``PriceEntry``.

genai-prices is imported on first use only (its data takes a few hundred ms to load).
genai-prices keys the batch tier as ``{"processing": "batch"}`` and the others as
``{"service_tier": ...}``; a tier whose prices equal the standard ones is not offered.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from llmmeter._pricing._entry import PriceEntry
from llmmeter._pricing._names import Hints
from llmmeter._pricing._rates import STANDARD, Rates, RateSchedule, rates_from_prices

__all__ = ["SOURCE", "find", "iter_models", "to_entry"]

SOURCE = "genai-prices"

_TIER_CONTEXTS: dict[str, tuple[Mapping[str, str], ...]] = {
    "priority": ({"service_tier": "priority"}, {"service_tier": "fast"}),
    "flex": ({"service_tier": "flex"},),
    "batch": ({"processing": "batch"},),
}


def load() -> None:
    """Import genai-prices and its price data now.

    It imports httpx2 on the way: done lazily on a first call, that import could run while the
    app's other threads use the same modules and catch them half-initialised.
    """
    from genai_prices import data_snapshot

    data_snapshot.get_snapshot()


def find(name: str, hints: Hints) -> tuple[Any, Any] | None:
    """genai-prices' (Provider, ModelInfo) for ``name``, trying each provider hint in turn."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    for hint in hints:
        try:
            return snapshot.find_provider_model(name, None, hint, None)
        except LookupError:
            continue
    if hints[-1:] == (None,):
        return _sole_maker(snapshot, name)
    return None


# Providers that resell other makers' models (Azure serves OpenAI's): with no provider named, a
# model they list beside its maker is the maker's.
_RESELLERS = frozenset({"azure", "aws", "openrouter", "github-copilot", "cloudflare", "databricks", "modal"})


def _sole_maker(snapshot: Any, name: str) -> tuple[Any, Any] | None:
    """The (Provider, ModelInfo) for ``name`` when, resellers aside, one provider alone lists it.

    genai-prices finds some names only with a provider hint (``text-embedding-3-small``,
    ``codex-mini-latest``); an unambiguous name should not need one.
    """
    found = [
        (provider, model)
        for provider in snapshot.providers
        for model in provider.models
        if model.is_match(name)
    ]
    makers = [match for match in found if match[0].id not in _RESELLERS]
    return makers[0] if len({provider.id for provider, _ in makers}) == 1 else None


def iter_models() -> Iterator[tuple[Any, Any]]:
    """Every (Provider, ModelInfo) genai-prices knows."""
    from genai_prices import data_snapshot

    for provider in data_snapshot.get_snapshot().providers:
        for model in provider.models:
            yield provider, model


def to_entry(provider: Any, model: Any, when: datetime | None = None) -> PriceEntry:
    """Compile the prices genai-prices has for ``model`` at ``when`` (now by default)."""
    when = when or datetime.now(UTC)
    standard = model.get_prices(when)
    schedules = {STANDARD: _schedule(standard)}
    for tier, contexts in _TIER_CONTEXTS.items():
        for context in contexts:
            prices = model.get_prices(when, context)
            if prices != standard:
                schedules[tier] = _schedule(prices)
                break
    return PriceEntry(model=str(model.id), source=SOURCE, schedules=schedules, provider=str(provider.id))


def _schedule(model_price: Any) -> RateSchedule:
    """Split genai-prices' per-key tiered prices into whole rate sets by input-token threshold."""
    values = {
        key: value
        for key, value in vars(model_price).items()
        if not key.startswith("_") and value is not None
    }
    base = {key: _price_at(value, None) for key, value in values.items()}
    thresholds = sorted({tier.start for value in values.values() for tier in _tiers(value)}, reverse=True)
    long_context = tuple(
        (threshold, _rates({key: _price_at(value, threshold) for key, value in values.items()}))
        for threshold in thresholds
    )
    return RateSchedule(_rates(base), long_context)


def _tiers(value: Any) -> list[Any]:
    return list(getattr(value, "tiers", ()))


def _price_at(value: Any, threshold: int | None) -> Decimal:
    """The price that applies once input tokens exceed ``threshold`` (the base price for None)."""
    if isinstance(value, Decimal):
        return value
    price: Decimal = value.base
    if threshold is not None:
        for tier in sorted(_tiers(value), key=lambda tier: tier.start):
            if tier.start <= threshold:
                price = tier.price
    return price


def _rates(prices: dict[str, Decimal]) -> Rates:
    aliases = {"cache_write_5m_mtok": "cache_write_mtok", "input_audio_hours": "audio_hours"}
    for key, alias in aliases.items():
        if key in prices:
            prices.setdefault(alias, prices[key])
    return rates_from_prices(prices)
