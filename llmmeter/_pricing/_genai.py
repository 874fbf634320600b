"""The genai-prices layer: look a model up once, compile its prices into a ``PriceEntry``.

genai-prices is imported on first use only (its data takes a few hundred ms to load).
genai-prices keys the batch tier as ``{"processing": "batch"}`` and the others as
``{"service_tier": ...}``; a tier whose prices equal the standard ones is not offered.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from llmmeter._pricing._entry import PriceEntry
from llmmeter._pricing._names import Hints
from llmmeter._pricing._patch import GenaiPatch, RatePatch
from llmmeter._pricing._rates import STANDARD, Rates, RateSchedule, rates_from_prices

__all__ = ["SOURCE", "find", "iter_models", "to_entry", "validity"]

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


def to_entry(
    provider: Any,
    model: Any,
    when: datetime | None = None,
    patch: GenaiPatch | None = None,
    tier_rules: Mapping[str, Decimal] | None = None,
) -> PriceEntry:
    """Compile the prices genai-prices has for ``model`` at ``when`` (now by default).

    ``patch`` adds rates genai-prices lacks; ``tier_rules`` (tier -> fraction of the standard rates)
    prices the tiers of the provider's documented rule that genai-prices has no prices for. The
    entry holds from the last price change at or before ``when`` until the next one.
    """
    when = when or datetime.now(UTC)
    standard = model.get_prices(when)
    schedules = {STANDARD: _schedule(standard, None if patch is None else patch.standard)}
    for tier, contexts in _TIER_CONTEXTS.items():
        for context in contexts:
            prices = model.get_prices(when, context)
            if prices != standard:
                schedules[tier] = _schedule(prices, None if patch is None else patch.tiers.get(tier))
                break
    for tier, factor in (tier_rules or {}).items():
        if tier not in schedules:
            schedules[tier] = schedules[STANDARD].scaled(factor)
    valid_from, valid_until = validity(model, when)
    return PriceEntry(
        model=str(model.id),
        source=SOURCE,
        schedules=schedules,
        provider=str(provider.id),
        origin=None if patch is None else patch.origin,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def validity(model: Any, when: datetime) -> tuple[float, float]:
    """The moments (POSIX seconds) around ``when`` at which ``model``'s prices last and next change.

    genai-prices' prices change at the start (UTC midnight) of a start date, and daily at the bounds
    of a time-of-day window (off-peak prices); between two such moments every price is constant.
    """
    instant = when.timestamp()
    day = datetime.fromtimestamp(instant, UTC).date()
    moments: list[float] = []
    constraints = [getattr(price, "constraint", None) for price in _conditional_prices(model)]
    constraints += [variant.constraint for variant in getattr(model, "price_variants", None) or ()]
    for constraint in constraints:
        start_date = getattr(constraint, "start_date", None)
        if start_date is not None:
            moments.append(datetime.combine(start_date, time(), UTC).timestamp())
        for bound in (getattr(constraint, "start_time", None), getattr(constraint, "end_time", None)):
            if bound is not None:
                utc_bound = bound if bound.tzinfo is not None else bound.replace(tzinfo=UTC)
                for offset in (-1, 0, 1):
                    moments.append(datetime.combine(day + timedelta(days=offset), utc_bound).timestamp())
    valid_from = max((moment for moment in moments if moment <= instant), default=-math.inf)
    valid_until = min((moment for moment in moments if moment > instant), default=math.inf)
    return valid_from, valid_until


def _conditional_prices(model: Any) -> list[Any]:
    prices = getattr(model, "prices", None)
    return list(prices) if isinstance(prices, list) else []


def _schedule(model_price: Any, patch: RatePatch | None = None) -> RateSchedule:
    """Split genai-prices' per-key tiered prices into whole rate sets by input-token threshold."""
    values: dict[str, Any] = {
        key: value
        for key, value in vars(model_price).items()
        if not key.startswith("_") and value is not None
    }
    if patch is not None:
        values.update(patch.prices)
    base = {key: _price_at(value, None) for key, value in values.items()}
    thresholds = {tier.start for value in values.values() for tier in _tiers(value)}
    images = None if patch is None else patch.images
    if patch is not None and patch.long_context is not None:
        thresholds.add(patch.long_context[0])
    long_context = tuple(
        (threshold, _rates(_level(values, threshold, patch), images))
        for threshold in sorted(thresholds, reverse=True)
    )
    return RateSchedule(_rates(base, images), long_context)


def _level(values: Mapping[str, Any], threshold: int, patch: RatePatch | None) -> dict[str, Decimal]:
    """The prices that apply once input tokens exceed ``threshold``."""
    prices = {key: _price_at(value, threshold) for key, value in values.items()}
    if patch is not None and patch.long_context is not None and threshold >= patch.long_context[0]:
        prices.update(patch.long_context[1])
    return prices


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


def _rates(prices: dict[str, Decimal], images: Mapping[str, Mapping[str, Decimal]] | None = None) -> Rates:
    aliases = {"cache_write_5m_mtok": "cache_write_mtok", "input_audio_hours": "audio_hours"}
    for key, alias in aliases.items():
        if key in prices:
            prices.setdefault(alias, prices[key])
    return rates_from_prices(prices, None, images)
