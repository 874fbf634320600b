"""What LangChain's callback arguments say about a model call: request, usage, model, provider.

Pure functions over LangChain's plain data (metadata dicts, invocation params, ``LLMResult``);
nothing here touches OpenTelemetry or keeps state.

Usage is read once per run, in this order, and never summed over the ``n`` choices of one call
(with ``n > 1`` every generation may carry the same usage):

1. ``generations[i][j].message.usage_metadata`` (chat models; LangChain's normalized form),
2. ``llm_output["token_usage"]`` or ``llm_output["usage"]`` (the provider's raw form),
3. ``generation_info`` (``usage_metadata``, ``token_usage`` or ``usage``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from llmmeter._integration import (
    AttributeValue,
    ReportedCost,
    RequestInfo,
    ResponseInfo,
    Usage,
    from_anthropic,
    from_langchain,
    from_openai_chat,
    from_openai_responses,
    from_openai_usage,
)
from llmmeter._integration import messages as m
from llmmeter._integration import names as n

__all__ = [
    "chat_content",
    "failed_response",
    "is_cache_hit",
    "model_request",
    "model_response",
    "prompt_content",
    "provider_name",
    "run_attributes",
    "run_name",
]

# LangChain's provider ids (``ls_provider``, or the ``_type`` of a model) -> gen_ai.provider.name.
_PROVIDERS: dict[str, str] = {
    "openai": n.PROVIDER_OPENAI,
    "azure": n.PROVIDER_AZURE_OPENAI,
    "azure_openai": n.PROVIDER_AZURE_OPENAI,
    "azure-openai": n.PROVIDER_AZURE_OPENAI,
    "azure_ai": n.PROVIDER_AZURE_AI_INFERENCE,
    "anthropic": n.PROVIDER_ANTHROPIC,
    "amazon_bedrock": n.PROVIDER_AWS_BEDROCK,
    "bedrock": n.PROVIDER_AWS_BEDROCK,
    "bedrock_converse": n.PROVIDER_AWS_BEDROCK,
    "google_genai": n.PROVIDER_GCP_GEMINI,
    "google_gemini": n.PROVIDER_GCP_GEMINI,
    "google_vertexai": n.PROVIDER_GCP_VERTEX_AI,
    "google_anthropic_vertex": n.PROVIDER_GCP_VERTEX_AI,
    # ChatAnthropicVertex sets no ls_provider: LangChain derives it from the class name.
    "anthropicvertex": n.PROVIDER_GCP_VERTEX_AI,
    "anthropic-chat-vertexai": n.PROVIDER_GCP_VERTEX_AI,
    "cohere": n.PROVIDER_COHERE,
    "deepseek": n.PROVIDER_DEEPSEEK,
    "groq": n.PROVIDER_GROQ,
    "ibm": n.PROVIDER_IBM_WATSONX,
    "watsonx": n.PROVIDER_IBM_WATSONX,
    "mistral": n.PROVIDER_MISTRAL_AI,
    "mistralai": n.PROVIDER_MISTRAL_AI,
    "ollama": "ollama",  # no conventions value; the name the DESIGN gives it
    "perplexity": n.PROVIDER_PERPLEXITY,
    "xai": n.PROVIDER_X_AI,
}

# invocation param -> gen_ai.request.* attribute
_PARAMS: dict[str, str] = {
    "temperature": n.REQUEST_TEMPERATURE,
    "max_tokens": n.REQUEST_MAX_TOKENS,
    "max_completion_tokens": n.REQUEST_MAX_TOKENS,
    "max_output_tokens": n.REQUEST_MAX_TOKENS,
    "top_p": n.REQUEST_TOP_P,
    "top_k": n.REQUEST_TOP_K,
    "frequency_penalty": n.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": n.REQUEST_PRESENCE_PENALTY,
    "seed": n.REQUEST_SEED,
}
_PARAM_KEYS = frozenset(_PARAMS)
_TEMPERATURE = n.REQUEST_TEMPERATURE
_MAX_TOKENS = n.REQUEST_MAX_TOKENS
_RUN_ID = n.LANGCHAIN_RUN_ID
_TAGS = n.LANGCHAIN_TAGS
_METADATA_PREFIX = n.LANGCHAIN_METADATA_PREFIX
_TIERED_PROVIDERS = (n.PROVIDER_OPENAI, n.PROVIDER_AZURE_OPENAI)
_MODEL_PARAMS = ("model", "model_name", "model_id", "deployment_name", "azure_deployment")
_TIERS = ("priority", "flex")
_SCALARS = (str, bool, int, float)
_NUMBERS = (int, float)
_RESERVED_METADATA = ("ls_", "lc_")


def provider_name(metadata: Mapping[str, Any], invocation_params: Mapping[str, Any]) -> str:
    """The gen_ai.provider.name of a model run, from ``ls_provider`` or the model's ``_type``."""
    provider = metadata.get("ls_provider")
    if not isinstance(provider, str) or not provider:
        kind = invocation_params.get("_type")
        if not isinstance(kind, str) or not kind:
            return n.ERROR_TYPE_OTHER
        provider = kind.removesuffix("-chat").removesuffix("_chat")
    provider = provider.lower()
    return _PROVIDERS.get(provider, provider)


