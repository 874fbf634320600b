"""In-process attribution: :func:`track`, :func:`attributes` and :func:`budget`.

Each is a context manager usable with ``with`` and ``async with``. State lives in context
variables, so it follows asyncio tasks (each task sees the blocks it was started in) and never
leaks between threads. A call joins the blocks that were active when it STARTED, so a stream read
after its block closed still lands in that block. A thread started inside a block sees it only when
run in a copy of the context (``contextvars.copy_context().run``), as with any context variable.
"""

from __future__ import annotations

import logging
from contextvars import Token
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from llmmeter._budgets._store import BudgetKey, MemoryStore, Store
from llmmeter._budgets._stores import named_store
from llmmeter._budgets._windows import PERIODS, Period, window_of
from llmmeter._context import Sink, UserAttributes
from llmmeter._context import active_attributes as _active_attributes
from llmmeter._context import active_sinks as _active_spends
from llmmeter._errors import ConfigurationError
from llmmeter._locks import new_lock

if TYPE_CHECKING:
    from llmmeter._telemetry._record import CallRecord

__all__ = [
    "BudgetSpend",
    "ModelSpend",
    "Spend",
    "attributes",
    "budget",
    "enclosing_budgets",
    "track",
]

logger = logging.getLogger("llmmeter")


@dataclass(slots=True)
class ModelSpend:
    """What one model cost inside a :func:`track` block."""

    cost_usd: Decimal = Decimal(0)
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    unpriced_calls: int = 0


class Spend:
    """The running total of a :func:`track` block: every call made inside, counted once.

    ``cost_usd`` sums the calls that could be priced; ``unpriced_calls`` counts those that could
    not (unknown model, or no usage reported), whose tokens still count. Totals are exact the moment
    a call returns (or its stream ends): calls are priced on the caller's path.
    """

    def __init__(self) -> None:
        self._lock = new_lock()
        self._cost_usd = Decimal(0)
        self._input_tokens = 0
        self._output_tokens = 0
        self._cache_read_tokens = 0
        self._reasoning_tokens = 0
        self._calls = 0
        self._unpriced_calls = 0
        self._failed_calls = 0
        self._by_model: dict[str, ModelSpend] = {}

    def add(self, record: CallRecord) -> None:
        """Count one finished call (called by llmmeter, once per call)."""
        usage = record.usage
        total = record.cost.total
        model = record.cost.model or record.response_model or record.request_model or "unknown"
        with self._lock:
            self._calls += 1
            if record.error_type is not None:
                self._failed_calls += 1
            per_model = self._by_model.get(model)
            if per_model is None:
                per_model = self._by_model[model] = ModelSpend()
            per_model.calls += 1
            if total is None:
                self._unpriced_calls += 1
                per_model.unpriced_calls += 1
            else:
                self._cost_usd += total
                per_model.cost_usd += total
            if usage is not None:
                self._input_tokens += usage.input_tokens
                self._output_tokens += usage.output_tokens
                self._cache_read_tokens += usage.cache_read_tokens
                self._reasoning_tokens += usage.reasoning_tokens
                per_model.input_tokens += usage.input_tokens
                per_model.output_tokens += usage.output_tokens

    @property
    def cost_usd(self) -> Decimal:
        """Exact total cost of the priced calls, in US dollars."""
        return self._cost_usd

    @property
    def input_tokens(self) -> int:
        """All input tokens (cached included)."""
        return self._input_tokens

    @property
    def output_tokens(self) -> int:
        """All output tokens (reasoning included)."""
        return self._output_tokens

    @property
    def cache_read_tokens(self) -> int:
        """Input tokens read from a prompt cache."""
        return self._cache_read_tokens

    @property
    def reasoning_tokens(self) -> int:
        """Output tokens spent on reasoning."""
        return self._reasoning_tokens

    @property
    def calls(self) -> int:
        """Calls made inside the block, each counted once."""
        return self._calls

    @property
    def unpriced_calls(self) -> int:
        """Calls that could not be priced (unknown model or no usage)."""
        return self._unpriced_calls

    @property
    def failed_calls(self) -> int:
        """Calls that ended in an error."""
        return self._failed_calls

    @property
    def by_model(self) -> dict[str, ModelSpend]:
        """A snapshot of the spend per price entry (or reported model)."""
        with self._lock:
            return {model: replace(spend) for model, spend in self._by_model.items()}

    def __repr__(self) -> str:
        return (
            f"Spend(cost_usd={self.cost_usd}, calls={self._calls}, input_tokens={self._input_tokens}, "
            f"output_tokens={self._output_tokens})"
        )


class _Block:
    """A context manager that pushes ``self.spend`` onto the active spends while open."""

    spend: Spend

    def __init__(self) -> None:
        self._tokens: list[Token[tuple[Sink, ...]]] = []

    def __enter__(self) -> Spend:
        self._tokens.append(_active_spends.set((*_active_spends.get(), self.spend)))
        return self.spend

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _active_spends.reset(self._tokens.pop())

    async def __aenter__(self) -> Spend:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


