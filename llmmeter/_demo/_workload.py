"""The demo's workload: real SDK calls, each step a function of the clients it needs."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Step", "Target", "langchain_unavailable", "live_target", "local_target", "steps"]

_SYSTEM = "You are a terse assistant for a cost-metering demo."
_CACHED_SYSTEM = (
    "You are the assistant of a cost-metering demo. This long system prompt is marked for prompt "
    "caching: the first call writes it to the cache and later calls read it at a tenth of the price. "
) * 4


@dataclass(frozen=True, slots=True)
class Target:
    """Where the demo's calls go, and with which models."""

    openai_base_url: str | None
    openai_api_key: str
    anthropic_base_url: str | None
    anthropic_api_key: str | None
    chat_model: str = "gpt-4o-mini"
    stream_model: str = "gpt-4o"
    responses_model: str = "gpt-5.4"
    embeddings_model: str = "text-embedding-3-small"
    anthropic_model: str = "claude-sonnet-4-6"
    realtime_model: str = "gpt-realtime"
    image_model: str = "gpt-image-1.5"
    gateway_base_url: str | None = None
    """An OpenRouter-shaped gateway that reports each call's cost (the local fake one)."""
    gateway_model: str = "openai/gpt-4o-mini"


def local_target(
    openai_base_url: str, anthropic_base_url: str, gateway_base_url: str | None = None
) -> Target:
    """Calls to the local fake provider (and the fake gateway)."""
    return Target(
        openai_base_url, "demo-key", anthropic_base_url, "demo-key", gateway_base_url=gateway_base_url
    )


def live_target() -> Target | None:
    """Calls to the real APIs, with cheap models; None without OPENAI_API_KEY."""
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        return None
    return Target(
        openai_base_url=None,
        openai_api_key=key,
        anthropic_base_url=None,
        anthropic_api_key=os.environ.get("ANTHROPIC_API_KEY") or None,
        stream_model="gpt-4o-mini",
        responses_model="gpt-4o-mini",
        anthropic_model="claude-haiku-4-5",
        image_model="gpt-image-1-mini",
    )


@dataclass(frozen=True, slots=True)
class Step:
    """One titled part of the workload; ``run`` returns a one-line summary of what came back."""

    title: str
    run: Callable[[Target], str]
    unavailable: Callable[[Target], str | None] = lambda target: None


def _openai(target: Target) -> Any:
    import openai

    return openai.OpenAI(base_url=target.openai_base_url, api_key=target.openai_api_key, max_retries=0)


def _chat(target: Target) -> str:
    response = _openai(target).chat.completions.create(
        model=target.chat_model,
        messages=[
            {"role": "system", "content": _SYSTEM},
            {"role": "user", "content": "In one sentence: why meter LLM calls?"},
        ],
        max_completion_tokens=60,
    )
    return str(response.choices[0].message.content)


def _chat_stream(target: Target) -> str:
    stream = _openai(target).chat.completions.create(
        model=target.stream_model,
        messages=[{"role": "user", "content": "Say something about observability, briefly."}],
        stream=True,
        stream_options={"include_usage": True},
        max_completion_tokens=60,
    )
    parts = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    return "".join(parts)


_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}


def _get_weather(city: str) -> str:
    return json.dumps({"city": city, "forecast": "sunny", "celsius": 21})


def _tool_round_trip(target: Target) -> str:
    client = _openai(target)
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(
        model=target.chat_model, messages=messages, tools=[_WEATHER_TOOL], max_completion_tokens=100
    )
    message = first.choices[0].message
    calls = message.tool_calls or []
    if not calls:
        return str(message.content)
    messages.append(message.model_dump(exclude_none=True))
    for call in calls:
        arguments = json.loads(call.function.arguments or "{}")
        result = _get_weather(str(arguments.get("city", "Paris")))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    second = client.chat.completions.create(
        model=target.chat_model, messages=messages, tools=[_WEATHER_TOOL], max_completion_tokens=100
    )
    return f"get_weather({calls[0].function.arguments}) -> {second.choices[0].message.content}"


def _responses(target: Target) -> str:
    response = _openai(target).responses.create(
        model=target.responses_model,
        instructions=_SYSTEM,
        input="Name one thing a cost dashboard should show.",
        max_output_tokens=200,
    )
    return str(response.output_text)


def _embeddings(target: Target) -> str:
    texts = ["cost per model", "tokens by type", "latency percentiles"]
    response = _openai(target).embeddings.create(model=target.embeddings_model, input=texts)
    return f"{len(response.data)} vectors of {len(response.data[0].embedding)} dimensions"


