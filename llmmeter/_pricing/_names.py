"""Model names as providers report them, turned into the names a price table knows.

``resolve`` tries candidates in order, most specific first:

1. the name as given (lower case), so a dated snapshot finds its own entry;
2. without a provider prefix (``openai/gpt-4o`` -> ``gpt-4o``, the prefix becoming a provider hint);
3. for a fine-tuned model (``ft:gpt-4.1-2025-04-14:org::id``), its base ``ft:gpt-4.1-2025-04-14``;
4. without a date suffix (``-2024-05-13``, ``-20240513``, ``@20240513``), the alias.

Amazon Bedrock bills Claude by where a request was addressed: :func:`bedrock_pricing_name` turns a
Bedrock model id into the name that rate is found by.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["Candidate", "bedrock_pricing_name", "candidates", "genai_provider_hints", "is_fine_tune"]

Hints = tuple[str | None, ...]
Candidate = tuple[str, Hints]

# OpenTelemetry gen_ai.provider.name -> genai-prices provider ids, most likely first.
_OTEL_PROVIDERS: dict[str, tuple[str, ...]] = {
    "openai": ("openai",),
    "azure.ai.openai": ("azure", "openai"),
    "azure.ai.inference": ("azure",),
    "anthropic": ("anthropic",),
    "aws.bedrock": ("aws",),
    "gcp.gemini": ("google",),
    "gcp.vertex_ai": ("google",),
    "gcp.gen_ai": ("google",),
    "groq": ("groq",),
    "mistral_ai": ("mistral",),
    "deepseek": ("deepseek",),
    "x_ai": ("x-ai",),
    "perplexity": ("perplexity",),
    "cohere": ("cohere",),
}

# Prefixes seen in model names (LiteLLM style ``openai/gpt-4o``) -> genai-prices provider ids.
_PREFIXES: dict[str, tuple[str, ...]] = {
    "openai": ("openai",),
    "azure": ("azure", "openai"),
    "azure_ai": ("azure",),
    "anthropic": ("anthropic",),
    "bedrock": ("aws",),
    "google": ("google",),
    "gemini": ("google",),
    "vertex_ai": ("google",),
    "groq": ("groq",),
    "mistral": ("mistral",),
    "deepseek": ("deepseek",),
    "xai": ("x-ai",),
    "x-ai": ("x-ai",),
    "perplexity": ("perplexity",),
    "cohere": ("cohere",),
    "openrouter": ("openrouter",),
    "together_ai": ("together",),
    "fireworks_ai": ("fireworks",),
}

_DATE_SUFFIX = re.compile(r"[-@](?:\d{4}-\d{2}-\d{2}|\d{8})$")


def genai_provider_hints(provider: str | None) -> Hints:
    """genai-prices provider ids to try for an OpenTelemetry provider name, ending with no hint."""
    if provider is None:
        return (None,)
    return (*_OTEL_PROVIDERS.get(provider.strip().lower(), ()), None)


def is_fine_tune(name: str) -> bool:
    """True for OpenAI fine-tuned model names (``ft:...``)."""
    return name.startswith("ft:")


def candidates(name: str, hints: Hints) -> Iterator[Candidate]:
    """The names to look ``name`` up by, most specific first, each with its provider hints."""
    name = name.strip().lower()
    if is_fine_tune(name) and "openai" not in hints:
        hints = ("openai", *hints)  # ``ft:`` names are OpenAI's
    yield name, hints
    prefix, slash, rest = name.partition("/")
    if slash and rest and not is_fine_tune(name):
        prefix_hints = _PREFIXES.get(prefix)
        yield from candidates(rest, (*prefix_hints, None) if prefix_hints else hints)
        return
    if is_fine_tune(name):
        base = _fine_tune_base(name)
        if base != name:
            yield base, hints
        name = base
    undated = _DATE_SUFFIX.sub("", name)
    if undated != name:
        yield undated, hints


def _fine_tune_base(name: str) -> str:
    """``ft:gpt-4.1-2025-04-14:org::id`` -> ``ft:gpt-4.1-2025-04-14``."""
    base = name[3:].split(":", 1)[0]
    return f"ft:{base}" if base else name


# Bedrock's cross-region inference profile prefixes: a geography, or ``global``.
_BEDROCK_PROFILE_PREFIXES = frozenset({"us", "eu", "apac", "jp", "au", "ca", "in", "us-gov", "global"})
# ARN resource types whose id names a model or a system inference profile; the others (application
# inference profiles, provisioned throughput) name a resource of the account, not a model.
_BEDROCK_MODEL_RESOURCES = frozenset(
    {"foundation-model", "inference-profile", "system-defined-inference-profile"}
)


def bedrock_pricing_name(model_id: str) -> str | None:
    """The name a Bedrock call is priced by, for the scope it addressed.

    A geographic profile or an in-region id is priced as the model (``us.anthropic.claude-...-v1:0``
    -> ``anthropic.claude-...-v1:0``, which genai-prices' ``aws`` entries price at the in-region
    rates); a global profile keeps its ``global.`` prefix (its own, lower, rates for recent Claude
    models); an ARN of a foundation model or inference profile is read as the id it names. An ARN
    that names no model (an application inference profile) gives None: the model the response
    reports is then all there is.
    """
    name = model_id.strip()
    if name.startswith("arn:"):
        kind, _, name = name.split(":", 5)[-1].partition("/")
        if kind not in _BEDROCK_MODEL_RESOURCES or not name:
            return None
    prefix, dot, rest = name.partition(".")
    if dot and "." in rest and prefix.lower() in _BEDROCK_PROFILE_PREFIXES and prefix.lower() != "global":
        return rest
    return name or None
