"""What framework integrations (``llmmeter-langchain``, ...) build on: the one llmmeter module they import.

An integration turns its framework's events into :class:`Call` (an LLM call: started, then
finished once) and :class:`Step` (a non-model step: a chain, a tool, an agent) objects; llmmeter
does the pricing, the spans, the metrics and the ``track()`` totals. Everything here is stable
within a minor version of llmmeter, so an integration pins ``llmmeter>=X.Y,<X.Y+1``; nothing here
is part of the application-facing API.
"""

from __future__ import annotations

from opentelemetry.context import Context

from llmmeter._budgets._reserve import reserve_call_unless_it_blocks
from llmmeter._errors import BudgetExceeded
from llmmeter._guard import internal_error
from llmmeter._pricing._cost import Cost
from llmmeter._providers import _messages as messages
from llmmeter._providers._base import AttributeValue, RequestInfo, ResponseInfo
from llmmeter._reported import ReportedCost, from_openai_usage
from llmmeter._settings import settings
from llmmeter._telemetry import _names as names
from llmmeter._telemetry._call import Call, Telemetry, enclosing_call, telemetry_for
from llmmeter._telemetry._record import Ending
from llmmeter._telemetry._step import Step
from llmmeter._tracking import enclosing_budgets
from llmmeter._usage import Usage, from_anthropic, from_langchain, from_openai_chat, from_openai_responses

__all__ = [
    "AttributeValue",
    "BudgetExceeded",
    "Call",
    "Context",
    "Cost",
    "Ending",
    "ReportedCost",
    "RequestInfo",
    "ResponseInfo",
    "Step",
    "Telemetry",
    "Usage",
    "enclosing_budgets",
    "enclosing_call",
    "from_anthropic",
    "from_langchain",
    "from_openai_chat",
    "from_openai_responses",
    "from_openai_usage",
    "internal_error",
    "messages",
    "names",
    "reserve_call_unless_it_blocks",
    "settings",
    "telemetry_for",
]
