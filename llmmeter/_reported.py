"""Costs a response states itself: a gateway's figure for what the call was charged.

Some responses carry the cost of their call: OpenRouter's ``usage.cost`` (credits, one credit one
USD) with ``usage.cost_details.upstream_inference_cost`` and ``usage.is_byok``; Perplexity's
``usage.cost.total_cost``; xAI's ``usage.cost_in_usd_ticks`` (10^10 ticks to the dollar); LiteLLM
proxy's ``x-litellm-response-cost`` header; the header a team's own gateway names
(``configure(reported_cost_header=...)``). Adapters read the body's figures and capture points the
headers' values (never knowing each other's objects); :func:`reported_call_cost` then makes that
figure the call's cost, with llmmeter's own estimate beside it.

A figure that cannot be a cost (text, negative, NaN, infinite, beyond :data:`MAX_USD`) is ignored
with one warning per place it came from, and the call is priced locally, saying why.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from llmmeter._locks import new_lock
from llmmeter._pricing._cost import Cost

__all__ = [
    "LITELLM_COST_HEADER",
    "MAX_USD",
    "ReportedCost",
    "from_headers",
    "from_openai_usage",
    "reported_call_cost",
]

logger = logging.getLogger("llmmeter")

LITELLM_COST_HEADER = "x-litellm-response-cost"
_LITELLM_MARKERS = (LITELLM_COST_HEADER, "x-litellm-call-id", "x-litellm-version")
MAX_USD = Decimal(1_000_000)
"""No single call costs this much: a larger figure is a malformed one."""
DRIFT = Decimal("0.02")
"""A report and the local estimate further apart than this (relative) are worth a warning."""
_XAI_TICKS_PER_USD = Decimal(10) ** 10
_MAX_REMEMBERED = 10_000


@dataclass(frozen=True, slots=True)
class ReportedCost:
    """What a response said the call cost, in USD; or, with ``total`` None, why what it said is not used."""

    total: Decimal | None
    origin: str
    """Where the figure was read: ``usage.cost``, ``x-litellm-response-cost``, ..."""
    components: Mapping[str, Decimal] = field(default_factory=dict)
    """The parts the report names (BYOK: ``upstream_inference`` and ``gateway_fee``)."""
    estimable: Decimal | None = None
    """The part llmmeter's table estimates (the model's price): the upstream amount of a BYOK call,
    else the total. None when it is the total."""
    reason: str | None = None
    """Why the call is priced locally although a gateway was in its path (``total`` is None)."""


def _amount(value: Any, origin: str) -> Decimal | None:
    """``value`` as a USD amount, or None (warned once per origin) when it cannot be one."""
    if isinstance(value, bool):
        amount = None
    elif isinstance(value, int | float):
        amount = Decimal(repr(value)) if math.isfinite(value) else None
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except (InvalidOperation, ValueError):
            amount = None
    else:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount > MAX_USD:
        _warn_malformed(origin)
        return None
    return amount


def _warn_malformed(origin: str) -> None:
    _warn_once(
        ("malformed", origin),
        "llmmeter: %s is not a cost in USD (text, negative, NaN or beyond $%s); calls where it is are "
        "priced from llmmeter's table instead",
        origin,
        MAX_USD,
    )


def _ignored(origin: str) -> ReportedCost:
    return ReportedCost(None, origin, reason=f"{origin} is not a cost in USD; priced locally")


def from_openai_usage(usage: Mapping[str, Any]) -> ReportedCost | None:
    """The cost an OpenAI-shaped ``usage`` object states, if it states one.

    OpenRouter: ``cost``, plus ``cost_details.upstream_inference_cost`` when ``is_byok`` is true
    (the team's own provider key: ``cost`` is then only OpenRouter's fee, and the provider bills the
    upstream amount to that key). Perplexity: ``cost.total_cost``. xAI: ``cost_in_usd_ticks``.
    """
    cost = usage.get("cost")
    if cost is not None:
        if isinstance(cost, Mapping):
            return _itemized(cost)
        return _gateway_cost(cost, usage)
    ticks = usage.get("cost_in_usd_ticks")
    if ticks is None:
        return None
    origin = "usage.cost_in_usd_ticks"
    if type(ticks) is not int or not 0 <= ticks <= MAX_USD * _XAI_TICKS_PER_USD:
        _warn_malformed(origin)
        return _ignored(origin)
    return ReportedCost(Decimal(ticks) / _XAI_TICKS_PER_USD, origin)


def _gateway_cost(cost: Any, usage: Mapping[str, Any]) -> ReportedCost:
    """OpenRouter's ``usage.cost``, with the BYOK upstream amount as a second component."""
    amount = _amount(cost, "usage.cost")
    if amount is None:
        return _ignored("usage.cost")
    if usage.get("is_byok") is not True:
        return ReportedCost(amount, "usage.cost")
    details = usage.get("cost_details")
    raw = details.get("upstream_inference_cost") if isinstance(details, Mapping) else None
    upstream = Decimal(0) if raw is None else _amount(raw, "usage.cost_details.upstream_inference_cost")
    if upstream is None:
        return _ignored("usage.cost_details.upstream_inference_cost")
    return ReportedCost(
        amount + upstream,
        "usage.cost",
        {"upstream_inference": upstream, "gateway_fee": amount},
        estimable=upstream,
    )


