"""The cost arithmetic: usage split into disjoint parts, each billed once at its rate.

    input  = uncached text + cache reads (text, audio, image) + cache writes (5 min, 1 h) + audio + image
    output = text (reasoning included) + reasoning with a rate of its own + audio + image

Images are billed per image (by quality and size) when the usage counts images but no output tokens:
what DALL-E bills; for a model billed by the token (GPT Image) whose response reported no tokens, the
per-image prices its page quotes make an ``estimated`` cost.

A part without a rate of its own falls back to the closest rate that exists (cached audio to the
cache rate, audio to the text rate...) and makes the bill ``estimated``, with a reason -- except cache writes,
which cost the input rate wherever a provider charges nothing extra for them (OpenAI). A part with no rate at
all is left out (also ``estimated``, and logged once per model and part). Usage whose parts exceed
its totals is inconsistent: the remainder is taken as zero and the bill is ``estimated``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import NamedTuple

from llmmeter._pricing._rates import ImagePrices, Rates, RateSchedule, quality_key, size_key
from llmmeter._usage import Usage

__all__ = ["ZERO", "Bill", "Charge"]

_log = logging.getLogger("llmmeter")

ZERO = Decimal(0)
_SECONDS_PER_HOUR = 3600


class Charge(NamedTuple):
    """One priced part of a call, for breakdowns."""

    component: str
    units: Decimal
    unit: str
    """What ``units`` counts: ``tokens``, ``characters``, ``requests``, ``seconds``."""
    rate: Decimal
    """USD per ``rate_per`` units."""
    rate_per: int
    cost: Decimal


_warned_parts: set[tuple[str, str]] = set()


class Bill:
    """The arithmetic of one call: splits usage into disjoint parts and prices each one."""

    __slots__ = ("charges", "components", "estimated", "model", "reason", "unpriced")

    def __init__(self, model: str, charges: list[Charge] | None) -> None:
        self.model = model
        self.charges = charges
        self.components: dict[str, Decimal] = {}
        self.estimated = False
        self.unpriced = False
        self.reason: str | None = None

    def run(self, usage: Usage, schedule: RateSchedule, size: str | None, quality: str | None = None) -> None:
        """Price every part of ``usage`` with the rates of ``schedule`` that apply to its size
        (a video's resolution, an image's size) and quality (an image's)."""
        audio_cached, image_cached = self._cached_media(usage)
        input_parts = (
            usage.cache_read_tokens
            + usage.input_audio_tokens
            - audio_cached
            + usage.input_image_tokens
            - image_cached
            + usage.cache_write_tokens
            + usage.cache_write_1h_tokens
        )
        rates = schedule.for_input(max(usage.input_tokens, input_parts))
        self._input(usage, rates, input_parts, audio_cached, image_cached)
        self._output(usage, rates)
        if (
            usage.training_tokens
            or usage.seconds
            or usage.characters
            or usage.images
            or rates.request is not None
        ):
            self._other_units(usage, rates, size, quality)

    def _cached_media(self, usage: Usage) -> tuple[int, int]:
        """The audio and image parts of the cache reads, each also a part of its modality's input."""
        audio_cached = usage.cache_read_audio_tokens
        image_cached = usage.cache_read_image_tokens
        if not (audio_cached or image_cached):
            return 0, 0
        audio = min(audio_cached, usage.input_audio_tokens, usage.cache_read_tokens)
        image = min(image_cached, usage.input_image_tokens, usage.cache_read_tokens - audio)
        if (audio, image) != (audio_cached, image_cached):
            self.inconsistent()
        return audio, image

    def _input(
        self, usage: Usage, rates: Rates, parts_total: int, audio_cached: int, image_cached: int
    ) -> None:
        self.tokens("input", self._remainder(usage.input_tokens, parts_total), rates.input)
        if usage.cache_read_tokens:
            text_cached = usage.cache_read_tokens - audio_cached - image_cached
            self.tokens("cache_read", text_cached, rates.cache_read, rates.input)
        if audio_cached:
            cached_audio_rates = (rates.cache_read, rates.input_audio, rates.input)
            self.tokens("cache_read_audio", audio_cached, rates.cache_audio_read, *cached_audio_rates)
        if image_cached:
            cached_image_rates = (rates.cache_read, rates.input_image, rates.input)
            self.tokens("cache_read_image", image_cached, rates.cache_image_read, *cached_image_rates)
        if usage.cache_write_tokens or usage.cache_write_1h_tokens:
            # Writes cost the input rate unless the entry says otherwise (OpenAI): not an estimate.
            write_rate = rates.cache_write if rates.cache_write is not None else rates.input
            self.tokens("cache_write", usage.cache_write_tokens, write_rate)
            write_1h_rates = (rates.cache_write, rates.input)
            self.tokens("cache_write_1h", usage.cache_write_1h_tokens, rates.cache_write_1h, *write_1h_rates)
        if usage.input_audio_tokens or usage.input_image_tokens:
            self.tokens(
                "input_audio", usage.input_audio_tokens - audio_cached, rates.input_audio, rates.input
            )
            self.tokens(
                "input_image", usage.input_image_tokens - image_cached, rates.input_image, rates.input
            )

    def _output(self, usage: Usage, rates: Rates) -> None:
        reasoning = usage.reasoning_tokens if rates.output_reasoning is not None else 0
        parts_total = reasoning + usage.output_audio_tokens + usage.output_image_tokens
        self.tokens("output", self._remainder(usage.output_tokens, parts_total), rates.output)
        if parts_total:
            self.tokens("reasoning", reasoning, rates.output_reasoning)
            self.tokens("output_audio", usage.output_audio_tokens, rates.output_audio, rates.output)
            self.tokens("output_image", usage.output_image_tokens, rates.output_image, rates.output)

    def _other_units(self, usage: Usage, rates: Rates, size: str | None, quality: str | None) -> None:
        self.tokens("training", usage.training_tokens, rates.training)
        if usage.characters:
            if rates.character is None:
                self._no_rate("characters")
            else:
                self.add("characters", usage.characters, "characters", rates.character, 1)
        if rates.request is not None:
            self.add("requests", max(usage.requests, 1), "requests", rates.request, 1)
        if usage.seconds:
            self._seconds(_seconds(usage.seconds), rates, size)
        if usage.images and not usage.output_tokens:
            self._images(usage.images, rates, size, quality)

    def _images(self, images: int, rates: Rates, size: str | None, quality: str | None) -> None:
        """Bill ``images`` per image; never as $0 when the entry has no per-image price."""
        table = rates.image_by_quality
        if not table:
            self._no_rate("images")
            return
        chosen_quality = _pick_quality(table, quality)
        by_size = table[chosen_quality]
        chosen_size = _pick_size(by_size, size)
        if rates.output is not None or rates.output_image is not None:
            self.estimate(
                f"the response reported no token usage; estimated from {self.model}'s per-image price "
                f"({images} x {chosen_quality} {chosen_size})"
            )
        if chosen_quality != (quality_key(quality) if quality else _DEFAULT_IMAGE_QUALITY):
            named = f"quality {quality!r}" if quality else "the default quality"
            self.estimate(f"{self.model} has no per-image price for {named}; priced at {chosen_quality}")
        if chosen_size != (size_key(size) if size else _DEFAULT_IMAGE_SIZE):
            named = f"size {size!r}" if size else "the default size"
            self.estimate(f"{self.model} has no per-image price for {named}; priced at {chosen_size}")
        self.add("images", images, "images", by_size[chosen_size], 1)

    def _seconds(self, seconds: Decimal, rates: Rates, size: str | None) -> None:
        by_size = rates.video_second_by_size
        if size is not None and by_size:
            rate = by_size.get(size_key(size))
            if rate is not None:
                self.add("video", seconds, "seconds", rate, 1)
                return
            self.estimate(f"{self.model} has no price for size {size!r}; billed at its default size's rate")
        if rates.video_second is not None:
            self.add("video", seconds, "seconds", rates.video_second, 1)
        elif rates.audio_hour is not None:
            self.add("audio", seconds, "seconds", rates.audio_hour, _SECONDS_PER_HOUR)
        elif rates.training_hour is not None:
            self.add("training_time", seconds, "seconds", rates.training_hour, _SECONDS_PER_HOUR)
        else:
            self._no_rate("seconds")

    def _remainder(self, total: int, parts: int) -> int:
        """``total`` minus its parts; a usage whose parts exceed the total is inconsistent."""
        if parts > total:
            self.inconsistent()
            return 0
        return total - parts

    def inconsistent(self) -> None:
        """Mark the bill estimated because the usage's parts exceed its totals."""
        self.estimate("the usage's parts exceed its totals; the remainder is taken as zero")

    def estimate(self, reason: str) -> None:
        """Mark the bill ``estimated``, keeping the first ``reason`` given."""
        self.estimated = True
        if self.reason is None:
            self.reason = reason

    def tokens(self, component: str, count: int, rate: Decimal | None, *fallbacks: Decimal | None) -> None:
        """Bill ``count`` tokens at ``rate``, else at the first fallback that exists (estimated)."""
        if count <= 0:
            return
        if rate is None:
            rate = next((fallback for fallback in fallbacks if fallback is not None), None)
            if rate is None:
                self._no_rate(component)
                return
            self.estimate(f"{self.model} has no {component} price; those tokens are billed at another rate")
        self.add(component, count, "tokens", rate, 1)

    def add(self, component: str, units: int | Decimal, unit: str, rate: Decimal, per: int) -> None:
        """Add ``units`` at ``rate`` USD per ``per`` units to the bill."""
        cost = units * rate if per == 1 else units * rate / per
        components = self.components
        components[component] = components[component] + cost if component in components else cost
        if self.charges is not None:
            self.charges.append(Charge(component, Decimal(units), unit, rate, per, cost))

    def _no_rate(self, component: str) -> None:
        self.estimate(f"{self.model} has no {component} price; that part of its cost is left out")
        self.unpriced = True
        key = (self.model, component)
        if key not in _warned_parts:
            _warned_parts.add(key)
            _log.warning(
                "llmmeter has no %s price for %r; that part of its cost is left out", component, key[0]
            )


_DEFAULT_IMAGE_QUALITY = "standard"
_DEFAULT_IMAGE_SIZE = "1024x1024"
"""What the Images API generates when a request names no quality or size (DALL-E's defaults)."""


def _pick_quality(table: ImagePrices, quality: str | None) -> str:
    """The quality an image is priced at: the one named, else the default, else the priciest."""
    key = quality_key(quality) if quality else _DEFAULT_IMAGE_QUALITY
    if key in table:
        return key
    return max(table, key=lambda name: max(table[name].values(), default=ZERO))


def _pick_size(by_size: Mapping[str, Decimal], size: str | None) -> str:
    """The size an image is priced at: the one named, else the default, else the priciest."""
    key = size_key(size) if size else _DEFAULT_IMAGE_SIZE
    if key in by_size:
        return key
    return max(by_size, key=lambda name: by_size[name])


def _seconds(value: float) -> Decimal:
    """Seconds as an exact Decimal of their written form (0.1 stays 0.1)."""
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(value))
