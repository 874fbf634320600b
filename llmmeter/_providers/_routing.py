"""Which requests are LLM calls, and which adapter reads them.

Decided from the method, host and path alone, before any body is touched, so traffic that is not
an LLM call costs a few string comparisons and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import unquote

from llmmeter._pricing._names import bedrock_pricing_name, vertex_pricing_name
from llmmeter._providers._anthropic import MESSAGES
from llmmeter._providers._audio import SPEECH, TRANSCRIPTIONS
from llmmeter._providers._base import Adapter
from llmmeter._providers._bedrock_invoke import BEDROCK_INVOKE
from llmmeter._providers._cohere import COHERE_CHAT, COHERE_EMBED
from llmmeter._providers._gemini import EMBED_CONTENT, GENERATE_CONTENT
from llmmeter._providers._images import IMAGES
from llmmeter._providers._ollama import OLLAMA_CHAT, OLLAMA_EMBED, OLLAMA_GENERATE
from llmmeter._providers._openai import CHAT, EMBEDDINGS, RESPONSES
from llmmeter._providers._video import VIDEOS
from llmmeter._settings import settings
from llmmeter._telemetry import _names as n

__all__ = ["Route", "forget_routes", "route"]


@dataclass(frozen=True, slots=True)
class Route:
    """An LLM endpoint: who serves it, what operation it is, and the adapter for its bodies."""

    adapter: Adapter
    provider: str
    operation: str
    deployment: str | None = None
    """The Azure OpenAI deployment named in the path, when there is one."""
    model: str | None = None
    """The model the URL addresses (Gemini, Vertex AI, Bedrock), which the body does not name."""
    stream: bool | None = None
    """Whether the URL asks for a streamed answer (Gemini's ``:streamGenerateContent``); None when
    the request body says."""
    billed_model: str | None = None
    """The name the call is priced by when the endpoint decides the rate (see ``RequestInfo``)."""
    proxied: bool = True
    """Whether the host may be a proxy the team runs (a LiteLLM proxy, a gateway), whose answers may
    state their cost in headers; False for a provider's own public host (``api.openai.com``, Azure
    OpenAI, Google's and AWS's APIs), where the connection ends at the provider."""


# Public hosts of OpenAI-compatible (and Anthropic) APIs -> ``gen_ai.provider.name``: the GenAI
# conventions' well-known value where there is one (openai, anthropic, groq, deepseek, mistral_ai,
# x_ai, perplexity, cohere, gcp.gemini), else the maker's name in the same style. Any other host
# speaking OpenAI's protocol is reported as ``openai`` (the protocol's owner), unless the user names
# its provider (``configure(provider_hosts=...)``).
_HOST_PROVIDERS = {
    "api.openai.com": n.PROVIDER_OPENAI,
    "api.anthropic.com": n.PROVIDER_ANTHROPIC,
    "api.groq.com": n.PROVIDER_GROQ,
    "api.deepseek.com": n.PROVIDER_DEEPSEEK,
    "api.mistral.ai": n.PROVIDER_MISTRAL_AI,
    "codestral.mistral.ai": n.PROVIDER_MISTRAL_AI,
    "api.x.ai": n.PROVIDER_X_AI,
    "api.perplexity.ai": n.PROVIDER_PERPLEXITY,
    "api.cohere.com": n.PROVIDER_COHERE,
    "api.cohere.ai": n.PROVIDER_COHERE,
    "generativelanguage.googleapis.com": n.PROVIDER_GCP_GEMINI,
    "openrouter.ai": n.PROVIDER_OPENROUTER,
    "api.together.xyz": n.PROVIDER_TOGETHER_AI,
    "api.together.ai": n.PROVIDER_TOGETHER_AI,
    "api.fireworks.ai": n.PROVIDER_FIREWORKS_AI,
    "api.voyageai.com": n.PROVIDER_VOYAGE_AI,
    "api.writer.com": n.PROVIDER_WRITER,
    "api.cerebras.ai": n.PROVIDER_CEREBRAS,
    "api.deepinfra.com": n.PROVIDER_DEEPINFRA,
    "api.sambanova.ai": n.PROVIDER_SAMBANOVA,
    "api.novita.ai": n.PROVIDER_NOVITA,
    "api.hyperbolic.xyz": n.PROVIDER_HYPERBOLIC,
    "api.studio.nebius.com": n.PROVIDER_NEBIUS,
    "api.studio.nebius.ai": n.PROVIDER_NEBIUS,
    "router.huggingface.co": n.PROVIDER_HUGGINGFACE,
    "api.moonshot.ai": n.PROVIDER_MOONSHOT_AI,
    "api.z.ai": n.PROVIDER_ZAI,
    "integrate.api.nvidia.com": n.PROVIDER_NVIDIA_NIM,
    "models.github.ai": n.PROVIDER_GITHUB_MODELS,
}
# Local servers known by their default port: Ollama's (any host: it often runs in its own container)
# and LM Studio's (on this machine only, its port being a common one).
_PORT_PROVIDERS = {11434: n.PROVIDER_OLLAMA}
_LOOPBACK_PORT_PROVIDERS = {1234: n.PROVIDER_LM_STUDIO}
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_AZURE_SUFFIXES = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
_BEDROCK_HOST_PREFIXES = ("bedrock-runtime.", "bedrock-runtime-fips.", "bedrock.")
"""Bedrock's API hosts under ``.amazonaws.com``, where any other name may be the team's own (an
API Gateway, a load balancer, an instance)."""

# Path suffix -> (adapter, operation). Checked longest first.
_OPENAI_ENDPOINTS: tuple[tuple[str, Adapter, str], ...] = (
    ("/chat/completions", CHAT, n.OP_CHAT),
    ("/completions", CHAT, n.OP_TEXT_COMPLETION),
    ("/responses", RESPONSES, n.OP_CHAT),
    ("/embeddings", EMBEDDINGS, n.OP_EMBEDDINGS),
)
# Media endpoints generate content of another modality than their input (an image from a prompt,
# text from audio, speech from text, a video): the conventions' ``generate_content`` ("multimodal
# content generation") is the predefined operation that applies; ``gen_ai.output.type`` says which.
_MEDIA_ENDPOINTS: tuple[tuple[str, Adapter], ...] = (
    ("/images/generations", IMAGES),
    ("/images/edits", IMAGES),
    ("/audio/transcriptions", TRANSCRIPTIONS),
    ("/audio/translations", TRANSCRIPTIONS),
    ("/audio/speech", SPEECH),
    ("/videos", VIDEOS),
    ("/videos/edits", VIDEOS),
    ("/videos/extensions", VIDEOS),
)


# Gemini methods (``.../models/{model}:{method}``) -> (adapter, operation, streamed). The conventions
# name Gemini's multimodal generation ``generate_content``. Token counting, model listing and the
# other methods are not calls.
_GEMINI_METHODS: dict[str, tuple[Adapter, str, bool]] = {
    "generateContent": (GENERATE_CONTENT, n.OP_GENERATE_CONTENT, False),
    "streamGenerateContent": (GENERATE_CONTENT, n.OP_GENERATE_CONTENT, True),
    "embedContent": (EMBED_CONTENT, n.OP_EMBEDDINGS, False),
    "batchEmbedContents": (EMBED_CONTENT, n.OP_EMBEDDINGS, False),
}
# The collections a Gemini method is called on: base and tuned models, Vertex AI endpoints.
_GEMINI_COLLECTIONS = frozenset({"models", "tunedModels", "endpoints"})
_COHERE_ENDPOINTS: dict[str, tuple[Adapter, str]] = {
    "/v2/chat": (COHERE_CHAT, n.OP_CHAT),
    "/v2/embed": (COHERE_EMBED, n.OP_EMBEDDINGS),
}
# Cohere's v1 API has the same paths under /v1/, too common a prefix to claim on any other host.
_COHERE_V1_HOSTS = frozenset({"api.cohere.com", "api.cohere.ai"})


def _provider_for_host(host: str, port: int | None) -> str:
    hosts = settings.provider_hosts
    if hosts:
        named = (port is not None and hosts.get(f"{host}:{port}")) or hosts.get(host)
        if named:
            return named
    provider = _HOST_PROVIDERS.get(host)
    if provider is not None:
        return provider
    if host.endswith(_AZURE_SUFFIXES):
        return n.PROVIDER_AZURE_OPENAI
    if port is not None:
        provider = _PORT_PROVIDERS.get(port)
        if provider is None and host in _LOOPBACK:
            provider = _LOOPBACK_PORT_PROVIDERS.get(port)
        if provider is not None:
            return provider
    return n.PROVIDER_OPENAI


def _azure_deployment(path: str) -> str | None:
    marker = "/openai/deployments/"
    start = path.find(marker)
    if start == -1:
        return None
    rest = path[start + len(marker) :]
    return rest.split("/", 1)[0] or None


@lru_cache(maxsize=1024)
def route(method: str, host: str, path: str, port: int | None = None) -> Route | None:
    """The route for an LLM call, or None for any other request (remembered: an app talks to few
    endpoints, and this runs for every request its clients send; :func:`forget_routes` clears it
    when the provider hosts setting changes). ``port`` is the URL's explicit port, if any."""
    if method != "POST":
        return None
    found = _route(host, path, port)
    if found is not None and _is_public_host(host):
        return replace(found, proxied=False)
    return found


