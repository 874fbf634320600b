"""Capture points: where LLM calls are caught. They never price and never touch OpenTelemetry."""

from llmmeter._capture._wrappers import AsyncMeteredTransport, MeteredTransport, meter_client

__all__ = ["AsyncMeteredTransport", "MeteredTransport", "meter_client"]
