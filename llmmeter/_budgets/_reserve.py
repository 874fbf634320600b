"""The seam between capture points and budgets: reserve before a request leaves, settle when it ends.

A capture point that has opened the :class:`Call` of a request about to be sent calls ONE
function, :func:`reserve_call` in sync code or :func:`areserve_call` in async code (a store on the
network is then reached with its asyncio client, never blocking the loop)::

    call = Call(telemetry, info)                       # info: the adapter's parsed RequestInfo
    try:
        reserve_call(call, len(body_bytes), stated_output_limit(decoded_body))
    except BudgetExceeded as refusal:                  # the call is already ended, with an event
        raise refusal_for(info.provider, refusal) from None
    ... send ...                                       # Call.finish() settles the reservation

``len(body_bytes)`` bounds the input tokens (0 when the body cannot be read); the output limit may
be None, and then the ``gen_ai.request.max_tokens`` the adapter read is used. ``Call.finish``
settles the reservation: the actual cost replaces the worst-case one; a call that failed or was
cancelled, with no cost, releases it. Async capture points then ``await call.reservation.settled()``
where they can, so an async call has settled when its awaitable or stream ends.

A capture point that cannot describe the request calls :func:`check` (:func:`acheck` in async code),
which refuses only when a budget's limit is already reached.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from decimal import Decimal

from llmmeter._budgets._estimate import worst_case_cost
from llmmeter._budgets._redis import StoreError
from llmmeter._budgets._store import BudgetKey, Store, Verdict, from_nanos, refuses, to_nanos
from llmmeter._budgets._windows import now
from llmmeter._errors import BudgetExceeded, BudgetUnavailable
from llmmeter._guard import internal_error
from llmmeter._providers._base import RequestInfo
from llmmeter._telemetry._call import Call, enclosing_call
from llmmeter._tracking import BudgetSpend, enclosing_budgets

__all__ = [
    "Reservation",
    "acheck",
    "areserve",
    "areserve_call",
    "check",
    "reserve",
    "reserve_call",
    "reserve_call_unless_it_blocks",
]

logger = logging.getLogger("llmmeter")

_ids = itertools.count()
_process_tag = os.urandom(6).hex()
_generation = 0
_unavailable_warned: set[str | None] = set()
_settle_tasks: set[asyncio.Task[None]] = set()
"""Settlements running on an event loop, kept referenced until they end."""


def _after_fork_in_child() -> None:
    global _process_tag, _generation
    _process_tag = os.urandom(6).hex()
    _generation += 1
    _settle_tasks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _new_id() -> str:
    return f"{_process_tag}-{next(_ids)}"


class _Hold:
    """One budget's reservation for one request."""

    __slots__ = ("key", "rid", "spend", "store")

    def __init__(self, spend: BudgetSpend, store: Store, key: BudgetKey, rid: str) -> None:
        self.spend = spend
        self.store = store
        self.key = key
        self.rid = rid


