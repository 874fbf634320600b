"""Fixtures for the Realtime tests: an instrumented process and the loopback Realtime server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import llmmeter
from tests.realtime.server import RealtimeServer


@pytest.fixture
def instrumented(tracer_provider: Any, meter_provider: Any) -> Iterator[None]:
    """``llmmeter.instrument()`` on the test's providers, undone afterwards."""
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    yield
    llmmeter.uninstrument()


@pytest.fixture
def server() -> Iterator[RealtimeServer]:
    """A Realtime server with no scripted turns (tests append theirs to ``server.turns``)."""
    with RealtimeServer() as running:
        yield running