class track(_Block):
    """Sum the cost, tokens and calls of every LLM call made inside the block.

    Blocks nest: an inner block's calls count in every enclosing block too. Works with ``with``
    and ``async with``, and is safe across threads and asyncio tasks.
    """

    def __init__(self) -> None:
        super().__init__()
        self.spend = Spend()


class BudgetSpend(Spend):
    """The spend of a :func:`budget` block, with its limit.

    The block's own calls are counted here (``cost_usd``, ``calls``...); what the limit is held
    against is the budget window's spend in its store (see :mod:`llmmeter._budgets`).
    """

    def __init__(
        self,
        limit_usd: Decimal,
        mode: Literal["raise", "warn"],
        name: str | None,
        per: Period | None = None,
        on_store_error: Literal["allow", "refuse"] = "allow",
    ) -> None:
        super().__init__()
        self.limit_usd = limit_usd
        self.limit_nanos = int(limit_usd.scaleb(9).to_integral_value(rounding=ROUND_FLOOR))
        self.mode = mode
        self.name = name
        self.per = per
        self.on_store_error = on_store_error
        self.warned = False
        self._own_store = MemoryStore() if name is None else None
        if name is not None:
            from llmmeter._budgets._status import remember

            remember(name, per)

    def store(self) -> Store:
        """Where this budget's spend is kept: its own (unnamed) or the named budgets' store."""
        own = self._own_store
        return named_store() if own is None else own

    def key(self, when: datetime) -> BudgetKey:
        """The window of this budget that a call started at ``when`` counts in."""
        return BudgetKey(self.name or "", window_of(self.per, when))


class budget(_Block):
    """Refuse a metered request, before it is sent, when it could pass the limit of ``usd``.

    Before each metered request leaves, every enclosing budget reserves the request's worst-case
    cost (input from the request's size, output from the limit it states: ``max_tokens`` and its
    kin); the request is refused when the spend plus the reservations in flight plus its own would
    pass the limit. When the call ends its actual cost replaces the reservation (a failed or
    cancelled call releases it). So requests that state an output limit never overshoot; one that
    states none reserves its input only, and can pass the limit by at most its output's cost.

    Args:
        usd: the limit, in US dollars (Decimal, int or str; never a float).
        mode: ``"raise"`` refuses with :class:`llmmeter.BudgetExceeded`; ``"warn"`` logs one
            warning and lets the request through.
        name: blocks with the same name and ``per`` share one spend: in this process, or across
            processes and hosts with ``configure(budget_store="redis://...")``. ``None`` (the
            default) keeps the block's own spend.
        per: ``"hour"``, ``"day"``, ``"week"`` (ISO, from Monday) or ``"month"``: UTC calendar
            windows, each starting at zero; a call counts in the window in which it started.
            ``None``: one window forever.
        on_store_error: when the store cannot be reached in time, ``"allow"`` lets the request
            through (one warning per budget) and ``"refuse"`` raises
            :class:`llmmeter.BudgetUnavailable`.
    """

    def __init__(
        self,
        usd: Decimal | int | str,
        *,
        name: str | None = None,
        per: Period | None = None,
        mode: Literal["raise", "warn"] = "raise",
        on_store_error: Literal["allow", "refuse"] = "allow",
    ):
        super().__init__()
        if isinstance(usd, float):
            raise ConfigurationError("budget(usd=...) takes a Decimal, int or str, not a float")
        limit = Decimal(usd)
        if not limit.is_finite() or limit < 0:
            raise ConfigurationError(f"budget(usd={usd!r}): the limit must be a non-negative amount")
        if mode not in ("raise", "warn"):
            raise ConfigurationError(f"budget(mode={mode!r}): expected 'raise' or 'warn'")
        if name is not None and (not isinstance(name, str) or not name):
            raise ConfigurationError(f"budget(name={name!r}): a name is a non-empty string")
        if per not in PERIODS:
            raise ConfigurationError(f"budget(per={per!r}): expected None, 'hour', 'day', 'week' or 'month'")
        if on_store_error not in ("allow", "refuse"):
            raise ConfigurationError(
                f"budget(on_store_error={on_store_error!r}): expected 'allow' or 'refuse'"
            )
        self.spend = BudgetSpend(limit, mode, name, per, on_store_error)


def enclosing_budgets() -> list[BudgetSpend]:
    """The budgets enclosing the current context, outermost first."""
    return [spend for spend in _active_spends.get() if type(spend) is BudgetSpend]


class attributes:
    """Attach attributes (tenant, feature, ...) to every span made inside the block.

    They reach metric points only for keys allow-listed with
    ``llmmeter.configure(metric_attributes=[...])``: each distinct value makes a new time series,
    so unbounded values (user ids, request ids) must stay on spans.
    """

    def __init__(self, **values: str | int | float | bool) -> None:
        for key, value in values.items():
            if not isinstance(value, str | int | float | bool):
                raise ConfigurationError(
                    f"attributes({key}=...): values must be str, int, float or bool, "
                    f"not {type(value).__name__}"
                )
        self._values = values
        self._tokens: list[Token[UserAttributes]] = []

    def __enter__(self) -> None:
        merged = {**_active_attributes.get(), **self._values}
        self._tokens.append(_active_attributes.set(merged))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _active_attributes.reset(self._tokens.pop())

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)