def _is_public_host(host: str) -> bool:
    """Whether ``host`` is a provider's own public API host (no proxy of the team's answers there)."""
    return (
        host in _HOST_PROVIDERS
        or host.endswith(_AZURE_SUFFIXES)
        or host.endswith(".googleapis.com")  # the Gemini API's and Vertex AI's: Google's alone
        or (host.endswith(".amazonaws.com") and host.startswith(_BEDROCK_HOST_PREFIXES))
    )


def _route(host: str, path: str, port: int | None) -> Route | None:
    """The route of a POST to ``host`` and ``path``, as if every host might be a proxy."""
    path = path.rstrip("/")
    if ":" in path:
        gemini = _gemini_route(host, path)
        if gemini is not None:
            return gemini
    if path.endswith("/v1/messages"):
        hosts = settings.provider_hosts
        named = hosts and ((port is not None and hosts.get(f"{host}:{port}")) or hosts.get(host))
        return Route(MESSAGES, named or n.PROVIDER_ANTHROPIC, n.OP_CHAT)
    native = _native_route(path)
    if native is not None:
        return native
    for suffix, adapter, operation in _OPENAI_ENDPOINTS:
        if path.endswith(suffix):
            return _openai_route(adapter, operation, host, path, port)
    for suffix, adapter in _MEDIA_ENDPOINTS:
        if path.endswith(suffix):
            return _openai_route(adapter, n.OP_GENERATE_CONTENT, host, path, port)
    if path.endswith("/remix") and "/videos/" in path:  # /videos/{id}/remix: a new job
        return _openai_route(VIDEOS, n.OP_GENERATE_CONTENT, host, path, port)
    cohere = _COHERE_ENDPOINTS.get(path[path.rfind("/v2/") :]) if "/v2/" in path else None
    if cohere is None and host in _COHERE_V1_HOSTS and "/v1/" in path:
        cohere = _COHERE_ENDPOINTS.get(path[path.rfind("/v1/") :].replace("/v1/", "/v2/", 1))
    if cohere is not None:
        return Route(cohere[0], n.PROVIDER_COHERE, cohere[1])
    return None


