"""The result of pricing one call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

__all__ = ["Cost", "CostOrigin", "CostStatus"]

CostOrigin = Literal["local", "provider"]
CostStatus = Literal["ok", "unknown_model", "no_usage", "estimated", "invalid_usage", "pricing_error"]


@dataclass(slots=True)
class Cost:
    """What one call cost, in US dollars, as exact Decimals.

    ``total`` is None when the model is unknown: an unknown price is never reported as $0.
    ``components`` maps each priced part (``input``, ``cache_read``, ``cache_write``,
    ``cache_write_1h``, ``output``, ``reasoning``, ``input_audio``, ``output_audio``, ``video``,
    ``training``, ...) to its cost; only the parts that were used appear.
    ``status`` is ``ok``; ``unknown_model``; ``no_usage`` (no usage was reported, so nothing could be
    priced); ``estimated`` (priced, but some part fell back to another rate, or the usage itself
    is incomplete, such as a stream cut short); or ``invalid_usage`` (the provider reported a count
    that cannot be one, see :attr:`llmmeter.Usage.invalid`: nothing is priced or written to a metric);
    or ``pricing_error`` (the pricing table could not be loaded: a malformed ``LLMMETER_PRICING_FILE``;
    the call is recorded with its tokens, and the error is logged once, naming file, entry and field).
    ``model`` is the price entry used (``gpt-5.4``, ``ft:gpt-4.1``) and ``source`` the layer it came
    from (``user``, ``llmmeter``, ``genai-prices``).
    ``reason`` says why a priced cost is ``estimated`` (a service tier the model has no price for, a
    modality billed at another rate, usage whose parts exceed its totals), or why a call that went
    through a gateway reporting costs was priced locally (a stream, a malformed figure).
    ``origin`` is ``local`` (priced from the table) or ``provider``: the response stated the cost (a
    gateway such as OpenRouter or LiteLLM proxy), and ``total`` is that figure whatever the table
    knows; ``local_total`` is then the table's own estimate, when it has one.
    """

    total: Decimal | None
    components: Mapping[str, Decimal] = field(default_factory=dict)
    status: CostStatus = "ok"
    model: str | None = None
    source: str | None = None
    service_tier: str | None = None
    currency: str = "USD"
    reason: str | None = None
    origin: CostOrigin = "local"
    local_total: Decimal | None = None