def _realtime_session(target: Target) -> str:
    """Two spoken turns over the Realtime API (WebSocket, AsyncOpenAI); locally against a fake server."""
    import asyncio
    from contextlib import nullcontext

    import openai

    from llmmeter._demo._realtime_server import FakeRealtimeServer

    async def session(websocket_base_url: str | None) -> list[str]:
        client = openai.AsyncOpenAI(
            base_url=target.openai_base_url,
            api_key=target.openai_api_key,
            websocket_base_url=websocket_base_url,
        )
        transcripts = []
        async with client.realtime.connect(model=target.realtime_model) as connection:
            await connection.session.update(session={"type": "realtime", "instructions": _SYSTEM})
            for _ in range(2):
                await connection.input_audio_buffer.append(audio="AAAA" * 6400)  # 0.4 s of PCM16 silence
                await connection.input_audio_buffer.commit()
                await connection.response.create()
                async for event in connection:
                    if event.type == "response.output_audio_transcript.done":
                        transcripts.append(event.transcript)
                    if event.type == "response.done":
                        break
        return transcripts

    with FakeRealtimeServer() if target.openai_base_url is not None else nullcontext() as server:
        transcripts = asyncio.run(session(server.websocket_base_url if server is not None else None))
    return " / ".join(transcripts)


def _realtime_unavailable(target: Target) -> str | None:
    return (
        None
        if importlib.util.find_spec("websockets")
        else "websockets is not installed (pip install llmmeter[realtime])"
    )


def _image(target: Target) -> str:
    response = _openai(target).images.generate(
        model=target.image_model, prompt="A small cost meter, flat icon.", size="1024x1024", quality="low"
    )
    return f"{len(response.data or [])} image, {response.size}, {response.quality} quality"


def _anthropic_client(target: Target) -> Any:
    import anthropic

    return anthropic.Anthropic(
        base_url=target.anthropic_base_url, api_key=target.anthropic_api_key, max_retries=0
    )


def _anthropic_calls(target: Target) -> str:
    client = _anthropic_client(target)
    system = [{"type": "text", "text": _CACHED_SYSTEM, "cache_control": {"type": "ephemeral"}}]
    first = client.messages.create(
        model=target.anthropic_model,
        max_tokens=60,
        system=system,
        messages=[{"role": "user", "content": "Why does prompt caching save money?"}],
    )
    parts = []
    with client.messages.stream(
        model=target.anthropic_model,
        max_tokens=60,
        system=system,
        messages=[{"role": "user", "content": "And what does it cost to write the cache?"}],
    ) as stream:
        parts.extend(stream.text_stream)
    return f"{first.content[0].text} / streamed: {''.join(parts)}"


def _no_anthropic_key(target: Target) -> str | None:
    return None if target.anthropic_api_key else "set ANTHROPIC_API_KEY to call Anthropic live"


def langchain_unavailable(target: Target) -> str | None:
    """Why the LangChain step cannot run here, or None when it can."""
    if importlib.util.find_spec("langchain_openai") is None:
        return "langchain-openai is not installed"
    if importlib.util.find_spec("llmmeter_langchain") is None:
        return "the llmmeter-langchain integration is not installed"
    try:
        integration = importlib.import_module("llmmeter_langchain")
    except ImportError as exc:
        return f"the llmmeter-langchain integration cannot be imported ({exc})"
    if not hasattr(integration, "LLMMeterCallbackHandler"):
        return "the llmmeter-langchain integration is not available yet"
    return None


def _langchain_chain(target: Target) -> str:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_openai import ChatOpenAI

    prompt = ChatPromptTemplate.from_messages([("system", _SYSTEM), ("user", "One tip about {topic}.")])
    model = ChatOpenAI(
        model=target.chat_model,
        base_url=target.openai_base_url,
        api_key=target.openai_api_key,  # type: ignore[arg-type]
        max_retries=0,
    )
    chain = prompt | model | StrOutputParser()
    return str(chain.invoke({"topic": "LLM budgets"}))


def _gateway_call(target: Target) -> str:
    """One call through a gateway that states its cost: priced from that figure, the table's beside it."""
    import openai

    from llmmeter.testing import record_calls

    client = openai.OpenAI(base_url=target.gateway_base_url, api_key=target.openai_api_key, max_retries=0)
    with record_calls() as calls:
        client.chat.completions.create(
            model=target.gateway_model,
            messages=[{"role": "user", "content": "In one sentence: what is a gateway?"}],
            max_completion_tokens=60,
        )
    cost = calls[-1].cost
    return f"reported ${cost.total}, table {'$' if cost.local_total else ''}{cost.local_total or 'unknown'}"


def _no_gateway(target: Target) -> str | None:
    return None if target.gateway_base_url else "no OpenRouter-shaped gateway to call (local demo only)"


def steps() -> list[Step]:
    """The workload, in order."""
    return [
        Step("OpenAI chat completion", _chat),
        Step("OpenAI chat completion, streamed", _chat_stream),
        Step("OpenAI tool call round trip", _tool_round_trip),
        Step("OpenAI Responses API", _responses),
        Step("OpenAI embeddings", _embeddings),
        Step("OpenAI Realtime session over WebSocket", _realtime_session, _realtime_unavailable),
        Step("OpenAI image generation", _image),
        Step("Anthropic messages, plain then streamed", _anthropic_calls, _no_anthropic_key),
        Step("LangChain chain (prompt | ChatOpenAI | parser)", _langchain_chain, langchain_unavailable),
        Step("Gateway call, cost reported by OpenRouter", _gateway_call, _no_gateway),
    ]
