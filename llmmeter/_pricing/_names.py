"""Model names as providers report them, turned into the names a price table knows.

``resolve`` tries candidates in order, most specific first:

1. the name as given (lower case), so a dated snapshot finds its own entry;
2. without a provider prefix (``openai/gpt-4o`` -> ``gpt-4o``, the prefix becoming a provider hint);
3. for a fine-tuned model (``ft:gpt-4.1-2025-04-14:org::id``), its base ``ft:gpt-4.1-2025-04-14``;
4. without a date suffix (``-2024-05-13``, ``-20240513``, ``@20240513``), the alias;
5. for a regional endpoint's name (``regional.claude-sonnet-4``), the model's own name when no
   regional rate is known for it.

Cloud endpoints bill Claude by where the request was addressed: :func:`bedrock_model` and
:func:`vertex_pricing_name` turn a Bedrock model id or a Vertex AI model and location into the
name that rate is found by.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = [
    "GLOBAL",
    "REGIONAL",
    "Candidate",
    "bedrock_model",
    "bedrock_pricing_name",
    "candidates",
    "genai_provider_hints",
    "is_fine_tune",
    "vertex_pricing_name",
]

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

_REGIONAL_PREFIX = "regional."
_DATE_SUFFIX = re.compile(r"[-@](?:\d{4}-\d{2}-\d{2}|\d{8})$")


# Providers that serve models on the user's own machines: genai-prices' rates of a hosted model of
# the same name (``deepseek-r1``, ``gpt-oss``) are not what they cost. Only the user's entries price them.
_LOCAL_PROVIDERS = frozenset({"ollama"})


def genai_provider_hints(provider: str | None) -> Hints:
    """genai-prices provider ids to try for an OpenTelemetry provider name, ending with no hint;
    none at all for a local provider (see ``_LOCAL_PROVIDERS``)."""
    if provider is None:
        return (None,)
    if provider in _LOCAL_PROVIDERS:
        return ()
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
    if name.startswith(_REGIONAL_PREFIX):  # no regional rate of its own: the model's rates
        yield from candidates(name[len(_REGIONAL_PREFIX) :], hints)


def _fine_tune_base(name: str) -> str:
    """``ft:gpt-4.1-2025-04-14:org::id`` -> ``ft:gpt-4.1-2025-04-14``."""
    base = name[3:].split(":", 1)[0]
    return f"ft:{base}" if base else name


GLOBAL = "global"
"""An endpoint that may serve a request from any region (Bedrock ``global.`` profiles, Vertex AI's
``global`` location)."""
REGIONAL = "regional"
"""An endpoint bound to a region or a geography (a Bedrock in-region model id or a ``us.``/``eu.``/
``apac.``... profile, a Vertex AI region or multi-region): for Claude 4.5 and later, billed about
10% above the global rates."""

# Bedrock's cross-region inference profile prefixes: a geography, or ``global``.
_BEDROCK_GEOGRAPHIES = frozenset({"us", "eu", "apac", "jp", "au", "ca", "in", "us-gov", "global"})
# ARN resource types whose id names a model (``.../foundation-model/anthropic.claude-...``,
# ``.../inference-profile/us.anthropic.claude-...``); others (application inference profiles,
# provisioned throughput) name a resource of the account, not a model.
_BEDROCK_MODEL_RESOURCES = frozenset(
    {"foundation-model", "inference-profile", "system-defined-inference-profile"}
)


def bedrock_model(model_id: str) -> tuple[str | None, str]:
    """The Bedrock model a model id names, without its cross-region prefix, and its endpoint scope.

    ``us.anthropic.claude-sonnet-4-5-20250929-v1:0`` -> (``anthropic.claude-sonnet-4-5-20250929-v1:0``,
    ``regional``); ``global.anthropic...`` -> (``anthropic...``, ``global``); an ARN of a foundation
    model or of a system inference profile -> the model it names; an ARN that names no model (an
    application inference profile, provisioned throughput) -> (None, ``regional``): the model the
    response reports is then all there is.
    """
    name = model_id.strip()
    if name.startswith("arn:"):
        resource = name.split(":", 5)[-1]
        kind, _, name = resource.partition("/")
        if kind not in _BEDROCK_MODEL_RESOURCES or not name:
            return None, REGIONAL
    prefix, dot, rest = name.partition(".")
    if dot and rest.count(".") and prefix.lower() in _BEDROCK_GEOGRAPHIES:
        return rest, GLOBAL if prefix.lower() == GLOBAL else REGIONAL
    return name or None, REGIONAL


def bedrock_pricing_name(model_id: str) -> str | None:
    """The name a Bedrock call is priced by: the model, as genai-prices' ``aws`` ids name it for the
    scope addressed (``global.anthropic...`` for a global profile, ``anthropic...`` otherwise);
    None when the id names no model (see :func:`bedrock_model`)."""
    model, scope = bedrock_model(model_id)
    if model is None:
        return None
    return f"{GLOBAL}.{model}" if scope == GLOBAL else model


def vertex_pricing_name(model: str, location: str | None) -> str:
    """The name a Claude call on Vertex AI is priced by.

    At the ``global`` location the model itself (``claude-sonnet-4-5@20250929``); at a region or a
    multi-region (``us-east5``, ``us``, ``eu``), ``regional.`` and the model without its date
    (``regional.claude-sonnet-4-5``), which the supplement prices for the models with regional
    rates and which resolves to the model's own entry otherwise.
    """
    if location is None or location.strip().lower() == GLOBAL:
        return model
    return f"{REGIONAL}.{_DATE_SUFFIX.sub('', model.strip().lower())}"
