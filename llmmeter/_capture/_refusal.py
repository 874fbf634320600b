"""Budgets at the capture points: reserve before a request leaves, and refuse it so that its SDK
lets the refusal reach the caller.

Every capture point calls :func:`reserve_or_refuse` (or :func:`areserve_or_refuse` in async code)
with the call it opened, after the request is parsed and before it is sent; ``Call.finish`` settles
the reservation, and async capture points then ``await settled(call)``. A request that could not be
described (no call) is only checked against what budgets have already spent.

The anthropic SDK wraps any exception its transport raises, unless it is one of its own errors,
in ``APIConnectionError`` and retries it with backoff: a plain :class:`BudgetExceeded` would reach
the caller late, retried and disguised. For its requests the refusal is therefore also an
``anthropic.AnthropicError`` (one that is never retried), while staying a ``BudgetExceeded``.
The openai SDK wraps only httpx's own errors and needs nothing.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING, Any

import orjson

from llmmeter._budgets._estimate import stated_output_limit
from llmmeter._budgets._reserve import acheck, areserve_call, check, reserve_call
from llmmeter._errors import BudgetExceeded, BudgetUnavailable
from llmmeter._providers._base import is_object
from llmmeter._telemetry import _names as n
from llmmeter._tracking import enclosing_budgets

if TYPE_CHECKING:
    from llmmeter._telemetry._call import Call

__all__ = [
    "UNKNOWN_SIZE",
    "RequestSize",
    "areserve_or_refuse",
    "refusal_for",
    "request_size",
    "reserve_or_refuse",
    "settled",
]

RequestSize = tuple[int, int | None] | None
"""What a budget reserves for: the request body's size in bytes and the output limit it states;
None when no budget encloses the call (nothing is reserved nor checked)."""

UNKNOWN_SIZE: RequestSize = (0, None)


def request_size(content: bytes | None, body: Any) -> RequestSize:
    """The size of a request body (its bytes) and the output limit its decoded form states; None,
    measuring nothing, when no budget encloses the context.

    A body given decoded (aiohttp's ``json=``) is measured as JSON.
    """
    if not enclosing_budgets():
        return None
    if not is_object(body):
        return (len(content) if content else 0, None)
    if content is None:
        try:
            content = orjson.dumps(body)
        except TypeError:  # not JSON-serialisable as given: the client fails on it too
            content = None
    return (len(content) if content else 0, stated_output_limit(body))


def reserve_or_refuse(provider: str, call: Call | None, size: RequestSize) -> None:
    """Reserve ``call``'s worst case in every enclosing budget, or raise the refusal as the client of
    ``provider`` passes it through (sync code)."""
    if size is None:
        return
    try:
        if call is None:
            check()
        else:
            reserve_call(call, *size)
    except BudgetExceeded as refusal:
        raise refusal_for(provider, refusal) from None


async def areserve_or_refuse(provider: str, call: Call | None, size: RequestSize) -> None:
    """:func:`reserve_or_refuse` in async code: a store on the network is reached without blocking."""
    if size is None:
        return
    try:
        if call is None:
            await acheck()
        else:
            await areserve_call(call, *size)
    except BudgetExceeded as refusal:
        raise refusal_for(provider, refusal) from None


async def settled(call: Call) -> None:
    """Wait for the settlement of an ended call's reservation on a remote store, if any."""
    reservation = call.reservation
    if reservation is not None and reservation.done:
        await reservation.settled()


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