class Reservation:
    """What every enclosing budget reserved for one request; settled (or released) exactly once."""

    __slots__ = ("_async", "_generation", "_holds", "_pending", "amount", "done")

    def __init__(self, holds: list[_Hold], amount: int, is_async: bool) -> None:
        self._holds = holds
        self._async = is_async
        self._generation = _generation
        self._pending: asyncio.Task[None] | None = None
        self.amount = amount
        """The worst-case cost reserved, in nano-dollars."""
        self.done = False

    @property
    def amount_usd(self) -> Decimal:
        """The worst-case cost reserved, in US dollars."""
        return from_nanos(self.amount)

    def settle(self, cost: Decimal | None) -> None:
        """Replace the reservation by ``cost`` (None or 0: release it). Later calls do nothing.

        In a forked child it does nothing: the reservation is the parent's. In async code a store on
        the network is settled by a task on the running loop; :meth:`settled` awaits it.
        """
        if self.done:
            return
        self.done = True
        if self._generation != _generation:
            return
        actual = to_nanos(cost) if cost is not None and cost > 0 else 0
        remote = [hold for hold in self._holds if hold.store.remote]
        for hold in self._holds:
            if not hold.store.remote:
                try:
                    hold.store.settle(hold.key, hold.rid, actual)
                except Exception as exc:
                    internal_error("settling a budget reservation", exc)
        if not remote:
            return
        if self._async:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                pass  # ended outside its loop (a stream collected later): settle with the sync client
            else:
                task = self._pending = loop.create_task(_asettle(remote, actual))
                _settle_tasks.add(task)
                task.add_done_callback(_settle_tasks.discard)
                return
        for hold in remote:
            try:
                hold.store.settle(hold.key, hold.rid, actual)
            except StoreError as exc:
                _settle_failed(hold, exc)
            except Exception as exc:
                internal_error("settling a budget reservation", exc)

    def release(self) -> None:
        """Give the reservation back: the request was not sent, or cost nothing."""
        self.settle(None)

    async def settled(self) -> None:
        """Wait until a settlement running on the event loop has ended."""
        pending = self._pending
        if pending is not None and not pending.done():
            await asyncio.shield(pending)


async def _asettle(holds: list[_Hold], actual: int) -> None:
    for hold in holds:
        try:
            await hold.store.asettle(hold.key, hold.rid, actual)
        except StoreError as exc:
            _settle_failed(hold, exc)
        except Exception as exc:
            internal_error("settling a budget reservation", exc)


def _settle_failed(hold: _Hold, exc: StoreError) -> None:
    logger.warning(
        "llmmeter: budget %r: its store could not record a call's cost (%s); the reservation "
        "expires after its TTL and the cost is not counted",
        hold.spend.name,
        exc,
    )


def reserve(request: RequestInfo, input_size: int, output_limit: int | None = None) -> Reservation | None:
    """Reserve the worst-case cost of ``request`` in every enclosing budget (sync code).

    ``input_size`` bounds its input tokens (the body's size in bytes: see ``_estimate``);
    ``output_limit`` is the output limit it states (None: the ``gen_ai.request.max_tokens`` its
    adapter read). Raises :class:`BudgetExceeded` when a budget refuses it; None when no budget
    encloses the context.
    """
    budgets = enclosing_budgets()
    if not budgets:
        return None
    amount = _amount(request, input_size, output_limit)
    when = now()
    holds: list[_Hold] = []
    try:
        for spend in budgets:
            store = spend.store()
            key, rid = spend.key(when), _new_id()
            try:
                verdict = store.reserve(key, spend.limit_nanos, amount, rid, spend.mode == "warn")
            except StoreError as exc:
                _unavailable(spend, exc)
                continue
            except Exception as exc:  # an llmmeter bug: the request goes on, unchecked by this budget
                internal_error("reserving in a budget", exc)
                continue
            if _judge(spend, verdict, amount):
                holds.append(_Hold(spend, store, key, rid))
    except BaseException:
        Reservation(holds, amount, is_async=False).release()
        raise
    return Reservation(holds, amount, is_async=False)


async def areserve(
    request: RequestInfo, input_size: int, output_limit: int | None = None
) -> Reservation | None:
    """:func:`reserve` for async code: a store on the network is reached without blocking the loop."""
    budgets = enclosing_budgets()
    if not budgets:
        return None
    amount = _amount(request, input_size, output_limit)
    when = now()
    holds: list[_Hold] = []
    try:
        for spend in budgets:
            store = spend.store()
            key, rid = spend.key(when), _new_id()
            try:
                verdict = await store.areserve(key, spend.limit_nanos, amount, rid, spend.mode == "warn")
            except StoreError as exc:
                _unavailable(spend, exc)
                continue
            except Exception as exc:  # an llmmeter bug: the request goes on, unchecked by this budget
                internal_error("reserving in a budget", exc)
                continue
            if _judge(spend, verdict, amount):
                holds.append(_Hold(spend, store, key, rid))
    except BaseException:
        reservation = Reservation(holds, amount, is_async=True)
        reservation.release()
        await reservation.settled()
        raise
    return Reservation(holds, amount, is_async=True)


