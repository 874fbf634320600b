"""The few errors llmmeter raises.

    LLMMeterError                 base of everything llmmeter raises on purpose
    ├── ConfigurationError        an unknown option or a bad setting, at load
    │   └── PricingFileError      a malformed pricing file: names the file, the entry and the field
    └── BudgetExceeded            a metered request refused because a budget() block is spent

Errors from the user's own calls (HTTP, SDK, LangChain) are never wrapped or replaced.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["BudgetExceeded", "ConfigurationError", "LLMMeterError", "PricingFileError"]


class LLMMeterError(Exception):
    """Base class of the errors llmmeter raises on purpose."""


class ConfigurationError(LLMMeterError, ValueError):
    """An option or setting that llmmeter cannot use."""


class PricingFileError(ConfigurationError):
    """A pricing file that cannot be loaded; the message names the file, the entry and the field."""

    def __init__(self, path: str, entry: str | None, field: str | None, problem: str) -> None:
        self.path = path
        self.entry = entry
        self.field = field
        self.problem = problem
        where = path
        if entry is not None:
            where += f", entry {entry!r}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"invalid pricing file {where}: {problem}")


class BudgetExceeded(LLMMeterError):
    """Raised before a metered request is sent when the enclosing budget is already spent."""

    def __init__(self, limit_usd: Decimal, spent_usd: Decimal, name: str | None = None) -> None:
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.name = name
        label = f"budget {name!r}" if name else "budget"
        super().__init__(f"{label} of ${limit_usd} reached (spent ${spent_usd}); the request was not sent")
