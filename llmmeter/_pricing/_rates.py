"""Compiled prices: plain Decimals per unit (per token, per character, per request, per second, per
hour, per image).

Pricing files and genai-prices quote prices per 1M tokens (``*_mtok``), per 1K requests
(``requests_kcount``), per second or per hour; ``rates_from_prices`` turns those quotes into
per-unit ``Rates`` once, so pricing a call is a handful of multiplications.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

__all__ = [
    "PRICE_KEYS",
    "STANDARD",
    "TIER_NAMES",
    "RateSchedule",
    "Rates",
    "normalize_tier",
    "quality_key",
    "rates_from_prices",
    "size_key",
]

# File and genai-prices price keys -> Rates attribute, grouped by the unit they are quoted per.
_PER_MILLION = {
    "input_mtok": "input",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write",
    "cache_write_1h_mtok": "cache_write_1h",
    "output_mtok": "output",
    "output_reasoning_mtok": "output_reasoning",
    "input_audio_mtok": "input_audio",
    "cache_audio_read_mtok": "cache_audio_read",
    "output_audio_mtok": "output_audio",
    "input_image_mtok": "input_image",
    "cache_image_read_mtok": "cache_image_read",
    "output_image_mtok": "output_image",
    "training_mtok": "training",
    "characters_mtok": "character",
}
_PER_THOUSAND = {"requests_kcount": "request"}
_PER_UNIT = {"video_second": "video_second"}
_PER_HOUR = {"audio_hours": "audio_hour", "training_hour": "training_hour"}

PRICE_KEYS = frozenset(_PER_MILLION.keys() | _PER_THOUSAND.keys() | _PER_UNIT.keys() | _PER_HOUR.keys())
"""Every price key a pricing file or genai-prices entry may carry that llmmeter bills."""

_EMPTY_SIZES: Mapping[str, Decimal] = MappingProxyType({})
_EMPTY_IMAGES: Mapping[str, Mapping[str, Decimal]] = MappingProxyType({})

ImagePrices = Mapping[str, Mapping[str, Decimal]]
"""USD per image, by quality (``standard``, ``hd``, ``low``...) then size (``1024x1024``)."""

STANDARD = "standard"
_TIER_NAMES = {
    "": STANDARD,
    "default": STANDARD,
    "auto": STANDARD,
    "standard": STANDARD,
    "scale": STANDARD,
    "on_demand": STANDARD,
    "priority": "priority",
    "fast": "priority",
    "flex": "flex",
    "batch": "batch",
}
TIER_NAMES = frozenset(_TIER_NAMES)
"""Every service-tier name llmmeter knows (``default``, ``fast``, ``batch``...)."""


def normalize_tier(service_tier: str | None) -> str:
    """The price tier (``standard``, ``priority``, ``flex``, ``batch``) a reported service tier bills at.

    A name llmmeter does not know is returned as it is (lower case): no entry has a schedule for it,
    so it is priced at the standard rates and marked ``estimated``, never silently ``ok``.
    """
    if service_tier is None:
        return STANDARD
    found = _TIER_NAMES.get(service_tier)  # as reported, most often
    if found is not None:
        return found
    name = service_tier.strip().lower()
    return _TIER_NAMES.get(name, name)


@dataclass(frozen=True, slots=True)
class Rates:
    """One complete set of prices, in USD per token, per request, per second or per hour."""

    input: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None
    output: Decimal | None = None
    output_reasoning: Decimal | None = None
    input_audio: Decimal | None = None
    cache_audio_read: Decimal | None = None
    output_audio: Decimal | None = None
    input_image: Decimal | None = None
    cache_image_read: Decimal | None = None
    output_image: Decimal | None = None
    training: Decimal | None = None
    character: Decimal | None = None
    """Per character of input text (``characters_mtok`` quotes it per 1M characters)."""
    request: Decimal | None = None
    video_second: Decimal | None = None
    video_second_by_size: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY_SIZES)
    audio_hour: Decimal | None = None
    training_hour: Decimal | None = None
    image_by_quality: ImagePrices = field(default_factory=lambda: _EMPTY_IMAGES)
    """USD per image by quality then size: what DALL-E bills, and what GPT Image's pages quote."""

    def per_million(self, name: str) -> Decimal | None:
        """The token rate ``name`` (``input``, ``cache_read``, ``output``...) in USD per 1M tokens."""
        rate: Decimal | None = getattr(self, name)
        return None if rate is None else rate.scaleb(6)

    def scaled(self, factor: Decimal) -> Rates:
        """These rates, every one multiplied by ``factor`` (a provider's tier rule: batch = 0.5)."""
        values = {name: rate * factor for name in _RATE_NAMES if (rate := getattr(self, name)) is not None}
        sizes = MappingProxyType({size: rate * factor for size, rate in self.video_second_by_size.items()})
        images = _image_prices(
            {
                quality: {size: rate * factor for size, rate in by_size.items()}
                for quality, by_size in self.image_by_quality.items()
            }
        )
        return Rates(**values, video_second_by_size=sizes, image_by_quality=images)


