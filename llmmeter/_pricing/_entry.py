"""A resolved price entry: one model's rate schedules, and pricing a usage with them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

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
    """The genai-prices provider id, for entries from genai-prices."""
    origin: str | None = None
    """The file (or ``<overrides>``) a user or llmmeter entry was read from."""
    valid_from: float = -math.inf
    """The first moment (POSIX seconds) these prices are in force: genai-prices' prices change on
    dates, so an entry compiled from them holds only until the next change."""
    valid_until: float = math.inf
    """The moment (POSIX seconds) these prices stop being in force, exclusive."""

    @property
    def standard(self) -> Rates:
        """The standard-tier base rates, as shown in listings."""
        return self.schedules[STANDARD].base

    def price(self, usage: Usage, service_tier: str | None = None, size: str | None = None) -> Cost:
        """What ``usage`` costs at this entry's prices; see the module docstring for the rules."""
        return self._bill(usage, service_tier, size, None)

    def explain(
        self, usage: Usage, service_tier: str | None = None, size: str | None = None
    ) -> tuple[Cost, list[Charge]]:
        """The cost of ``usage`` together with one ``Charge`` per priced part."""
        charges: list[Charge] = []
        cost = self._bill(usage, service_tier, size, charges)
        return cost, charges

    def _bill(
        self, usage: Usage, service_tier: str | None, size: str | None, charges: list[Charge] | None
    ) -> Cost:
        tier = normalize_tier(service_tier)
        schedule = self.schedules.get(tier)
        bill = Bill(self.model, charges)
        if schedule is None:
            bill.estimate(f"{self.model} has no {tier} price; priced at the standard rates")
            tier, schedule = STANDARD, self.schedules[STANDARD]
        bill.run(usage, schedule, size)
        if not bill.components:
            status: CostStatus = "unknown_model" if bill.unpriced else "no_usage"
            return Cost(None, {}, status, self.model, self.source, tier, reason=bill.reason)
        total = sum(bill.components.values(), ZERO)
        if bill.estimated:
            return Cost(
                total, bill.components, "estimated", self.model, self.source, tier, reason=bill.reason
            )
        return Cost(total, bill.components, "ok", self.model, self.source, tier)
