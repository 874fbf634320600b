"""The pricing file format, its validation, and its compilation into price entries.

A pricing file is TOML (``.toml``) or JSON (``.json``)::

    [deployments]                      # optional: Azure deployment name -> model
    "my-prod-4o" = "gpt-4o"

    [models."gpt-4o"]                  # genai-prices' field names, USD per 1M tokens
    input_mtok = 2.00
    cache_read_mtok = 1.00
    output_mtok = 8.00
    aliases = ["my-gpt"]

    [models."gpt-4o".long_context]     # whole request above `threshold` input tokens
    threshold = 128000
    input_mtok = 4.00

    [models."gpt-4o".tiers.batch]      # priority | flex | batch; unset fields keep the standard price
    input_mtok = 1.00

    [models."sora-2-pro"]
    video_second = 0.30
    video_second_by_size = { "1024x1792" = 0.50 }

    [models."dall-e-3".image_by_quality]   # USD per image, by quality then size
    standard = { "1024x1024" = 0.04, "1024x1792" = 0.08 }
    hd = { "1024x1024" = 0.08, "1024x1792" = 0.12 }

    [models."claude-sonnet-4-0"]       # adds to genai-prices' entry of that provider and model
    extends = "anthropic"
    [models."claude-sonnet-4-0".long_context]
    threshold = 200000
    input_mtok = 6.00

    [providers.anthropic.tier_multipliers]   # a tier genai-prices lacks, as a fraction of standard
    batch = 0.5

    [models."ft:gpt-4o"]
    provider = "openai"                # that provider's tier_multipliers price the tiers not set here

Numbers are read as exact Decimals. An entry replaces the whole entry of a lower layer, except an
``extends`` entry, which changes only the fields it sets (see ``_patch.py``). Any mistake raises
``PricingFileError`` naming the file, the entry and the field.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from llmmeter._errors import PricingFileError
from llmmeter._pricing._entry import PriceEntry
from llmmeter._pricing._patch import GenaiPatch, RatePatch
from llmmeter._pricing._rates import STANDARD, Rates, RateSchedule, rates_from_prices

__all__ = ["PricingData", "load_file", "load_mapping"]

OVERRIDES_ORIGIN = "<overrides>"


def _to_decimal(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else Decimal(value)
    return Decimal(value)


def _finite_non_negative(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value < 0:
        raise ValueError("must not be negative")
    return value


Price = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_finite_non_negative)]
Size = Annotated[str, Field(pattern=r"^\s*\d+\s*[xX]\s*\d+\s*$")]
Quality = Annotated[str, Field(pattern=r"^\s*[A-Za-z][A-Za-z0-9_-]*\s*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Prices(_Strict):
    """The price fields every level (entry, tier, long context) may set."""

    input_mtok: Price | None = None
    cache_read_mtok: Price | None = None
    cache_write_mtok: Price | None = None
    cache_write_1h_mtok: Price | None = None
    output_mtok: Price | None = None
    output_reasoning_mtok: Price | None = None
    input_audio_mtok: Price | None = None
    cache_audio_read_mtok: Price | None = None
    output_audio_mtok: Price | None = None
    input_image_mtok: Price | None = None
    cache_image_read_mtok: Price | None = None
    output_image_mtok: Price | None = None
    requests_kcount: Price | None = None
    training_mtok: Price | None = None
    characters_mtok: Price | None = None
    training_hour: Price | None = None
    audio_hours: Price | None = None
    video_second: Price | None = None
    video_second_by_size: dict[Size, Price] | None = None
    image_by_quality: dict[Quality, dict[Size, Price]] | None = None

    def price_fields(self) -> dict[str, Decimal]:
        """The per-unit prices that are set, by genai-prices key."""
        return {
            name: value
            for name in type(self).model_fields
            if name in _PRICE_FIELDS and (value := getattr(self, name)) is not None
        }


_PRICE_FIELDS = frozenset(
    name for name in _Prices.model_fields if name not in ("video_second_by_size", "image_by_quality")
)


class _LongContext(_Prices):
    threshold: Annotated[int, Field(strict=True, ge=0)]


class _Tier(_Prices):
    long_context: _LongContext | None = None


_TierName = Literal["priority", "flex", "batch"]


class _Entry(_Tier):
    aliases: list[Annotated[str, Field(strict=True, min_length=1)]] = []
    tiers: dict[_TierName, _Tier] = {}
    extends: Annotated[str, Field(strict=True, min_length=1)] | None = None
    provider: Annotated[str, Field(strict=True, min_length=1)] | None = None


class _Provider(_Strict):
    tier_multipliers: dict[_TierName, Price] = {}


class _File(_Strict):
    models: dict[Annotated[str, Field(min_length=1)], _Entry] = {}
    deployments: dict[str, Annotated[str, Field(strict=True, min_length=1)]] = {}
    providers: dict[Annotated[str, Field(min_length=1)], _Provider] = {}


class PricingData:
    """The contents of one pricing file, compiled: entries by lower-case id and alias."""

    def __init__(
        self,
        entries: dict[str, PriceEntry],
        deployments: dict[str, str],
        patches: dict[tuple[str, str], GenaiPatch] | None = None,
        tier_rules: dict[str, dict[str, Decimal]] | None = None,
    ) -> None:
        self.entries = entries
        """Compiled entries, reachable by their lower-case id and every lower-case alias."""
        self.deployments = deployments
        """Deployment name (lower case) -> model name."""
        self.patches = patches or {}
        """``extends`` entries by (genai-prices provider id, model id), lower case."""
        self.tier_rules = tier_rules or {}
        """Provider id -> tier -> fraction of the standard rates."""


def load_file(path: str | Path, source: str = "user") -> PricingData:
    """Read, validate and compile a TOML or JSON pricing file; raise ``PricingFileError`` on any fault."""
    origin = str(path)
    raw = _parse(Path(path), origin)
    return load_mapping(raw, origin, source)


def load_mapping(raw: Any, origin: str = OVERRIDES_ORIGIN, source: str = "user") -> PricingData:
    """Validate and compile already-parsed pricing data (a file's contents, or code overrides)."""
    try:
        parsed = _File.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise _file_error(origin, exc) from None
    entries: dict[str, PriceEntry] = {}
    patches: dict[tuple[str, str], GenaiPatch] = {}
    for model_id, spec in parsed.models.items():
        if spec.extends is not None:
            patch = _compile_patch(model_id, spec, spec.extends, origin)
            patches[(patch.provider, patch.model)] = patch
            continue
        entry = _compile_entry(model_id.strip().lower(), spec, source, origin)
        for name in (entry.model, *(alias.strip().lower() for alias in spec.aliases)):
            if name in entries:
                field = "aliases" if name != entry.model else None
                raise PricingFileError(origin, model_id, field, f"{name!r} is already defined in this file")
            entries[name] = entry
    deployments = {name.strip().lower(): model.strip() for name, model in parsed.deployments.items()}
    tier_rules: dict[str, dict[str, Decimal]] = {
        provider.strip().lower(): {str(tier): factor for tier, factor in spec.tier_multipliers.items()}
        for provider, spec in parsed.providers.items()
    }
    return PricingData(entries, deployments, patches, tier_rules)


def _compile_patch(model_id: str, spec: _Entry, provider: str, origin: str) -> GenaiPatch:
    """An ``extends`` entry: flat price fields and long-context tiers, for standard and each tier."""
    if spec.aliases:
        raise PricingFileError(origin, model_id, "aliases", "not supported in an extends entry")
    if spec.provider is not None:
        raise PricingFileError(origin, model_id, "provider", "an extends entry has its provider already")
    levels: list[tuple[str, _Tier]] = [("", spec)] + [
        (f"tiers.{tier}.", tier_spec) for tier, tier_spec in spec.tiers.items()
    ]
    for prefix, level in levels:
        if level.video_second_by_size is not None or (
            level.long_context is not None and level.long_context.video_second_by_size is not None
        ):
            field = prefix + "video_second_by_size"
            raise PricingFileError(origin, model_id, field, "not supported in an extends entry")
        if level.long_context is not None and level.long_context.image_by_quality is not None:
            field = prefix + "long_context.image_by_quality"
            raise PricingFileError(origin, model_id, field, "not supported in an extends entry")
    return GenaiPatch(
        provider=provider.strip().lower(),
        model=model_id.strip().lower(),
        standard=_rate_patch(spec),
        tiers={tier: _rate_patch(tier_spec) for tier, tier_spec in spec.tiers.items()},
        origin=origin,
    )


def _rate_patch(spec: _Tier) -> RatePatch:
    long_context = None
    if spec.long_context is not None:
        long_context = (spec.long_context.threshold, spec.long_context.price_fields())
    return RatePatch(spec.price_fields(), long_context, spec.image_by_quality)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _parse(path: Path, origin: str) -> Any:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise PricingFileError(origin, None, None, "unsupported file type: use a .toml or .json file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PricingFileError(origin, None, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PricingFileError(origin, None, None, f"cannot read the file: {exc}") from None
    try:
        if suffix == ".toml":
            return tomllib.loads(text, parse_float=Decimal)
        return json.loads(text, parse_float=Decimal, object_pairs_hook=_unique_keys)
    except _DuplicateKey as duplicate:
        # TOML refuses a key defined twice; JSON would keep the last one silently.
        raise PricingFileError(origin, duplicate.key, None, f"{duplicate.key!r} is defined twice") from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "TOML" if suffix == ".toml" else "JSON"
        raise PricingFileError(origin, None, None, f"not valid {kind}: {exc}") from None


def _file_error(origin: str, exc: pydantic.ValidationError) -> PricingFileError:
    error = exc.errors()[0]
    location = [str(part) for part in error["loc"] if part != "[key]"]
    entry: str | None = None
    if len(location) >= 2 and location[0] == "models":
        entry = location[1]
        location = location[2:]
    field = ".".join(location) or None
    return PricingFileError(origin, entry, field, _problem(error))


_PROBLEMS = {
    "extra_forbidden": "unknown field",
    "string_pattern_mismatch": "expected a size such as 1024x1792 (or, for image_by_quality, a quality name)",
    "model_type": "expected a table of fields",
    "dict_type": "expected a table",
}


def _problem(error: Any) -> str:
    problem = _PROBLEMS.get(error["type"])
    if problem is not None:
        return problem
    return str(error["msg"]).removeprefix("Value error, ")


class _Level:
    """What a tier inherits from the entry, or a long-context level from its tier."""

    __slots__ = ("images", "prices", "sizes")

    def __init__(
        self,
        prices: Mapping[str, Decimal],
        sizes: Mapping[str, Decimal] | None,
        images: Mapping[str, Mapping[str, Decimal]] | None,
    ) -> None:
        self.prices = prices
        self.sizes = sizes
        self.images = images

    def under(self, spec: _Prices) -> _Level:
        """This level with what ``spec`` sets laid over it."""
        return _Level(
            {**self.prices, **spec.price_fields()},
            spec.video_second_by_size if spec.video_second_by_size is not None else self.sizes,
            spec.image_by_quality if spec.image_by_quality is not None else self.images,
        )

    def rates(self) -> Rates:
        return rates_from_prices(self.prices, self.sizes, self.images)


def _compile_entry(model_id: str, spec: _Entry, source: str, origin: str) -> PriceEntry:
    base = _Level({}, None, None).under(spec)
    schedules = {STANDARD: _schedule(spec, base)}
    for tier, tier_spec in spec.tiers.items():
        schedules[tier] = _schedule(tier_spec, base.under(tier_spec))
    provider = None if spec.provider is None else spec.provider.strip().lower()
    return PriceEntry(model=model_id, source=source, schedules=schedules, provider=provider, origin=origin)


def _schedule(spec: _Tier, level: _Level) -> RateSchedule:
    if spec.long_context is None:
        return RateSchedule(level.rates())
    long_context = level.under(spec.long_context).rates()
    return RateSchedule(level.rates(), ((spec.long_context.threshold, long_context),))
