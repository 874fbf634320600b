"""The finished record of one call: what every consumer (spans, metrics, track blocks, tests) reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llmmeter._pricing._cost import Cost
from llmmeter._usage import Usage

__all__ = ["CallRecord", "Ending"]

Ending = Literal["complete", "closed_early", "abandoned", "error", "cancelled"]


@dataclass(slots=True)
class CallRecord:
    """One LLM call as llmmeter saw it, made exactly once per call. Read it; never change it."""

    capture: str
    """``http``, ``langchain`` or ``realtime``."""
    provider: str
    operation: str
    request_model: str | None
    response_model: str | None
    usage: Usage | None
    cost: Cost
    duration_s: float
    error_type: str | None
    ending: Ending
    stream: bool
    time_to_first_chunk_s: float | None
    counted: bool
    """False for a LangChain run whose HTTP call was metered too: that one carries the cost."""
