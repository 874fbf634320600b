"""Fixtures for the reliability suite: telemetry that costs little, quick SDK retries."""

from __future__ import annotations

from collections.abc import Iterator

import openai._base_client
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from llmmeter._telemetry._call import Telemetry


@pytest.fixture(scope="module")
def quiet_telemetry() -> Iterator[Telemetry]:
    """Real SDK providers with nothing attached: spans and points are made, then dropped."""
    tracer_provider = TracerProvider()
    meter_provider = MeterProvider()
    yield Telemetry(tracer_provider, meter_provider)
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The openai SDK waits 10 ms instead of 0.5 s before retrying a failed connection."""
    monkeypatch.setattr(openai._base_client, "INITIAL_RETRY_DELAY", 0.01)
