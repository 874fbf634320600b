"""Model names as providers report them, turned into the names a price table knows.

``resolve`` tries candidates in order, most specific first:

1. the name as given (lower case), so a dated snapshot finds its own entry;
2. without a provider prefix (``openai/gpt-4o`` -> ``gpt-4o``, the prefix becoming a provider hint);
3. for a fine-tuned model (``ft:gpt-4.1-2025-04-14:org::id``), its base ``ft:gpt-4.1-2025-04-14``;
4. without a date suffix (``-2024-05-13``, ``-20240513``, ``@20240513``), the alias.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["Candidate", "candidates", "genai_provider_hints", "is_fine_tune"]

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
    "openrouter": ("openrouter",),
    "together_ai": ("together",),
    "fireworks_ai": ("fireworks",),
    "voyage_ai": ("voyageai",),
    "cerebras": ("cerebras",),
    "novita": ("novita",),
    "moonshot_ai": ("moonshotai",),
    "zai": ("zai",),
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
