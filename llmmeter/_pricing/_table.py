"""The layered price table, model resolution, and the process-wide default table.

Layers, highest first: the user's entries (``overrides=`` in code, then ``files`` in order, the
later file winning) > llmmeter's bundled ``supplement.toml`` > genai-prices. A model is resolved
once per (model, provider) and the result cached, so pricing a known model is a dict hit and a
few Decimal multiplications.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from time import time
from typing import Any

from llmmeter._errors import PricingFileError
from llmmeter._locks import new_lock
from llmmeter._pricing import _genai
from llmmeter._pricing._cost import Cost
from llmmeter._pricing._entry import PriceEntry
from llmmeter._pricing._names import Hints, candidates, genai_provider_hints, is_fine_tune
from llmmeter._pricing._patch import GenaiPatch
from llmmeter._usage import Usage

__all__ = ["PRICING_FILE_ENV", "PricingTable", "get_table", "price", "set_table"]

PRICING_FILE_ENV = "LLMMETER_PRICING_FILE"
"""Environment variable naming user pricing files (several separated by ``os.pathsep``)."""

SUPPLEMENT_PATH = Path(__file__).with_name("supplement.toml")

_log = logging.getLogger("llmmeter")

_MAX_REMEMBERED = 10_000
"""Model names remembered (resolved, or warned about); bounds memory when names are arbitrary."""
_MAX_DATED = 64
"""Price periods remembered per model for calls priced at another moment than now."""


class PricingTable:
    """Prices for every model llmmeter knows, in layers; see the module docstring.

    ``overrides`` maps model ids to entries in the pricing-file format (``{"gpt-4o": {"input_mtok":
    2, "output_mtok": 8}}``); ``files`` are TOML or JSON pricing files; ``deployments`` maps Azure
    deployment names to models. A malformed override or file raises ``PricingFileError`` here, at
    construction. ``include_genai_prices=False`` leaves out the genai-prices layer.
    """

    def __init__(
        self,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        files: Sequence[str | Path] = (),
        deployments: Mapping[str, str] | None = None,
        include_genai_prices: bool = True,
    ) -> None:
        from llmmeter._pricing._schema import load_file, load_mapping

        layers = [load_file(SUPPLEMENT_PATH, source="llmmeter")]
        layers += [load_file(path) for path in files]
        if overrides:
            layers.append(load_mapping({"models": dict(overrides)}))
        self._local: dict[str, PriceEntry] = {}
        self._deployments: dict[str, str] = {}
        self._patches: dict[tuple[str, str], GenaiPatch] = {}
        self._tier_rules: dict[str, dict[str, Decimal]] = {}
        for layer in layers:  # lowest first, so higher layers overwrite
            self._local.update(layer.entries)
            self._deployments.update(layer.deployments)
            self._patches.update(layer.patches)
            for provider, rules in layer.tier_rules.items():
                self._tier_rules.setdefault(provider, {}).update(rules)
        for name, model in (deployments or {}).items():
            self._deployments[name.strip().lower()] = model
        self._local = _with_tier_rules(self._local, self._tier_rules)
        self._include_genai = include_genai_prices
        self._resolved: dict[tuple[str | None, str | None], PriceEntry | None] = {}
        self._genai_entries: dict[tuple[str, str], PriceEntry] = {}
        self._genai_models: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._dated: dict[tuple[str, str], list[PriceEntry]] = {}
        """Entries compiled for calls priced at a past (or future) moment, by genai-prices id."""
        self._warned: set[str | None] = set()
        with _tables_lock:
            _tables.add(self)

    def price_usage(
        self,
        model: str | None,
        usage: Usage,
        *,
        provider: str | None = None,
        service_tier: str | None = None,
        size: str | None = None,
        when: datetime | None = None,
        quality: str | None = None,
        requested_model: str | None = None,
        warn_unknown: bool = True,
    ) -> Cost:
        """What ``usage`` of ``model`` cost.

        ``provider`` is the OpenTelemetry ``gen_ai.provider.name`` (a hint for the lookup),
        ``service_tier`` the tier the response reported (else the one requested), ``size`` a
        video resolution or image size such as ``1024x1792``, ``quality`` an image quality
        (``standard``, ``hd``, ``low``...), ``when`` the moment the call was made (now by
        default): it is priced with the prices in force then. An unknown model gives
        ``total=None`` and status ``unknown_model`` (logged once per name); an empty usage gives
        ``total=None`` and ``no_usage``.

        ``requested_model`` is the model the request named, when ``model`` is the one the response
        reported: a response model the table does not know (a snapshot name such as
        ``davinci:2023-07-21-v2``) is then priced as the requested model, ``estimated`` with the
        reason, unless it is a fine-tuned model, whose rates are its own. ``warn_unknown=False``
        keeps an unknown model from being logged (the call's cost is known otherwise: a gateway's).
        """
        try:
            entry = self._resolved[(model, provider)]
        except KeyError:
            entry = self._resolve(model, provider)
        if entry is None:
            if requested_model and requested_model != model and not _fine_tuned(model):
                fallback = self.price_usage(
                    requested_model,
                    usage,
                    provider=provider,
                    service_tier=service_tier,
                    size=size,
                    when=when,
                    quality=quality,
                    warn_unknown=False,
                )
                if fallback.total is not None:
                    return _as_requested_model(fallback, model, requested_model)
            if warn_unknown:
                self._warn_unknown(model, provider)
            return Cost(None, {}, "unknown_model")
        if usage.is_empty:
            return Cost(None, {}, "no_usage", entry.model, entry.source)
        moment = time() if when is None else _timestamp(when)
        if not entry.valid_from <= moment < entry.valid_until:
            entry = self._entry_at(model, provider, entry, moment, current=when is None)
        return entry.price(usage, service_tier, size, quality)

    def _entry_at(
        self, model: str | None, provider: str | None, entry: PriceEntry, moment: float, current: bool
    ) -> PriceEntry:
        """``entry`` compiled with the prices in force at ``moment``; the current one is cached."""
        key = (entry.provider or "", entry.model)
        found = self._genai_models.get(key)
        if found is None:  # not a genai-prices entry: always valid
            return entry
        if current:
            latest = self._genai_entries.get(key)
            if latest is None or not latest.valid_from <= moment < latest.valid_until:
                latest = self._compile(*found, datetime.fromtimestamp(moment, UTC))
                self._genai_entries[key] = latest
            if self._resolved.get((model, provider)) is entry:
                self._resolved[(model, provider)] = latest
            return latest
        dated = self._dated.setdefault(key, [])
        for candidate in dated:
            if candidate.valid_from <= moment < candidate.valid_until:
                return candidate
        compiled = self._compile(*found, datetime.fromtimestamp(moment, UTC))
        if len(dated) < _MAX_DATED:
            dated.append(compiled)
        return compiled

    def resolve(
        self, model: str | None, provider: str | None = None, when: datetime | None = None
    ) -> PriceEntry | None:
        """The entry ``model`` is priced by (None when unknown), resolved once and cached.

        ``when`` asks for the entry in force at that moment (a genai-prices entry's prices can
        change on a date); by default, the one in force now.
        """
        entry = self._resolve(model, provider)
        if entry is not None:
            moment = time() if when is None else _timestamp(when)
            if not entry.valid_from <= moment < entry.valid_until:
                entry = self._entry_at(model, provider, entry, moment, current=when is None)
        return entry

    def _resolve(self, model: str | None, provider: str | None) -> PriceEntry | None:
        key = (model, provider)
        if key in self._resolved:
            return self._resolved[key]
        generation = _genai_generation
        entry = None if not model else self._find(model, provider)
        # An entry found while a price update replaced the data may be stale: not kept.
        if len(self._resolved) < _MAX_REMEMBERED and generation == _genai_generation:
            self._resolved[key] = entry
        return entry

    def entries(self, pattern: str | None = None, provider: str | None = None) -> list[PriceEntry]:
        """The effective entries whose id matches ``pattern``: user and llmmeter entries first, then
        genai-prices' entries, those of each model's own maker (openai for ``gpt-*``) before resellers'.

        ``pattern`` is a case-insensitive substring, or a shell wildcard when it contains ``*?[``;
        ``provider`` keeps only genai-prices entries of that genai-prices provider id.
        """
        match = _matcher(pattern)
        found = [] if provider else [entry for entry in self._unique_local() if match(entry.model)]
        if self._include_genai:
            genai = [
                (maker, entry)
                for maker, entry in self._genai_matches(match)
                if entry.model not in self._local and (provider is None or entry.provider == provider)
            ]
            found += [entry for maker, entry in genai if maker] + [
                entry for maker, entry in genai if not maker
            ]
        return found

    def names(self) -> list[str]:
        """Every model id and alias the table knows, lower case (for suggestions; nothing is compiled)."""
        names = list(self._local)
        if self._include_genai:
            names += sorted({str(info.id).lower() for _, info in _genai.iter_models()})
        return names

    def _find(self, model: str, provider: str | None) -> PriceEntry | None:
        name = model.strip().lower()
        name = self._deployments.get(name, name).strip().lower()
        for candidate, hints in candidates(name, genai_provider_hints(provider)):
            entry = self._find_candidate(candidate, hints)
            if entry is not None:
                return entry
        return None

    def _find_candidate(self, name: str, hints: Hints) -> PriceEntry | None:
        entry = self._local.get(name)
        if entry is not None or not self._include_genai:
            return entry
        found = _genai.find(name, hints)
        if found is None:
            return None
        provider, info = found
        if is_fine_tune(name) and not is_fine_tune(str(info.id)):
            return None  # a fine-tuned model is never priced as its base model
        # A higher layer that defines the model genai-prices matched wins (gpt-4o-2024-08-06 -> gpt-4o).
        return self._local.get(str(info.id).lower()) or self._genai_entry(provider, info)

    def _genai_entry(self, provider: Any, info: Any) -> PriceEntry:
        key = (str(provider.id), str(info.id))
        entry = self._genai_entries.get(key)
        known = self._genai_models.get(key)
        # ``info`` from another snapshot than the cached entry's: a price update came in between.
        if entry is None or known is None or known[1] is not info:
            entry = self._compile(provider, info, None)
            self._genai_models[key] = (provider, info)
            self._genai_entries[key] = entry
        return entry

    def _compile(self, provider: Any, info: Any, when: datetime | None) -> PriceEntry:
        provider_id = str(provider.id)
        patch = self._patches.get((provider_id, str(info.id).lower()))
        return _genai.to_entry(provider, info, when, patch, self._tier_rules.get(provider_id))

    def _prices_changed(self) -> None:
        """genai-prices' data was replaced (a runtime price update): compile everything again."""
        self._resolved = {}
        self._genai_entries = {}
        self._genai_models = {}
        self._dated = {}

    def _unique_local(self) -> Iterator[PriceEntry]:
        seen: set[int] = set()
        for entry in self._local.values():
            if id(entry) not in seen:
                seen.add(id(entry))
                yield entry

    def _genai_matches(self, match: Callable[[str], bool]) -> Iterator[tuple[bool, PriceEntry]]:
        """(made by its provider, entry) for each genai-prices model whose id matches."""
        for provider, info in _genai.iter_models():
            model_id = str(info.id).lower()
            if match(model_id):
                maker = provider.model_match is not None and provider.model_match.is_match(model_id)
                yield maker, self._genai_entry(provider, info)

    def _warn_unknown(self, model: str | None, provider: str | None) -> None:
        if model in self._warned or len(self._warned) >= _MAX_REMEMBERED:
            return
        self._warned.add(model)
        _log.warning(
            "llmmeter has no price for model %r (provider %r): its cost is reported as unknown; "
            "add it to a pricing file (LLMMETER_PRICING_FILE) to price it",
            model,
            provider,
        )


def _fine_tuned(model: str | None) -> bool:
    return model is not None and is_fine_tune(model.strip().lower())


def _as_requested_model(cost: Cost, model: str | None, requested: str) -> Cost:
    """``cost`` (priced as the requested model) marked estimated: the response named another model."""
    reason = f"the response model {model!r} has no price; priced as the requested model {requested!r}"
    if cost.reason:
        reason = f"{reason}; {cost.reason}"
    return replace(cost, status="estimated", reason=reason)


def _with_tier_rules(
    entries: Mapping[str, PriceEntry], rules: Mapping[str, Mapping[str, Decimal]]
) -> dict[str, PriceEntry]:
    """``entries`` with their provider's tier rules applied (an entry and its aliases stay one object)."""
    done: dict[int, PriceEntry] = {}
    result: dict[str, PriceEntry] = {}
    for name, entry in entries.items():
        found = done.get(id(entry))
        if found is None:
            provider_rules = rules.get(entry.provider or "")
            found = done[id(entry)] = entry if not provider_rules else entry.with_tier_rules(provider_rules)
        result[name] = found
    return result


def _timestamp(when: datetime) -> float:
    """POSIX seconds of ``when``; a naive datetime is taken as UTC, as genai-prices takes it."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


_tables: weakref.WeakSet[PricingTable] = weakref.WeakSet()
_tables_lock = new_lock()
_genai_generation = 0
"""Bumped by each runtime price update."""


def prices_changed() -> None:
    """Tell every table that genai-prices' data was replaced, so each compiles its entries again.

    Called by the runtime price update after it has installed the new data; overrides, files and
    the supplement are kept (they are llmmeter's own layers).
    """
    global _genai_generation
    _genai_generation += 1
    with _tables_lock:
        tables = list(_tables)
    for table in tables:
        table._prices_changed()


def _matcher(pattern: str | None) -> Callable[[str], bool]:
    if not pattern:
        return lambda name: True
    pattern = pattern.strip().lower()
    if any(char in pattern for char in "*?["):
        return lambda name: fnmatch.fnmatchcase(name, pattern)
    return lambda name: pattern in name


_default: PricingTable | None = None
_default_error: PricingFileError | None = None
"""Why the default table could not be built (a broken ``LLMMETER_PRICING_FILE``), kept so each
call does not parse the broken file again."""
_default_lock = new_lock()


def get_table() -> PricingTable:
    """The process-wide table, built on first use (with the files named by ``LLMMETER_PRICING_FILE``).

    Raises:
        PricingFileError: a file named by ``LLMMETER_PRICING_FILE`` is malformed (every time,
            without reading it again, until :func:`set_table` or ``configure()`` replaces it).
    """
    table = _default
    if table is None:
        table = _build_default()
    return table


def _build_default() -> PricingTable:
    global _default, _default_error
    with _default_lock:
        if _default_error is not None:
            raise _default_error
        if _default is None:
            files = [path for path in os.environ.get(PRICING_FILE_ENV, "").split(os.pathsep) if path]
            try:
                _default = PricingTable(files=files)
            except PricingFileError as error:
                _default_error = error
                raise
        return _default


def set_table(table: PricingTable | None) -> None:
    """Replace the process-wide table; None rebuilds the default on next use."""
    global _default, _default_error
    with _default_lock:
        _default = table
        _default_error = None


def price(
    model: str,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
    reasoning_tokens: int = 0,
    input_audio_tokens: int = 0,
    output_audio_tokens: int = 0,
    input_image_tokens: int = 0,
    output_image_tokens: int = 0,
    training_tokens: int = 0,
    seconds: float = 0,
    size: str | None = None,
    service_tier: str | None = None,
    provider: str | None = None,
    cache_read_audio_tokens: int = 0,
    cache_read_image_tokens: int = 0,
    images: int = 0,
    requests: int = 0,
    characters: int = 0,
    when: datetime | None = None,
    quality: str | None = None,
) -> Cost:
    """What a call to ``model`` with this usage costs, from the process-wide table.

    ``input_tokens`` is ALL input (cache reads and writes, audio and image included) and
    ``output_tokens`` ALL output (reasoning, audio and image included): the other counts are parts
    of those two. ``cache_read_audio_tokens`` and ``cache_read_image_tokens`` are the audio and image
    parts of ``cache_read_tokens`` (and of ``input_audio_tokens`` / ``input_image_tokens``).
    ``characters`` counts input characters, for models billed by the character (tts-1).
    ``images`` counts images billed per image (DALL-E), priced by ``size`` and ``quality``
    (``standard``, ``hd``; the Images API's defaults, ``standard`` and ``1024x1024``, when None).
    ``when`` is the moment the call was made (default now): it is priced with the prices in force
    then. ``service_tier`` is the tier the response reported (``batch``, ``flex``, ``priority``...);
    a tier the model has no price for, and no provider rule covers, is priced at the standard rates
    with status ``estimated`` and a ``reason``.
    """
    usage = Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read_tokens,
        cache_write_tokens=cache_write_tokens,
        cache_write_1h_tokens=cache_write_1h_tokens,
        reasoning_tokens=reasoning_tokens,
        input_audio_tokens=input_audio_tokens,
        output_audio_tokens=output_audio_tokens,
        input_image_tokens=input_image_tokens,
        output_image_tokens=output_image_tokens,
        training_tokens=training_tokens,
        seconds=seconds,
        cache_read_audio_tokens=cache_read_audio_tokens,
        cache_read_image_tokens=cache_read_image_tokens,
        images=images,
        requests=requests,
        characters=characters,
    )
    return get_table().price_usage(
        model, usage, provider=provider, service_tier=service_tier, size=size, when=when, quality=quality
    )
