"""A resolved price entry: one model's rate schedules, and pricing a usage with them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from llmmeter._pricing._bill import ZERO, Bill, Charge
from llmmeter._pricing._cost import Cost, CostStatus
from llmmeter._pricing._rates import STANDARD, Rates, RateSchedule, normalize_tier
from llmmeter._usage import Usage

__all__ = ["PriceEntry"]


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """A resolved price entry: what ``PricingTable.resolve`` returns and every price comes from."""

    model: str
    """The entry id, e.g. ``gpt-5.4`` or ``ft:gpt-4.1``."""
    source: str
    """The layer it comes from: ``user``, ``llmmeter`` or ``genai-prices``."""
    schedules: Mapping[str, RateSchedule]
    """Rate schedules by price tier; ``standard`` is always present."""
    provider: str | None = None
    """The genai-prices provider id: of an entry from genai-prices, or the one a pricing-file entry
    names, whose tier rules price the tiers the entry does not set."""
    origin: str | None = None
    """The file (or ``<overrides>``) a user or llmmeter entry was read from."""
    valid_from: float = -math.inf
    """The first moment (POSIX seconds) these prices are in force: genai-prices' prices change on
    dates, so an entry compiled from them holds only until the next change."""
    valid_until: float = math.inf
    """The moment (POSIX seconds) these prices stop being in force, exclusive."""

    def with_tier_rules(self, rules: Mapping[str, Decimal]) -> PriceEntry:
        """This entry, with each tier it lacks priced at a fraction of its standard rates."""
        missing = {tier: factor for tier, factor in rules.items() if tier not in self.schedules}
        if not missing:
            return self
        standard = self.schedules[STANDARD]
        schedules = {**self.schedules, **{tier: standard.scaled(factor) for tier, factor in missing.items()}}
        return replace(self, schedules=schedules)

    @property
    def standard(self) -> Rates:
        """The standard-tier base rates, as shown in listings."""
        return self.schedules[STANDARD].base

    def price(
        self,
        usage: Usage,
        service_tier: str | None = None,
        size: str | None = None,
        quality: str | None = None,
    ) -> Cost:
        """What ``usage`` costs at this entry's prices; see ``_bill`` for the rules. ``size`` is a
        video's resolution or an image's size, ``quality`` an image's (``standard``, ``hd``, ``high``)."""
        tier = normalize_tier(service_tier)
        schedule = self.schedules.get(tier)
        if schedule is not None:
            cost = self._text_cost(usage, schedule, tier)
            if cost is not None:
                return cost
        return self._bill(usage, tier, schedule, size, quality, None)

    def explain(
        self,
        usage: Usage,
        service_tier: str | None = None,
        size: str | None = None,
        quality: str | None = None,
    ) -> tuple[Cost, list[Charge]]:
        """The cost of ``usage`` together with one ``Charge`` per priced part."""
        charges: list[Charge] = []
        tier = normalize_tier(service_tier)
        cost = self._bill(usage, tier, self.schedules.get(tier), size, quality, charges)
        return cost, charges

    def _bill(
        self,
        usage: Usage,
        tier: str,
        schedule: RateSchedule | None,
        size: str | None,
        quality: str | None,
        charges: list[Charge] | None,
    ) -> Cost:
        """``usage`` billed by :class:`Bill` at the ``schedule`` of ``tier`` (normalised; None when
        the entry has none: the standard rates, estimated)."""
        bill = Bill(self.model, charges)
        if schedule is None:
            bill.estimate(f"{self.model} has no {tier} price; priced at the standard rates")
            tier, schedule = STANDARD, self.schedules[STANDARD]
        bill.run(usage, schedule, size, quality)
        if not bill.components:
            status: CostStatus = "unknown_model" if bill.unpriced else "no_usage"
            return Cost(None, {}, status, self.model, self.source, tier, reason=bill.reason)
        total = sum(bill.components.values(), ZERO)
        if bill.estimated:
            return Cost(
                total, bill.components, "estimated", self.model, self.source, tier, reason=bill.reason
            )
        return Cost(total, bill.components, "ok", self.model, self.source, tier)

    def _text_cost(self, usage: Usage, schedule: RateSchedule, tier: str) -> Cost | None:
        """The cost of a text-only usage (input, cache reads, output with its reasoning) at rates that
        all exist, as :class:`Bill` computes it, without its machinery: most calls. None for any
        other usage, which :class:`Bill` prices."""
        if (
            usage.cache_write_tokens
            or usage.cache_write_1h_tokens
            or usage.input_audio_tokens
            or usage.input_image_tokens
            or usage.cache_read_audio_tokens
            or usage.cache_read_image_tokens
            or usage.output_audio_tokens
            or usage.output_image_tokens
            or usage.training_tokens
            or usage.seconds
            or usage.characters
            or usage.images
        ):
            return None
        input_tokens = usage.input_tokens
        cached = usage.cache_read_tokens
        if cached > input_tokens:
            return None  # inconsistent usage: Bill says so
        rates = schedule.for_input(input_tokens)
        input_rate, cache_rate, output_rate = rates.input, rates.cache_read, rates.output
        if (
            input_rate is None
            or output_rate is None
            or (cached and cache_rate is None)
            or rates.output_reasoning is not None
            or rates.request is not None
        ):
            return None
        components: dict[str, Decimal] = {}
        if input_tokens > cached:
            components["input"] = (input_tokens - cached) * input_rate
        if cached and cache_rate is not None:
            components["cache_read"] = cached * cache_rate
        if usage.output_tokens:
            components["output"] = usage.output_tokens * output_rate
        if not components:
            return None
        return Cost(sum(components.values(), ZERO), components, "ok", self.model, self.source, tier)
