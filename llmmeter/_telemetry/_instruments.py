"""The metric instruments, created once per meter with the conventions' units and buckets.

The histograms are synchronous: each call records its points with its span's context, so
exemplars link them to the trace. The sums (``llmmeter.cost``, ``llmmeter.tokens``,
``llmmeter.calls``, and with the latest conventions the ``gen_ai.client.inference.usage.*``
counters) are pre-aggregated here instead, per attribute set, and handed to the SDK by observable
counters when a reader collects: a call adds to a total (cost exactly, in Decimal) rather than paying
for one SDK measurement per token type. ``llmmeter.calls``, ``llmmeter.cost`` and
``llmmeter.tokens`` share one entry per attribute set (:class:`CallTotals`), so a call looks its
attribute set up once, under one lock. A forked child starts them from zero.

Which instruments exist depends on the generation of the conventions (``_semconv``): v1.41.1 has
one token histogram by ``gen_ai.token.type``; semantic-conventions-genai has an input and an output
histogram, usage counters by ``gen_ai.token.modality``, and the proposed cost histogram.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation

from llmmeter._locks import new_lock
from llmmeter._telemetry import _names as n
from llmmeter._telemetry._attributes import MetricSet
from llmmeter._telemetry._semconv import Conventions, conventions
from llmmeter._usage import Usage

__all__ = ["CallTotals", "Instruments", "Totals"]

AttributeKey = tuple[tuple[str, Any], ...]


class Totals:
    """Running sums per attribute set, read by an observable counter at collection time."""

    __slots__ = ("__weakref__", "_lock", "_sums")

    def __init__(self) -> None:
        self._lock = new_lock()
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
        self._sums = {}


_INPUT = n.TOKEN_TYPE_INPUT
_OUTPUT = n.TOKEN_TYPE_OUTPUT
_CACHE_READ = n.TOKEN_TYPE_CACHE_READ
_CACHE_WRITE = n.TOKEN_TYPE_CACHE_WRITE
_REASONING = n.TOKEN_TYPE_REASONING


class _Sums:
    """What the calls of one metric attribute set added up to."""

    __slots__ = ("calls", "cost", "tokens")

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        """Calls by ``llmmeter.cost.status``."""
        self.cost: Decimal | None = None
        """None until a priced call: an attribute set whose calls were never priced has no cost point."""
        self.tokens: dict[str, int] = {}
        """Tokens by ``gen_ai.token.type``, only the types some call used."""


class CallTotals:
    """The running sums of ``llmmeter.calls``, ``llmmeter.cost`` and ``llmmeter.tokens``, per metric
    attribute set, read by their observable counters at collection time."""

    __slots__ = ("__weakref__", "_lock", "_sums")

    def __init__(self) -> None:
        self._lock = new_lock()
        self._sums: dict[AttributeKey, _Sums] = {}
        _all_totals.add(self)

    def add(self, key: AttributeKey, status: str, cost: Decimal | None, usage: Usage | None) -> None:
        """Count one call of the attribute set ``key``: its cost status, its cost (None when
        unpriced) and the tokens of each type it used (``usage`` None when it has none to count)."""
        with self._lock:
            sums = self._sums.get(key)
            if sums is None:
                sums = self._sums[key] = _Sums()
            calls = sums.calls
            calls[status] = calls.get(status, 0) + 1
            if cost is not None:
                sums.cost = cost if sums.cost is None else sums.cost + cost
            if usage is not None:
                tokens = sums.tokens
                if count := usage.input_tokens:
                    tokens[_INPUT] = tokens.get(_INPUT, 0) + count
                if count := usage.output_tokens:
                    tokens[_OUTPUT] = tokens.get(_OUTPUT, 0) + count
                if count := usage.cache_read_tokens:
                    tokens[_CACHE_READ] = tokens.get(_CACHE_READ, 0) + count
                if count := usage.cache_write_tokens + usage.cache_write_1h_tokens:
                    tokens[_CACHE_WRITE] = tokens.get(_CACHE_WRITE, 0) + count
                if count := usage.reasoning_tokens:
                    tokens[_REASONING] = tokens.get(_REASONING, 0) + count

    def _items(self) -> list[tuple[dict[str, Any], _Sums]]:
        with self._lock:
            return [(dict(key), _copy(sums)) for key, sums in self._sums.items()]

    def observe_calls(self, options: CallbackOptions) -> Iterable[Observation]:
        """``llmmeter.calls``: calls by attribute set and cost status."""
        return [
            Observation(count, {**attributes, n.COST_STATUS: status})
            for attributes, sums in self._items()
            for status, count in sums.calls.items()
        ]

    def observe_cost(self, options: CallbackOptions) -> Iterable[Observation]:
        """``llmmeter.cost``: USD by attribute set."""
        return [
            Observation(float(sums.cost), attributes)
            for attributes, sums in self._items()
            if sums.cost is not None
        ]

    def observe_tokens(self, options: CallbackOptions) -> Iterable[Observation]:
        """``llmmeter.tokens``: tokens by attribute set and token type."""
        return [
            Observation(count, {**attributes, n.TOKEN_TYPE: token_type})
            for attributes, sums in self._items()
            for token_type, count in sums.tokens.items()
        ]

    def clear(self) -> None:
        """Start from zero (in a forked child, whose parent reports what it counted)."""
        self._sums = {}


def _copy(sums: _Sums) -> _Sums:
    copy = _Sums()
    copy.calls = dict(sums.calls)
    copy.cost = sums.cost
    copy.tokens = dict(sums.tokens)
    return copy


_all_totals: weakref.WeakSet[Totals | CallTotals] = weakref.WeakSet()


def _clear_after_fork() -> None:
    for totals in list(_all_totals):
        totals.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_clear_after_fork)


@dataclass(frozen=True, slots=True)
class LatestInstruments:
    """The instruments only the latest conventions (semantic-conventions-genai) define."""

    input_tokens: Histogram
    output_tokens: Histogram
    cost: Histogram
    usage_input: Totals = field(default_factory=Totals)
    usage_output: Totals = field(default_factory=Totals)
    usage_cache_read: Totals = field(default_factory=Totals)
    usage_cache_write: Totals = field(default_factory=Totals)
    usage_reasoning: Totals = field(default_factory=Totals)

    @classmethod
    def create(cls, meter: Meter) -> LatestInstruments:
        """Create them on ``meter``."""
        instruments = cls(
            input_tokens=meter.create_histogram(
                n.METRIC_INFERENCE_OPERATION_INPUT_TOKENS,
                unit="{token}",
                description="The number of input (prompt) tokens used per inference operation.",
                explicit_bucket_boundaries_advisory=list(n.TOKEN_BUCKETS),
            ),
            output_tokens=meter.create_histogram(
                n.METRIC_INFERENCE_OPERATION_OUTPUT_TOKENS,
                unit="{token}",
                description="The number of output (completion) tokens used per inference operation.",
                explicit_bucket_boundaries_advisory=list(n.TOKEN_BUCKETS),
            ),
            cost=meter.create_histogram(
                n.METRIC_OPERATION_COST,
                unit=n.COST_UNIT,
                description="Monetary cost of a single GenAI inference operation.",
                explicit_bucket_boundaries_advisory=list(n.COST_BUCKETS),
            ),
        )
        for name, totals, description in (
            (n.METRIC_INFERENCE_USAGE_INPUT_TOKENS, instruments.usage_input, "Input tokens used."),
            (n.METRIC_INFERENCE_USAGE_OUTPUT_TOKENS, instruments.usage_output, "Output tokens used."),
            (
                n.METRIC_INFERENCE_USAGE_CACHE_READ_INPUT_TOKENS,
                instruments.usage_cache_read,
                "Input tokens served from a provider-managed cache.",
            ),
            (
                n.METRIC_INFERENCE_USAGE_CACHE_WRITE_INPUT_TOKENS,
                instruments.usage_cache_write,
                "Input tokens written to a provider-managed cache.",
            ),
            (
                n.METRIC_INFERENCE_USAGE_REASONING_OUTPUT_TOKENS,
                instruments.usage_reasoning,
                "Output tokens used for reasoning.",
            ),
        ):
            meter.create_observable_counter(
                name, callbacks=[totals.observe], unit="{token}", description=description
            )
        return instruments

    def record_tokens(
        self, usage: Usage | None, attributes: Mapping[str, Any], key: AttributeKey, context: Context
    ) -> None:
        """Record a call's tokens: the two histograms, and each usage counter by modality. A call
        without usage counts 0 input and output tokens of ``unknown`` modality, as the conventions ask."""
        if usage is None:
            unknown = (*key, (n.TOKEN_MODALITY, n.MODALITY_UNKNOWN))
            self.usage_input.add(unknown, 0)
            self.usage_output.add(unknown, 0)
            return
        self.input_tokens.record(usage.input_tokens, attributes, context)
        self.output_tokens.record(usage.output_tokens, attributes, context)
        split = bool(
            usage.input_audio_tokens
            or usage.input_image_tokens
            or usage.output_audio_tokens
            or usage.output_image_tokens
        )
        rest = n.MODALITY_TEXT if split else n.MODALITY_UNKNOWN
        _add_by_modality(
            self.usage_input,
            key,
            rest,
            usage.input_tokens,
            usage.input_audio_tokens,
            usage.input_image_tokens,
            always=True,
        )
        _add_by_modality(
            self.usage_output,
            key,
            rest,
            usage.output_tokens,
            usage.output_audio_tokens,
            usage.output_image_tokens,
            always=True,
        )
        _add_by_modality(
            self.usage_cache_read, key, rest, usage.cache_read_tokens, usage.cache_read_audio_tokens, 0
        )
        _add_by_modality(self.usage_cache_write, key, rest, usage.cache_write_total, 0, 0)
        _add_by_modality(self.usage_reasoning, key, rest, usage.reasoning_tokens, 0, 0)


def _add_by_modality(
    totals: Totals,
    key: AttributeKey,
    rest: str,
    total: int,
    audio: int,
    image: int,
    *,
    always: bool = False,
) -> None:
    """Add ``total`` to ``totals``: its audio and image parts under their modalities, the remainder
    under ``rest`` (``text`` when the provider broke the usage down, else ``unknown``)."""
    amounts: list[tuple[AttributeKey, int | Decimal]] = []
    if audio:
        amounts.append(((*key, (n.TOKEN_MODALITY, n.MODALITY_AUDIO)), audio))
    if image:
        amounts.append(((*key, (n.TOKEN_MODALITY, n.MODALITY_IMAGE)), image))
    remainder = total - audio - image
    if remainder > 0 or (always and not amounts):
        amounts.append(((*key, (n.TOKEN_MODALITY, rest)), max(remainder, 0)))
    if amounts:
        totals.add_each(amounts)


def _budget_gauges(meter: Meter) -> None:
    """The spent and reserved amounts of the named budgets opened in this process, read from their
    store when a reader collects: one series per budget name and period."""
    from llmmeter._budgets._status import observe_reserved, observe_spent

    meter.create_observable_gauge(
        n.METRIC_BUDGET_SPENT,
        callbacks=[observe_spent],
        unit="USD",
        description="Spend of the current window of each named llmmeter budget.",
    )
    meter.create_observable_gauge(
        n.METRIC_BUDGET_RESERVED,
        callbacks=[observe_reserved],
        unit="USD",
        description="Worst-case cost reserved by the calls in flight under each named llmmeter budget.",
    )


@dataclass(frozen=True, slots=True)
class Instruments:
    """Every instrument llmmeter records to."""

    duration: Histogram
    time_to_first_chunk: Histogram
    token_usage: Histogram | None
    """``gen_ai.client.token.usage``: semantic-conventions v1.41.1 only."""
    latest: LatestInstruments | None
    """The instruments of semantic-conventions-genai, when they are the ones written."""
    totals: CallTotals = field(default_factory=CallTotals)
    """The sums of ``llmmeter.calls``, ``llmmeter.cost`` and ``llmmeter.tokens``."""

    @classmethod
    def create(cls, meter: Meter, names: Conventions = conventions) -> Instruments:
        """Create the instruments on ``meter``, for the conventions ``names``."""
        instruments = cls(
            duration=meter.create_histogram(
                names.duration_metric,
                unit="s",
                description="Duration of GenAI client operations.",
                explicit_bucket_boundaries_advisory=list(n.DURATION_BUCKETS),
            ),
            time_to_first_chunk=meter.create_histogram(
                names.time_to_first_chunk_metric,
                unit="s",
                description="Time from the request until the first chunk of a streamed response.",
                explicit_bucket_boundaries_advisory=list(n.CHUNK_BUCKETS),
            ),
            token_usage=None
            if names.latest
            else meter.create_histogram(
                n.METRIC_TOKEN_USAGE,
                unit="{token}",
                description="Number of input and output tokens used per operation.",
                explicit_bucket_boundaries_advisory=list(n.TOKEN_BUCKETS),
            ),
            latest=LatestInstruments.create(meter) if names.latest else None,
        )
        meter.create_observable_counter(
            n.METRIC_COST,
            callbacks=[instruments.totals.observe_cost],
            unit="USD",
            description="Cost of GenAI client operations, priced by llmmeter.",
        )
        meter.create_observable_counter(
            n.METRIC_TOKENS,
            callbacks=[instruments.totals.observe_tokens],
            unit="{token}",
            description="Tokens used by GenAI client operations, by token type.",
        )
        meter.create_observable_counter(
            n.METRIC_CALLS,
            callbacks=[instruments.totals.observe_calls],
            unit="{call}",
            description="GenAI client operations, by llmmeter.cost.status (ok, unknown_model, no_usage...).",
        )
        _budget_gauges(meter)
        return instruments

    def record_tokens(self, usage: Usage, metrics: MetricSet, context: Context) -> None:
        """Record a call's tokens on the conventions' histograms (``llmmeter.tokens`` is counted by
        :meth:`CallTotals.add`), under the call's metric attribute set."""
        token_usage = self.token_usage
        if token_usage is not None:
            token_usage.record(usage.input_tokens, metrics.input_tokens, context)
            token_usage.record(usage.output_tokens, metrics.output_tokens, context)
        else:
            latest = self.latest
            if latest is not None:
                latest.record_tokens(usage, metrics.attributes, metrics.key, context)