def run_name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> str:
    """The name LangChain gives a run: the ``name`` argument, else the serialized name or class."""
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if serialized:
        name = serialized.get("name")
        if isinstance(name, str) and name:
            return name
        ids = serialized.get("id")
        if isinstance(ids, list) and ids and isinstance(ids[-1], str):
            return ids[-1]
    return "unknown"


Prompt = tuple[list[dict[str, Any]] | None, list[dict[str, Any]]]
"""Captured prompt content: the conventions' system instructions and input messages."""


def run_attributes(
    run_id: UUID, tags: Sequence[str] | None, metadata: Mapping[str, Any] | None
) -> dict[str, AttributeValue]:
    """The run id, tags and scalar metadata of a run, as span attributes.

    Only scalar metadata values are kept (bounded attributes); LangChain's own ``ls_*`` and
    ``lc_*`` keys are left out, their content being on gen_ai.* attributes already.
    """
    attributes: dict[str, AttributeValue] = {_RUN_ID: str(run_id)}
    if tags:
        attributes[_TAGS] = [tag for tag in tags if isinstance(tag, str)]
    if metadata:
        for key in _user_keys(metadata):
            value = metadata[key]
            if isinstance(value, _SCALARS):
                attributes[_METADATA_PREFIX + key] = value
    return attributes


_USER_KEYS: dict[tuple[Any, ...], tuple[str, ...]] = {}
"""Metadata keys, as LangChain passes them (the same few sets on every run) -> those written."""
_USER_KEYS_MAX = 256