def _gemini_route(host: str, path: str) -> Route | None:
    """A Gemini API or Vertex AI model method (``/v1beta/models/gemini-2.5-flash:generateContent``,
    ``/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-pro:streamGenerateContent``)."""
    head, _, method = path.rpartition(":")
    collection, _, model = head.rpartition("/")
    collection = collection.rpartition("/")[2]
    if not model or collection not in _GEMINI_COLLECTIONS:
        return None
    vertex = "aiplatform" in host or "/projects/" in head or "/publishers/" in head
    if vertex and "/publishers/" in head and "/publishers/google/" not in head:
        return None  # another publisher's model on Vertex AI (Claude's rawPredict...): its own format
    found = _GEMINI_METHODS.get(method)
    if found is None and method == "predict" and "embedding" in model:
        found = (EMBED_CONTENT, n.OP_EMBEDDINGS, False)  # Vertex AI's text embedding models
    if found is None:
        return None
    adapter, operation, stream = found
    provider = n.PROVIDER_GCP_VERTEX_AI if vertex else n.PROVIDER_GCP_GEMINI
    return Route(adapter, provider, operation, model=model, stream=stream)


def forget_routes() -> None:
    """Forget the remembered routes (after ``configure(provider_hosts=...)``)."""
    route.cache_clear()


