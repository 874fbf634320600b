"""The few errors llmmeter raises.

    LLMMeterError                 base of everything llmmeter raises on purpose
    ├── ConfigurationError        an unknown option or a bad setting, at load
    │   └── PricingFileError      a malformed pricing file: names the file, the entry and the field
    └── BudgetExceeded            a metered request refused because it would pass a budget() limit
        └── BudgetUnavailable     refused because the budget store could not be reached
                                  (budget(on_store_error="refuse"))

Errors from the user's own calls (HTTP, SDK, LangChain) are never wrapped or replaced.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["BudgetExceeded", "BudgetUnavailable", "ConfigurationError", "LLMMeterError", "PricingFileError"]


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
    """Raised before a metered request is sent when it could pass the limit of an enclosing budget.

    ``spent_usd`` is the budget window's finished spend, ``reserved_usd`` the worst-case cost of its
    requests in flight, ``request_usd`` the worst-case cost of the refused request.
    """

    def __init__(
        self,
        limit_usd: Decimal,
        spent_usd: Decimal,
        name: str | None = None,
        *,
        reserved_usd: Decimal = Decimal(0),
        request_usd: Decimal = Decimal(0),
    ) -> None:
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.reserved_usd = reserved_usd
        self.request_usd = request_usd
        self.name = name
        label = f"budget {name!r}" if name else "budget"
        if spent_usd >= limit_usd:
            detail = f"reached (spent ${spent_usd})"
        else:
            detail = (
                f"would be passed (spent ${spent_usd}, reserved by requests in flight ${reserved_usd}, "
                f"this request up to ${request_usd})"
            )
        super().__init__(f"{label} of ${limit_usd} {detail}; the request was not sent")


class BudgetUnavailable(BudgetExceeded):
    """Raised before a metered request is sent when its budget's store cannot be reached in time and
    the budget says ``on_store_error="refuse"``. ``spent_usd`` is 0: the spend is not known."""

    def __init__(self, limit_usd: Decimal, name: str | None, reason: str) -> None:
        BudgetExceeded.__init__(self, limit_usd, Decimal(0), name)
        self.reason = reason
        self.args = (f"budget {name!r}: its store could not be reached ({reason}); the request was not sent",)

    def __str__(self) -> str:
        return str(self.args[0])