def _user_keys(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys of ``metadata`` that may be written: strings, not LangChain's own (``ls_``, ``lc_``)."""
    keys = tuple(metadata)
    if type(metadata) is not dict:  # a custom mapping's keys may not hash
        return _writable(keys)
    written = _USER_KEYS.get(keys)
    if written is None:
        if len(_USER_KEYS) >= _USER_KEYS_MAX:
            _USER_KEYS.clear()
        written = _USER_KEYS[keys] = _writable(keys)
    return written


def _writable(keys: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(key for key in keys if isinstance(key, str) and not key.startswith(_RESERVED_METADATA))


def model_request(
    operation: str,
    metadata: Mapping[str, Any],
    invocation_params: Mapping[str, Any],
    attributes: dict[str, AttributeValue],
    content: Prompt | None = None,
) -> RequestInfo:
    """The request of a model run, from its metadata (``ls_*`` keys) and invocation params.

    Made before the run's span, since the model names the span. The request parameters
    (``gen_ai.request.*``) are added to ``attributes`` (the run's), which become its params.
    """
    params = attributes
    if not _PARAM_KEYS.isdisjoint(invocation_params.keys()):
        for key, value in invocation_params.items():
            attribute = _PARAMS.get(key)
            if attribute is not None and type(value) in _NUMBERS and attribute not in params:
                params[attribute] = value
    temperature: Any = metadata.get("ls_temperature")
    if type(temperature) in _NUMBERS and _TEMPERATURE not in params:
        params[_TEMPERATURE] = temperature
    max_tokens: Any = metadata.get("ls_max_tokens")
    if type(max_tokens) in _NUMBERS and _MAX_TOKENS not in params:
        params[_MAX_TOKENS] = max_tokens
    stop = invocation_params.get("stop") or metadata.get("ls_stop")
    if isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
        params[n.REQUEST_STOP_SEQUENCES] = list(stop)
    choices = invocation_params.get("n")
    if type(choices) is int and choices != 1:
        params[n.REQUEST_CHOICE_COUNT] = choices
    service_tier = invocation_params.get("service_tier")
    if not isinstance(service_tier, str) or not service_tier:
        service_tier = None
    provider = provider_name(metadata, invocation_params)
    if service_tier and provider in _TIERED_PROVIDERS:
        params[n.OPENAI_REQUEST_SERVICE_TIER] = service_tier
    model = metadata.get("ls_model_name")
    if not isinstance(model, str) or not model:
        model = _first_of((invocation_params,), _MODEL_PARAMS)
    system, messages = content if content is not None else (None, None)
    return RequestInfo(
        provider=provider,
        operation=operation,
        model=model,
        stream=invocation_params.get("stream") is True or invocation_params.get("streaming") is True,
        service_tier=service_tier,
        params=params,
        input_messages=messages,
        system_instructions=system,
        # When content is captured, the tools bound to the model too.
        tool_definitions=None if messages is None else m.tool_definitions(invocation_params.get("tools")),
    )


_ROLES = {"human": n.ROLE_USER, "ai": n.ROLE_ASSISTANT, "tool": n.ROLE_TOOL, "function": n.ROLE_TOOL}


def chat_content(messages: Sequence[BaseMessage]) -> Prompt:
    """A chat prompt in the conventions' schema: system messages become system instructions."""
    system: list[dict[str, Any]] = []
    result: list[dict[str, Any]] = []
    for message in messages:
        parts = m.text_parts(message.content)
        if message.type == "system":
            system.extend(parts)
            continue
        role = _ROLES.get(message.type) or getattr(message, "role", None) or message.type
        if message.type == "tool":
            parts = [
                {
                    "type": n.PART_TOOL_CALL_RESPONSE,
                    "id": getattr(message, "tool_call_id", None),
                    "response": message.content if isinstance(message.content, str) else parts,
                }
            ]
        parts.extend(_tool_call_parts(message))
        result.append({"role": role, "parts": parts})
    return system or None, result


def _tool_call_parts(message: Any) -> list[dict[str, Any]]:
    """The tool calls of an AI message (LangChain's ``tool_calls``: name, args, id) as parts."""
    calls = getattr(message, "tool_calls", None)
    if not isinstance(calls, list):
        return []
    return [
        {
            "type": n.PART_TOOL_CALL,
            "id": call.get("id"),
            "name": call.get("name"),
            "arguments": call.get("args"),
        }
        for call in calls
        if isinstance(call, Mapping) and isinstance(call.get("name"), str)
    ]


def prompt_content(prompts: Sequence[str]) -> Prompt:
    """A text prompt in the conventions' schema: one user message per prompt."""
    return None, [{"role": n.ROLE_USER, "parts": [m.text_part(prompt)]} for prompt in prompts]


def _output_messages(generations: Sequence[Any], reasons: Sequence[str | None]) -> list[dict[str, Any]]:
    """One output message per generation, with its text (or content blocks) and tool calls."""
    result = []
    for generation, reason in zip(generations, reasons, strict=True):
        message = getattr(generation, "message", None)
        if message is not None:
            parts = m.text_parts(message.content)
            parts.extend(_tool_call_parts(message))
        else:
            parts = m.text_parts(generation.text)
        result.append(m.output_message(parts, reason))
    return result


def is_cache_hit(result: LLMResult) -> bool:
    """Whether LangChain answered the run from its LLM cache.

    A chat model's cache hit returns the stored generations with ``"total_cost": 0`` added to
    each message's ``usage_metadata``, and no ``llm_output``; a live call never does that.
    """
    if result.llm_output:
        return False
    for generations in result.generations:
        for generation in generations:
            usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
            if isinstance(usage, Mapping) and usage.get("total_cost") == 0:
                return True
    return False


def failed_response(result: LLMResult | None, provider: str, capture_content: bool) -> ResponseInfo:
    """What a failed model run reported before failing (a stream's chunks so far): never complete."""
    if result is None or not result.generations:
        return ResponseInfo(complete=False)
    info = model_response(result, provider, capture_content)
    info.complete = False
    return info


def model_response(result: LLMResult, provider: str, capture_content: bool) -> ResponseInfo:
    """What a finished (or failed, with its partial result) model run reported."""
    batches = result.generations
    generations = batches[0] if len(batches) == 1 else [g for gs in batches for g in gs]
    output = result.llm_output
    llm_output = output if type(output) is dict or isinstance(output, Mapping) else _EMPTY
    response_metadata: list[Mapping[str, Any]] = []
    generation_info: list[Mapping[str, Any]] = []
    reasons: list[str | None] = []
    finish_reasons: list[str] = []
    usage_metadata = None
    for generation in generations:
        message = getattr(generation, "message", None)
        metadata = getattr(message, "response_metadata", None)
        if type(metadata) is not dict and not isinstance(metadata, Mapping):
            metadata = _EMPTY
        details = generation.generation_info or _EMPTY
        response_metadata.append(metadata)
        generation_info.append(details)
        reason = _first_of((details, metadata), _REASON_KEYS)
        reasons.append(reason)
        if reason is not None:
            finish_reasons.append(reason)
        if usage_metadata is None:
            # The first message usage in the run: every choice of one call may repeat the same usage.
            usage = getattr(message, "usage_metadata", None)
            if type(usage) is dict or isinstance(usage, Mapping):
                usage_metadata = usage
    sources = (*response_metadata, llm_output, *generation_info)
    info = ResponseInfo(
        model=_first_of(sources, _MODEL_KEYS),
        response_id=_first((*response_metadata, llm_output), "id"),
        finish_reasons=finish_reasons,
        usage=_usage(usage_metadata, llm_output, generation_info, provider),
        reported_cost=_reported_cost((llm_output, *response_metadata)),
    )
    info.service_tier = _first(sources, "service_tier") or _tier_from_details(usage_metadata)
    if capture_content:
        info.output_messages = _output_messages(generations, reasons)
    return info


_EMPTY: Mapping[str, Any] = {}
"""What a missing metadata mapping reads as (never written to)."""
_MODEL_KEYS = ("model_name", "model")
_REASON_KEYS = ("finish_reason", "stop_reason")


def _usage(
    usage_metadata: Mapping[str, Any] | None,
    llm_output: Mapping[str, Any],
    generation_info: Sequence[Mapping[str, Any]],
    provider: str,
) -> Usage | None:
    if usage_metadata is not None:
        return from_langchain(usage_metadata)
    for key in ("token_usage", "usage"):
        usage = _raw_usage(llm_output.get(key), provider)
        if usage is not None:
            return usage
    for info in generation_info:
        if isinstance(info.get("usage_metadata"), Mapping):
            return from_langchain(info["usage_metadata"])
        for key in ("token_usage", "usage"):
            usage = _raw_usage(info.get(key), provider)
            if usage is not None:
                return usage
    return None


def _reported_cost(sources: Sequence[Mapping[str, Any]]) -> ReportedCost | None:
    """The cost a gateway stated in the raw usage a model kept (ChatOpenAI's ``token_usage``)."""
    for source in sources:
        raw = source.get("token_usage")
        if type(raw) is dict or isinstance(raw, Mapping):
            return from_openai_usage(raw)
    return None


def _raw_usage(raw: Any, provider: str) -> Usage | None:
    """A provider's own usage object, recognised by its keys."""
    if not isinstance(raw, Mapping) or not raw:
        return None
    if "prompt_tokens" in raw or "completion_tokens" in raw:
        return from_openai_chat(raw)
    if "input_tokens" not in raw and "output_tokens" not in raw:
        return None
    if (
        provider == n.PROVIDER_ANTHROPIC
        or "cache_read_input_tokens" in raw
        or "cache_creation_input_tokens" in raw
    ):
        return from_anthropic(raw)
    if "input_tokens_details" in raw or "output_tokens_details" in raw:
        return from_openai_responses(raw)
    return from_langchain(raw)


def _tier_from_details(usage_metadata: Mapping[str, Any] | None) -> str | None:
    """The service tier named by tier-prefixed detail keys (``priority_cache_read``, ``flex``)."""
    if usage_metadata is None:
        return None
    for details_key in ("input_token_details", "output_token_details"):
        details = usage_metadata.get(details_key)
        if not isinstance(details, Mapping):
            continue
        for key in details:
            for tier in _TIERS:
                if isinstance(key, str) and (key == tier or key.startswith(tier + "_")):
                    return tier
    return None


def _first_of(sources: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> str | None:
    """The first non-empty string under one of ``keys`` in the first source that has one."""
    for source in sources:
        for key in keys:
            value = source.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _first(sources: Sequence[Mapping[str, Any]], key: str) -> str | None:
    """:func:`_first_of` with one key."""
    for source in sources:
        value = source.get(key)
        if isinstance(value, str) and value:
            return value
    return None
