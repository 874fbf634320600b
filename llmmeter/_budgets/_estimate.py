"""A request's worst-case cost, known before it is sent.

Input: every tokenizer the providers bill text with (byte-level BPE for OpenAI and Anthropic,
SentencePiece with byte fallback for Gemini) makes each token of at least one byte of UTF-8 text, and
a request's JSON body holds its text plus quoting, keys and message framing worth more than the
few tokens a provider adds per message. So the size of the body in bytes is never below the input
tokens billed for a text prompt. (Images given by URL, audio and files are billed by what they
are, not by their size in the body: their input is not bounded this way.)

Output: the limit the request states (``max_tokens``, ``max_completion_tokens``,
``max_output_tokens``, ``generationConfig.maxOutputTokens``, ``inferenceConfig.maxTokens``), at
the model's output rate. A request that states none reserves its input only.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from llmmeter._errors import PricingFileError
from llmmeter._pricing import get_table
from llmmeter._providers._base import RequestInfo
from llmmeter._telemetry import _names as n
from llmmeter._usage import Usage

__all__ = ["stated_output_limit", "worst_case_cost"]

_TOP_LEVEL_LIMITS = ("max_completion_tokens", "max_tokens", "max_output_tokens")
_NESTED_LIMITS = (("generationConfig", "maxOutputTokens"), ("inferenceConfig", "maxTokens"))


def _count(value: Any) -> int | None:
    if type(value) is int and value >= 0:
        return value
    return None


def stated_output_limit(body: Mapping[str, Any] | None) -> int | None:
    """The most output tokens a decoded request body allows, or None when it states no limit."""
    if body is None:
        return None
    for key in _TOP_LEVEL_LIMITS:
        limit = _count(body.get(key))
        if limit is not None:
            return limit
    for outer, inner in _NESTED_LIMITS:
        section = body.get(outer)
        if isinstance(section, Mapping):
            limit = _count(section.get(inner))
            if limit is not None:
                return limit
    return None


def worst_case_cost(request: RequestInfo, input_size: int, output_limit: int | None) -> Decimal:
    """The most ``request`` can cost: ``input_size`` input tokens plus ``output_limit`` output tokens
    (the ``gen_ai.request.max_tokens`` the adapter read when None), priced for its model and tier.
    0 when the model has no known price: such a request reserves nothing."""
    if output_limit is None:
        stated = request.params.get(n.REQUEST_MAX_TOKENS)
        output_limit = stated if type(stated) is int and stated >= 0 else 0
    if not input_size and not output_limit:
        return Decimal(0)
    try:
        table = get_table()
    except PricingFileError:
        return Decimal(0)
    cost = table.price_usage(
        request.model,
        Usage(input_tokens=input_size, output_tokens=output_limit),
        provider=request.provider,
        service_tier=request.service_tier,
    )
    return cost.total or Decimal(0)
