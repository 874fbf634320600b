"""The metric instruments, created once per meter with the conventions' units and buckets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.context import Context
from opentelemetry.metrics import Counter, Histogram, Meter

from llmmeter._telemetry import _names as n
from llmmeter._usage import Usage

__all__ = ["Instruments"]


@dataclass(frozen=True, slots=True)
class Instruments:
    """Every instrument llmmeter records to."""

    token_usage: Histogram
    duration: Histogram
    time_to_first_chunk: Histogram
    cost: Counter
    tokens: Counter

    @classmethod
    def create(cls, meter: Meter) -> Instruments:
        """Create the instruments on ``meter``."""
        return cls(
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
            cost=meter.create_counter(
                n.METRIC_COST,
                unit="USD",
                description="Cost of GenAI client operations, priced by llmmeter.",
            ),
            tokens=meter.create_counter(
                n.METRIC_TOKENS,
                unit="{token}",
                description="Tokens used by GenAI client operations, by token type.",
            ),
        )

    def record_tokens(self, usage: Usage, attributes: Mapping[str, Any], context: Context) -> None:
        """Record a call's tokens: the conventions' histogram (input, output) and llmmeter's counter
        by token type (only the types the call used)."""
        typed = {**attributes, n.TOKEN_TYPE: n.TOKEN_TYPE_INPUT}
        self.token_usage.record(usage.input_tokens, typed, context)
        if usage.input_tokens:
            self.tokens.add(usage.input_tokens, typed, context)
        typed = {**attributes, n.TOKEN_TYPE: n.TOKEN_TYPE_OUTPUT}
        self.token_usage.record(usage.output_tokens, typed, context)
        if usage.output_tokens:
            self.tokens.add(usage.output_tokens, typed, context)
        for token_type, count in (
            (n.TOKEN_TYPE_CACHE_READ, usage.cache_read_tokens),
            (n.TOKEN_TYPE_CACHE_WRITE, usage.cache_write_total),
            (n.TOKEN_TYPE_REASONING, usage.reasoning_tokens),
        ):
            if count:
                self.tokens.add(count, {**attributes, n.TOKEN_TYPE: token_type}, context)
