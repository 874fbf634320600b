"""Fixtures for the aiohttp capture point: llmmeter instrumented with the in-memory pipelines."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

import llmmeter

M = Decimal(1_000_000)


def gpt4o(prompt: int, completion: int) -> Decimal:
    """gpt-4o: $2.50 input, $10.00 output per 1M tokens (openai.com/api/pricing)."""
    return (prompt * Decimal("2.50") + completion * Decimal("10.00")) / M


def sonnet(input_tokens: int, output_tokens: int) -> Decimal:
    """claude-sonnet-4-6: $3 input, $15 output per 1M tokens (anthropic.com/pricing)."""
    return (input_tokens * Decimal("3") + output_tokens * Decimal("15")) / M


@pytest.fixture
def instrumented(tracer_provider, meter_provider) -> Iterator[None]:
    """``llmmeter.instrument()`` for the test, undone after it."""
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    yield
    llmmeter.uninstrument()
