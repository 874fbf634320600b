"""Fixtures for the reliability suite: telemetry that costs little, quick SDK retries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai._base_client
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider


@pytest.fixture(scope="module")
def quiet() -> Iterator[dict[str, Any]]:
    """Real SDK tracer and meter providers with nothing attached: spans and points are made, then dropped."""
    tracer_provider = TracerProvider()
    meter_provider = MeterProvider()
    yield {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The openai SDK waits 10 ms instead of 0.5 s before retrying a failed connection."""
    monkeypatch.setattr(openai._base_client, "INITIAL_RETRY_DELAY", 0.01)
