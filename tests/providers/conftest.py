"""Fixtures for the native provider APIs: metered httpx/httpx2 clients on explicit providers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest

import llmmeter


@pytest.fixture
def metered(tracer_provider: Any, meter_provider: Any) -> dict[str, Any]:
    """The telemetry providers every metered transport of a test writes to."""
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


@pytest.fixture
def httpx2_client(metered: dict[str, Any]) -> Iterator[httpx2.Client]:
    """An httpx2 client (the anthropic SDK's library) whose transport is metered."""
    with httpx2.Client(transport=llmmeter.MeteredTransport(httpx2.HTTPTransport(), **metered)) as client:
        yield client


@pytest.fixture
def httpx_transport(metered: dict[str, Any]) -> Iterator[llmmeter.MeteredTransport]:
    """A metered httpx transport (the ollama client's library), closed after the test."""
    transport = llmmeter.MeteredTransport(httpx.HTTPTransport(), **metered)
    yield transport
    transport.close()
