"""Provider adapters: recognise LLM calls and read their bodies. They know nothing of telemetry."""

from llmmeter._providers._base import RequestInfo, ResponseInfo, StreamState
from llmmeter._providers._routing import Route, route

__all__ = ["RequestInfo", "ResponseInfo", "Route", "StreamState", "route"]
