"""A budget's refusal, raised so that the SDK making the request lets it reach the caller.

The anthropic SDK wraps any exception its transport raises, unless it is one of its own errors,
in ``APIConnectionError`` and retries it with backoff: a plain :class:`BudgetExceeded` would reach
the caller late, retried and disguised. For its requests the refusal is therefore also an
``anthropic.AnthropicError`` (one that is never retried), while staying a ``BudgetExceeded``.
The openai SDK wraps only httpx's own errors and needs nothing.

:func:`check_budgets` is the one budget check of every capture point, made before a request leaves.
"""

from __future__ import annotations

import sys
from functools import cache

from llmmeter._errors import BudgetExceeded
from llmmeter._telemetry import _names as n
from llmmeter._tracking import check_budgets as _check_budgets

__all__ = ["check_budgets", "refusal_for"]


def check_budgets(provider: str) -> None:
    """Refuse a request to ``provider`` (raise :class:`BudgetExceeded`, as its client passes it
    through) when an enclosing budget is spent; every capture point calls this before sending."""
    try:
        _check_budgets()
    except BudgetExceeded as refusal:
        raise refusal_for(provider, refusal) from None


def refusal_for(provider: str, refusal: BudgetExceeded) -> BudgetExceeded:
    """``refusal`` as the client of ``provider`` passes it through unchanged."""
    if provider == n.PROVIDER_ANTHROPIC and "anthropic" in sys.modules:
        return _anthropic_refusal()(refusal.limit_usd, refusal.spent_usd, refusal.name)
    return refusal


@cache
def _anthropic_refusal() -> type[BudgetExceeded]:
    from anthropic import AnthropicError

    return type("BudgetExceeded", (BudgetExceeded, AnthropicError), {"__module__": "llmmeter"})