def _openai_route(adapter: Adapter, operation: str, host: str, path: str, port: int | None) -> Route:
    deployment = _azure_deployment(path)
    provider = n.PROVIDER_AZURE_OPENAI if deployment else _provider_for_host(host, port)
    return Route(adapter, provider, operation, deployment)


# Ollama's native API, recognised by its path whatever the host (``localhost:11434`` mostly).
_OLLAMA_ENDPOINTS: tuple[tuple[str, Adapter, str], ...] = (
    ("/api/chat", OLLAMA_CHAT, n.OP_CHAT),
    ("/api/generate", OLLAMA_GENERATE, n.OP_TEXT_COMPLETION),
    ("/api/embed", OLLAMA_EMBED, n.OP_EMBEDDINGS),
    ("/api/embeddings", OLLAMA_EMBED, n.OP_EMBEDDINGS),
)
_VERTEX_CLAUDE = "/publishers/anthropic/models/"
_VERTEX_CLAUDE_METHODS = {"rawPredict": False, "streamRawPredict": True}
_BEDROCK_INVOKE_METHODS = {"invoke": False, "invoke-with-response-stream": True}


def _native_route(path: str) -> Route | None:
    """The route of a provider's native API whose path alone says what it is (the host may be a
    regional endpoint, a private endpoint or a proxy)."""
    for suffix, adapter, operation in _OLLAMA_ENDPOINTS:
        if path.endswith(suffix):
            return Route(adapter, n.PROVIDER_OLLAMA, operation)
    if _VERTEX_CLAUDE in path:
        return _vertex_claude_route(path)
    if "/model/" in path:
        return _bedrock_invoke_route(path)
    return None


def _vertex_claude_route(path: str) -> Route | None:
    """``.../projects/{p}/locations/{location}/publishers/anthropic/models/{model}:rawPredict`` and
    ``:streamRawPredict``: Anthropic's Messages body, the model and the rate in the URL."""
    head, _, target = path.partition(_VERTEX_CLAUDE)
    model, _, method = unquote(target).rpartition(":")
    stream = _VERTEX_CLAUDE_METHODS.get(method)
    if stream is None or not model or model == "count-tokens":
        return None
    _, found, rest = head.partition("/locations/")
    location = rest.split("/", 1)[0] if found else None
    return Route(
        MESSAGES,
        n.PROVIDER_GCP_VERTEX_AI,
        n.OP_CHAT,
        model=model,
        stream=stream,
        billed_model=vertex_pricing_name(model, location),
    )


def _bedrock_invoke_route(path: str) -> Route | None:
    """``/model/{model id}/invoke`` and ``/invoke-with-response-stream``: the model (an id, an
    inference profile or an ARN, URL-encoded) in the URL."""
    _, _, rest = path.partition("/model/")
    encoded, _, method = rest.rpartition("/")
    stream = _BEDROCK_INVOKE_METHODS.get(method)
    if stream is None or not encoded:
        return None
    model = unquote(encoded)
    return Route(
        BEDROCK_INVOKE,
        n.PROVIDER_AWS_BEDROCK,
        n.OP_CHAT,
        model=model,
        stream=stream,
        billed_model=bedrock_pricing_name(model),
    )
