"""llmmeter: meter every LLM call, price it exactly, report it as OpenTelemetry spans and metrics.

Two lines for an app::

    import llmmeter
    llmmeter.instrument()

Heavy parts (the price database, pydantic, the capture machinery) load on first use, so
``import llmmeter`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmmeter._budgets._status import budget_status
    from llmmeter._capture import AsyncMeteredTransport, MeteredTransport, meter_client
    from llmmeter._capture._instrument import instrument, uninstrument
    from llmmeter._config import configure
    from llmmeter._errors import (
        BudgetExceeded,
        BudgetUnavailable,
        ConfigurationError,
        LLMMeterError,
        PricingFileError,
    )
    from llmmeter._pricing import Cost, PricingTable, price
    from llmmeter._tracking import Spend, attributes, budget, track
    from llmmeter._usage import Usage

__version__ = "0.2.0"

__all__ = [
    "AsyncMeteredTransport",
    "BudgetExceeded",
    "BudgetUnavailable",
    "ConfigurationError",
    "Cost",
    "LLMMeterError",
    "MeteredTransport",
    "PricingFileError",
    "PricingTable",
    "Spend",
    "Usage",
    "__version__",
    "attributes",
    "budget",
    "budget_status",
    "configure",
    "instrument",
    "meter_client",
    "price",
    "track",
    "uninstrument",
]

_LAZY: dict[str, str] = {
    "AsyncMeteredTransport": "llmmeter._capture",
    "MeteredTransport": "llmmeter._capture",
    "meter_client": "llmmeter._capture",
    "instrument": "llmmeter._capture._instrument",
    "uninstrument": "llmmeter._capture._instrument",
    "configure": "llmmeter._config",
    "BudgetExceeded": "llmmeter._errors",
    "BudgetUnavailable": "llmmeter._errors",
    "ConfigurationError": "llmmeter._errors",
    "LLMMeterError": "llmmeter._errors",
    "PricingFileError": "llmmeter._errors",
    "Cost": "llmmeter._pricing",
    "PricingTable": "llmmeter._pricing",
    "price": "llmmeter._pricing",
    "Spend": "llmmeter._tracking",
    "attributes": "llmmeter._tracking",
    "budget": "llmmeter._tracking",
    "budget_status": "llmmeter._budgets._status",
    "track": "llmmeter._tracking",
    "Usage": "llmmeter._usage",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmmeter' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
