"""The metric instruments, created once per meter with the conventions' units and buckets.

The histograms are synchronous: each call records its points with its span's context, so
exemplars link them to the trace. The sums (``llmmeter.cost``, ``llmmeter.tokens``,
``llmmeter.calls``) are pre-aggregated here instead, per attribute set, and handed to the SDK by
observable counters when a reader collects: a call adds to a total (cost exactly, in Decimal)
rather than paying for one SDK measurement per token type. A forked child starts them from zero.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation

from llmmeter._telemetry import _names as n
from llmmeter._usage import Usage

__all__ = ["Instruments", "Totals"]

AttributeKey = tuple[tuple[str, Any], ...]


class Totals:
    """Running sums per attribute set, read by an observable counter at collection time."""

    __slots__ = ("__weakref__", "_lock", "_sums")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sums: dict[AttributeKey, Any] = {}
        _all_totals.add(self)

    def add(self, key: AttributeKey, amount: int | Decimal) -> None:
        """Add ``amount`` to the total of the attribute set ``key``."""
        with self._lock:
            self._sums[key] = self._sums.get(key, 0) + amount

    def add_each(self, amounts: Iterable[tuple[AttributeKey, int | Decimal]]) -> None:
        """Add several amounts at once, each to the total of its attribute set."""
        with self._lock:
            sums = self._sums
            for key, amount in amounts:
                sums[key] = sums.get(key, 0) + amount

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        """The totals as observations (the observable counter's callback)."""
        with self._lock:
            items = list(self._sums.items())
        return [
            Observation(float(total) if isinstance(total, Decimal) else total, dict(key))
            for key, total in items
        ]

    def clear(self) -> None:
        """Start from zero (in a forked child, whose parent reports what it counted)."""
        self._lock = threading.Lock()
        self._sums = {}


_all_totals: weakref.WeakSet[Totals] = weakref.WeakSet()


def _clear_after_fork() -> None:
    for totals in list(_all_totals):
        totals.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_clear_after_fork)


@dataclass(frozen=True, slots=True)
class Instruments:
    """Every instrument llmmeter records to."""

    token_usage: Histogram
    duration: Histogram
    time_to_first_chunk: Histogram
    cost: Totals = field(default_factory=Totals)
    tokens: Totals = field(default_factory=Totals)
    calls: Totals = field(default_factory=Totals)

    @classmethod
    def create(cls, meter: Meter) -> Instruments:
        """Create the instruments on ``meter``."""
        instruments = cls(
            token_usage=meter.create_histogram(
                n.METRIC_TOKEN_USAGE,
                unit="{token}",
                description="Number of input and output tokens used per operation.",
                explicit_bucket_boundaries_advisory=list(n.TOKEN_BUCKETS),
            ),
            duration=meter.create_histogram(
                n.METRIC_OPERATION_DURATION,
                unit="s",
                description="Duration of GenAI client operations.",
                explicit_bucket_boundaries_advisory=list(n.DURATION_BUCKETS),
            ),
            time_to_first_chunk=meter.create_histogram(
                n.METRIC_TIME_TO_FIRST_CHUNK,
                unit="s",
                description="Time from the request until the first chunk of a streamed response.",
                explicit_bucket_boundaries_advisory=list(n.CHUNK_BUCKETS),
            ),
        )
        meter.create_observable_counter(
            n.METRIC_COST,
            callbacks=[instruments.cost.observe],
            unit="USD",
            description="Cost of GenAI client operations, priced by llmmeter.",
        )
        meter.create_observable_counter(
            n.METRIC_TOKENS,
            callbacks=[instruments.tokens.observe],
            unit="{token}",
            description="Tokens used by GenAI client operations, by token type.",
        )
        meter.create_observable_counter(
            n.METRIC_CALLS,
            callbacks=[instruments.calls.observe],
            unit="{call}",
            description="GenAI client operations, by llmmeter.cost.status (ok, unknown_model, no_usage...).",
        )
        return instruments

    def count_call(self, key: AttributeKey, status: str) -> None:
        """Count one call under its metric attributes ``key`` and its cost status."""
        self.calls.add((*key, (n.COST_STATUS, status)), 1)

    def record_tokens(
        self, usage: Usage, attributes: Mapping[str, Any], key: AttributeKey, context: Context
    ) -> None:
        """Record a call's tokens: the conventions' histogram (input, output) and llmmeter's counter
        by token type (only the types the call used). ``key`` is ``attributes`` as a tuple."""
        token_usage = self.token_usage
        token_usage.record(usage.input_tokens, {**attributes, n.TOKEN_TYPE: n.TOKEN_TYPE_INPUT}, context)
        token_usage.record(usage.output_tokens, {**attributes, n.TOKEN_TYPE: n.TOKEN_TYPE_OUTPUT}, context)
        self.tokens.add_each(
            (
                ((*key, (n.TOKEN_TYPE, token_type)), count)
                for token_type, count in (
                    (n.TOKEN_TYPE_INPUT, usage.input_tokens),
                    (n.TOKEN_TYPE_OUTPUT, usage.output_tokens),
                    (n.TOKEN_TYPE_CACHE_READ, usage.cache_read_tokens),
                    (n.TOKEN_TYPE_CACHE_WRITE, usage.cache_write_total),
                    (n.TOKEN_TYPE_REASONING, usage.reasoning_tokens),
                )
                if count
            )
        )
