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
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from llmmeter._errors import PricingFileError
from llmmeter._pricing import _genai
from llmmeter._pricing._cost import Cost
from llmmeter._pricing._entry import PriceEntry
from llmmeter._pricing._names import Hints, candidates, genai_provider_hints, is_fine_tune
from llmmeter._usage import Usage

__all__ = ["PRICING_FILE_ENV", "PricingTable", "get_table", "price", "set_table"]

PRICING_FILE_ENV = "LLMMETER_PRICING_FILE"
"""Environment variable naming user pricing files (several separated by ``os.pathsep``)."""

SUPPLEMENT_PATH = Path(__file__).with_name("supplement.toml")

_log = logging.getLogger("llmmeter")

_MAX_REMEMBERED = 10_000
"""Model names remembered (resolved, or warned about); bounds memory when names are arbitrary."""


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
        for layer in layers:  # lowest first, so higher layers overwrite
            self._local.update(layer.entries)
            self._deployments.update(layer.deployments)
        for name, model in (deployments or {}).items():
            self._deployments[name.strip().lower()] = model
        self._include_genai = include_genai_prices
        self._resolved: dict[tuple[str | None, str | None], PriceEntry | None] = {}
        self._genai_entries: dict[tuple[str, str], PriceEntry] = {}
        self._warned: set[str | None] = set()

    def price_usage(
        self,
        model: str | None,
        usage: Usage,
        *,
        provider: str | None = None,
        service_tier: str | None = None,
        size: str | None = None,
    ) -> Cost:
        """What ``usage`` of ``model`` cost.

        ``provider`` is the OpenTelemetry ``gen_ai.provider.name`` (a hint for the lookup),
        ``service_tier`` the tier the response reported (else the one requested), ``size`` a
        video resolution such as ``1024x1792``. An unknown model gives ``total=None`` and status
        ``unknown_model`` (logged once per name); an empty usage gives ``total=None`` and
        ``no_usage``.
        """
        try:
            entry = self._resolved[(model, provider)]
        except KeyError:
            entry = self.resolve(model, provider)
        if entry is None:
            self._warn_unknown(model, provider)
            return Cost(None, {}, "unknown_model")
        if usage.is_empty:
            return Cost(None, {}, "no_usage", entry.model, entry.source)
        return entry.price(usage, service_tier, size)

    def resolve(self, model: str | None, provider: str | None = None) -> PriceEntry | None:
        """The entry ``model`` is priced by (None when unknown), resolved once and cached."""
        key = (model, provider)
        if key in self._resolved:
            return self._resolved[key]
        entry = None if not model else self._find(model, provider)
        if len(self._resolved) < _MAX_REMEMBERED:
            self._resolved[key] = entry
        return entry

    def entries(self, pattern: str | None = None, provider: str | None = None) -> list[PriceEntry]:
        """The effective entries whose id matches ``pattern``, user and llmmeter entries first.

        ``pattern`` is a case-insensitive substring, or a shell wildcard when it contains ``*?[``;
        ``provider`` keeps only genai-prices entries of that genai-prices provider id.
        """
        match = _matcher(pattern)
        found = [] if provider else [entry for entry in self._unique_local() if match(entry.model)]
        if self._include_genai:
            found += [
                entry
                for entry in self._genai_matches(match)
                if entry.model not in self._local and (provider is None or entry.provider == provider)
            ]
        return found

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
        if entry is None:
            entry = self._genai_entries[key] = _genai.to_entry(provider, info)
        return entry

    def _unique_local(self) -> Iterator[PriceEntry]:
        seen: set[int] = set()
        for entry in self._local.values():
            if id(entry) not in seen:
                seen.add(id(entry))
                yield entry

    def _genai_matches(self, match: Callable[[str], bool]) -> Iterator[PriceEntry]:
        for provider, info in _genai.iter_models():
            if match(str(info.id).lower()):
                yield self._genai_entry(provider, info)

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
_default_lock = threading.Lock()


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
) -> Cost:
    """What a call to ``model`` with this usage costs, from the process-wide table.

    ``input_tokens`` is ALL input (cache reads and writes, audio and image included) and
    ``output_tokens`` ALL output (reasoning included): the other counts are parts of those two.
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
    )
    return get_table().price_usage(model, usage, provider=provider, service_tier=service_tier, size=size)