def check() -> None:
    """Refuse when an enclosing budget is reached, for a request whose cost cannot be estimated
    (reserves nothing). Sync: a store on the network is asked with its sync client."""
    reservation = reserve(RequestInfo(provider="", operation=""), 0, 0)
    if reservation is not None:
        reservation.release()


async def acheck() -> None:
    """:func:`check` for async code."""
    reservation = await areserve(RequestInfo(provider="", operation=""), 0, 0)
    if reservation is not None:
        reservation.release()
        await reservation.settled()


def _amount(request: RequestInfo, input_size: int, output_limit: int | None) -> int:
    try:
        return to_nanos(worst_case_cost(request, input_size, output_limit))
    except Exception as exc:
        internal_error("estimating a request's worst-case cost", exc)
        return 0


def _judge(spend: BudgetSpend, verdict: Verdict, amount: int) -> bool:
    """Whether the store reserved ``amount``; raises when the budget refuses the request."""
    if not verdict.granted:
        raise BudgetExceeded(
            spend.limit_usd,
            from_nanos(verdict.spent),
            spend.name,
            reserved_usd=from_nanos(verdict.reserved),
            request_usd=from_nanos(amount),
        )
    if (
        spend.mode == "warn"
        and not spend.warned
        and refuses(verdict.spent, verdict.reserved - amount, amount, spend.limit_nanos)
    ):
        spend.warned = True
        logger.warning(
            "llmmeter: budget %s of $%s reached (spent $%s); letting the request through (warn mode)",
            spend.name or "",
            spend.limit_usd,
            from_nanos(verdict.spent),
        )
    return True


def _unavailable(spend: BudgetSpend, exc: StoreError) -> None:
    if spend.on_store_error == "refuse":
        raise BudgetUnavailable(spend.limit_usd, spend.name, str(exc)) from None
    if spend.name not in _unavailable_warned:
        _unavailable_warned.add(spend.name)
        logger.warning(
            "llmmeter: budget %r: its store could not be reached (%s); letting requests through "
            "(on_store_error='allow')",
            spend.name,
            exc,
        )


def reserve_call(call: Call, input_size: int, output_limit: int | None = None) -> None:
    """Reserve for ``call``'s request in every enclosing budget, before it is sent (sync code).

    The reservation is put on the call, whose ``finish`` settles it. Raises
    :class:`BudgetExceeded` when a budget refuses the request: the call is then ended (its span
    carries a ``llmmeter.budget.refused`` event) and the request must not be sent. An outer call
    (a LangChain run) that reserved for the same request gives its reservation back: this one,
    made from the request itself, replaces it.
    """
    try:
        reservation = reserve(call.request, input_size, output_limit)
    except BudgetExceeded as refusal:
        call.refuse(refusal)
        raise
    _adopt(call, reservation)


async def areserve_call(call: Call, input_size: int, output_limit: int | None = None) -> None:
    """:func:`reserve_call` for async code."""
    try:
        reservation = await areserve(call.request, input_size, output_limit)
    except BudgetExceeded as refusal:
        call.refuse(refusal)
        raise
    _adopt(call, reservation)


def reserve_call_unless_it_blocks(call: Call, input_size: int, output_limit: int | None = None) -> None:
    """:func:`reserve_call` for callbacks that may run on an event loop but cannot await (LangChain's).

    When a loop is running and an enclosing budget's store is on the network, it reserves nothing
    rather than block the loop: an HTTP call metered under it then reserves, with the asyncio client.
    """
    budgets = enclosing_budgets()
    if not budgets:
        return
    if any(spend.store().remote for spend in budgets):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            return
    reserve_call(call, input_size, output_limit)


def _adopt(call: Call, reservation: Reservation | None) -> None:
    call.reservation = reservation
    outer = enclosing_call.get()
    if outer is not None and outer is not call and outer.reservation is not None:
        outer.reservation.release()
        outer.reservation = None