_RATE_NAMES = (*_PER_MILLION.values(), *_PER_THOUSAND.values(), *_PER_UNIT.values(), *_PER_HOUR.values())


def rates_from_prices(
    prices: Mapping[str, Decimal],
    by_size: Mapping[str, Decimal] | None = None,
    images: ImagePrices | None = None,
) -> Rates:
    """Compile prices quoted as pricing files and genai-prices quote them into per-unit ``Rates``.

    Keys that llmmeter does not bill (``web_searches_kcount``...) are ignored. ``by_size`` are
    per-second video prices by size, ``images`` per-image prices by quality and size.
    """
    values: dict[str, Decimal] = {}
    for key, price in prices.items():
        if key in _PER_MILLION:
            values[_PER_MILLION[key]] = price.scaleb(-6)
        elif key in _PER_THOUSAND:
            values[_PER_THOUSAND[key]] = price.scaleb(-3)
        elif key in _PER_UNIT:
            values[_PER_UNIT[key]] = price
        elif key in _PER_HOUR:
            values[_PER_HOUR[key]] = price
    sizes = MappingProxyType({size_key(size): rate for size, rate in (by_size or {}).items()})
    return Rates(**values, video_second_by_size=sizes, image_by_quality=_image_prices(images or {}))


def _image_prices(images: ImagePrices) -> ImagePrices:
    if not images:
        return _EMPTY_IMAGES
    return MappingProxyType(
        {
            quality_key(quality): MappingProxyType({size_key(size): rate for size, rate in by_size.items()})
            for quality, by_size in images.items()
        }
    )


def size_key(size: str) -> str:
    """A size as rates are keyed by: ``1024X1792`` and ``1024 x 1792`` -> ``1024x1792``."""
    return size.strip().lower().replace(" ", "")


def quality_key(quality: str) -> str:
    """An image quality as rates are keyed by: ``HD`` -> ``hd``."""
    return quality.strip().lower()


@dataclass(frozen=True, slots=True)
class RateSchedule:
    """The rates of one service tier: base rates, and long-context rates by input-token threshold.

    A long-context rate set applies to the WHOLE request once its input tokens exceed the threshold.
    """

    base: Rates
    long_context: tuple[tuple[int, Rates], ...] = ()
    """(threshold, rates) pairs, highest threshold first."""

    def for_input(self, input_tokens: int) -> Rates:
        """The rates that apply to a request with ``input_tokens`` input tokens in all."""
        for threshold, rates in self.long_context:
            if input_tokens > threshold:
                return rates
        return self.base

    def scaled(self, factor: Decimal) -> RateSchedule:
        """This schedule with every rate, long-context rates included, multiplied by ``factor``."""
        long_context = tuple((threshold, rates.scaled(factor)) for threshold, rates in self.long_context)
        return RateSchedule(self.base.scaled(factor), long_context)
