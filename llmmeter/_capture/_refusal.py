"""A budget's refusal, raised so that the SDK making the request lets it reach the caller.

The anthropic SDK wraps any exception its transport raises, unless it is one of its own errors,
in ``APIConnectionError`` and retries it with backoff: a plain :class:`BudgetExceeded` would reach
the caller late, retried and disguised. For its requests the refusal is therefore also an
``anthropic.AnthropicError`` (one that is never retried), while staying a ``BudgetExceeded``.
The openai SDK wraps only httpx's own errors and needs nothing.
"""

from __future__ import annotations

import sys
from functools import cache

from llmmeter._errors import BudgetExceeded, BudgetUnavailable
from llmmeter._telemetry import _names as n

__all__ = ["refusal_for"]


def refusal_for(provider: str, refusal: BudgetExceeded) -> BudgetExceeded:
    """``refusal`` as the client of ``provider`` passes it through unchanged."""
    if provider == n.PROVIDER_ANTHROPIC and "anthropic" in sys.modules:
        cls = _anthropic_refusal(isinstance(refusal, BudgetUnavailable))
        copy = cls.__new__(cls)
        copy.__dict__.update(refusal.__dict__)
        copy.args = refusal.args
        return copy
    return refusal


@cache
def _anthropic_refusal(unavailable: bool) -> type[BudgetExceeded]:
    from anthropic import AnthropicError

    kind = BudgetUnavailable if unavailable else BudgetExceeded
    return type(kind.__name__, (kind, AnthropicError), {"__module__": "llmmeter"})
