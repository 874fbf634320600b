"""Fixtures for the LangChain integration: a handler on the test's providers, a fake OpenAI API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from langchain_openai import ChatOpenAI

import llmmeter
from llmmeter_langchain import LLMMeterCallbackHandler
from llmmeter_langchain._runs import claimed_runs
from tests import fakes


@dataclass
class FakeOpenAI:
    """Answers Chat Completions requests with the given usage; streams carry usage only when asked."""

    prompt_tokens: int = 100
    completion_tokens: int = 20
    cached_tokens: int = 0
    model: str = "gpt-4o-2024-08-06"
    service_tier: str | None = "default"
    n: int = 1
    replies: list[dict[str, Any]] = field(default_factory=list)
    """Bodies to answer with, in order, before falling back to a plain completion."""
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, method: str, path: str, body: bytes) -> fakes.Reply:
        request = json.loads(body)
        self.requests.append(request)
        if self.status != 200:
            return fakes.Reply({"error": {"message": "boom", "type": "server_error"}}, status=self.status)
        if not path.endswith("/chat/completions"):
            return fakes.Reply(self.text_completion(request))
        if request.get("stream"):
            options = request.get("stream_options") or {}
            return fakes.Reply(
                chunks=fakes.chat_stream(
                    model=self.model,
                    prompt_tokens=self.prompt_tokens,
                    completion_tokens=self.completion_tokens,
                    cached_tokens=self.cached_tokens,
                    include_usage=bool(options.get("include_usage")),
                    service_tier=self.service_tier,
                )
            )
        if self.replies:
            return fakes.Reply(self.replies.pop(0))
        return fakes.Reply(
            fakes.chat_completion(
                model=self.model,
                prompt_tokens=self.prompt_tokens,
                completion_tokens=self.completion_tokens,
                cached_tokens=self.cached_tokens,
                service_tier=self.service_tier,
                n=self.n,
            )
        )

    def text_completion(self, request: dict[str, Any]) -> dict[str, Any]:
        """A legacy Completions body with one choice per prompt and the usage of the whole request."""
        prompts = request["prompt"] if isinstance(request["prompt"], list) else [request["prompt"]]
        return {
            "id": "cmpl-1",
            "object": "text_completion",
            "created": 1_700_000_000,
            "model": "gpt-3.5-turbo-instruct",
            "choices": [
                {"text": f"answer {i}", "index": i, "logprobs": None, "finish_reason": "stop"}
                for i in range(len(prompts))
            ],
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
            },
        }


@pytest.fixture
def openai_api() -> FakeOpenAI:
    """The fake OpenAI API behind ``chat_model``."""
    return FakeOpenAI()


@pytest.fixture
def transport(openai_api: FakeOpenAI) -> httpx2.MockTransport:
    """An httpx2 MockTransport answering as ``openai_api``."""
    return httpx2.MockTransport(fakes.mock_handler(httpx2, openai_api))


def chat_openai(
    transport: Any, *, metered: bool = False, providers: dict[str, Any] | None = None, **kwargs: Any
):
    """A real ChatOpenAI whose HTTP clients go through ``transport`` (metered when asked)."""
    client = httpx2.Client(transport=transport)
    async_client = httpx2.AsyncClient(transport=transport)
    if metered:
        client = llmmeter.meter_client(client, **(providers or {}))
        async_client = llmmeter.meter_client(async_client, **(providers or {}))
    kwargs.setdefault("model", "gpt-4o")
    return ChatOpenAI(
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        http_client=client,
        http_async_client=async_client,
        max_retries=0,
        **kwargs,
    )


@pytest.fixture
def chat_model(transport: httpx2.MockTransport) -> ChatOpenAI:
    """ChatOpenAI over the fake API, HTTP not metered."""
    return chat_openai(transport)


@pytest.fixture
def handler(tracer_provider, meter_provider) -> Iterator[LLMMeterCallbackHandler]:
    """A handler writing to the test's providers; the test fails if it leaves runs open."""
    made = LLMMeterCallbackHandler(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield made
    assert len(made._runs) == 0
    assert claimed_runs(made) == 0


@pytest.fixture
def instrumented(tracer_provider, meter_provider) -> Iterator[None]:
    """llmmeter.instrument() on the test's providers (transports and the LangChain hook)."""
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield
    llmmeter.uninstrument()
