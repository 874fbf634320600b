"""llmmeter as an OpenTelemetry instrumentor, for OpenTelemetry's own zero-code tooling.

``opentelemetry-instrument python app.py`` (opentelemetry-distro) finds :class:`LLMMeterInstrumentor`
through its ``opentelemetry_instrumentor`` entry point and calls it with the providers it set up,
so an app is metered with no code change. In code it is the same as :func:`llmmeter.instrument`::

    from llmmeter.instrumentation import LLMMeterInstrumentor

    LLMMeterInstrumentor().instrument(tracer_provider=..., meter_provider=..., logger_provider=...)

Needs ``opentelemetry-instrumentation`` (which ``opentelemetry-instrument`` comes with).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from llmmeter._capture._instrument import instrument, uninstrument

__all__ = ["LLMMeterInstrumentor"]


class LLMMeterInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Meters every httpx and httpx2 client, aiohttp session and Realtime WebSocket session (each when
    its library is installed), and LangChain when llmmeter-langchain is installed."""

    def instrumentation_dependencies(self) -> Collection[str]:
        """None: llmmeter meters whichever of its capture points' libraries the app has."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        instrument(
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            logger_provider=kwargs.get("logger_provider"),
        )

    def _uninstrument(self, **kwargs: Any) -> None:
        uninstrument()