def _itemized(cost: Mapping[str, Any]) -> ReportedCost | None:
    """Perplexity's ``usage.cost`` object: ``total_cost`` and its ``*_cost`` parts."""
    if "total_cost" not in cost:
        return None
    total = _amount(cost["total_cost"], "usage.cost.total_cost")
    if total is None:
        return _ignored("usage.cost.total_cost")
    components: dict[str, Decimal] = {}
    for key, value in cost.items():
        if key != "total_cost" and isinstance(key, str) and key.endswith("_cost"):
            part = _amount(value, f"usage.cost.{key}")
            if part is None:
                return _ignored(f"usage.cost.{key}")
            components[key.removesuffix("_cost").removesuffix("_tokens")] = part
    return ReportedCost(total, "usage.cost.total_cost", components)


def from_headers(
    get: Callable[[str], str | None], configured: str | None, stream: bool, *, proxied: bool = True
) -> ReportedCost | None:
    """The cost a response's headers state, read with ``get(name)``; None when they state none.

    ``configured`` is the header a team's gateway uses (``configure(reported_cost_header=...)``),
    read before LiteLLM proxy's; LiteLLM's are looked for only when the answer may come through a
    proxy (``proxied``: not from a provider's own public host). Headers precede a stream's tokens,
    so no header can state what a stream cost: a streamed response through such a gateway is
    priced locally, with that reason.
    """
    for name in (configured, LITELLM_COST_HEADER if proxied else None):
        if name is None:
            continue
        value = get(name)
        if value is None:
            continue
        if stream:
            return _stream_note(name)
        amount = _amount(value, f"the {name} header")
        if amount is None:
            return _ignored(f"the {name} header")
        return ReportedCost(amount, name)
    if stream and proxied and any(get(marker) is not None for marker in _LITELLM_MARKERS[1:]):
        return _stream_note(LITELLM_COST_HEADER)
    return None


def _stream_note(name: str) -> ReportedCost:
    return ReportedCost(
        None,
        name,
        reason=f"the gateway states no cost for a stream ({name} precedes its tokens); priced locally",
    )


def reported_call_cost(local: Cost, *reports: ReportedCost | None, model: str | None = None) -> Cost:
    """The call's cost given what the response reported: the first usable report, else ``local``.

    A usable report becomes the cost (status ``ok``, ``origin="provider"``) whatever the table
    knows, with the table's estimate in ``local_total`` when it has one; a report that cannot be
    used leaves ``local`` as it is, with the reason. One warning per model when the report and the
    estimate differ by more than :data:`DRIFT`.
    """
    note: ReportedCost | None = None
    for report in reports:
        if report is None:
            continue
        if report.total is not None:
            return _from_report(local, report, report.total, model)
        note = note or report
    if note is None or note.reason is None:
        return local
    return replace(local, reason=note.reason if local.reason is None else f"{local.reason}; {note.reason}")


def _from_report(local: Cost, report: ReportedCost, total: Decimal, model: str | None) -> Cost:
    estimate = local.total if local.status in ("ok", "estimated") else None
    if estimate is not None:
        compared = report.estimable if report.estimable is not None else total
        _check_drift(compared, estimate, local.model or model)
    return replace(
        local,
        total=total,
        components=dict(report.components),
        status="ok",
        reason=None,
        origin="provider",
        local_total=estimate,
    )


def _check_drift(reported: Decimal, estimate: Decimal, model: str | None) -> None:
    if abs(reported - estimate) <= DRIFT * max(reported, estimate):
        return
    _warn_once(
        ("drift", model),
        "llmmeter: the gateway reported $%s for a call to %r where llmmeter's price table gives $%s; "
        "the reported cost is recorded. A stale price, another route or tier, or a fee may explain it "
        "(warned once per model)",
        reported,
        model,
        estimate,
    )


_warned: set[tuple[str, str | None]] = set()
_warned_lock = new_lock()


def _warn_once(key: tuple[str, str | None], message: str, *args: Any) -> None:
    with _warned_lock:
        if key in _warned or len(_warned) >= _MAX_REMEMBERED:
            return
        _warned.add(key)
    logger.warning(message, *args)
