"""LangChain models of Google, Cohere and Ollama: the conventions' provider names, each call counted once."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_google_genai import ChatGoogleGenerativeAI

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.langchain.test_fake_models import ReportingChatModel
from tests.providers import wire

M = Decimal(1_000_000)
# Gemini 2.5 Flash: $0.30 input, $0.03 cache reads, $2.50 output (thinking included) per 1M tokens.
# https://ai.google.dev/gemini-api/docs/pricing (Gemini 2.5 Flash)
COST = (200 * Decimal("0.30") + 1000 * Decimal("0.03") + (50 + 30) * Decimal("2.50")) / M


@pytest.fixture
def instrumented(tracer_provider, meter_provider) -> Iterator[None]:
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield
    llmmeter.uninstrument()


def test_chat_google_generative_ai_is_gcp_gemini_and_counted_once(instrumented, span_exporter):
    """ChatGoogleGenerativeAI over google-genai: the run says gcp.gemini; its HTTP call carries the cost."""
    body = wire.gemini_response(prompt=1200, cached=1000, candidates=50, thoughts=30)
    with fakes.LoopbackServer(lambda method, path, raw: fakes.Reply(body)) as server:
        model = ChatGoogleGenerativeAI(model="gemini-2.5-flash", api_key="AIza-test", base_url=server.url)
        with record_calls() as calls, llmmeter.track() as spend:
            message = model.invoke("hi")

    assert message.content == "Hello from Gemini"
    assert sorted((c.capture, c.counted, c.provider) for c in calls) == [
        ("http", True, "gcp.gemini"),
        ("langchain", False, "gcp.gemini"),
    ]
    assert (spend.calls, spend.cost_usd) == (1, COST)
    spans = span_exporter.get_finished_spans()
    run = next(s for s in spans if s.attributes.get("llmmeter.capture") == "langchain")
    http = next(s for s in spans if s.attributes.get("llmmeter.capture") == "http")
    assert http.parent is not None
    assert http.parent.span_id == run.context.span_id
    assert run.attributes["llmmeter.counted_by"] == "http"
    assert http.attributes["gen_ai.usage.cost.amount"] == float(COST)


def _model(ls_provider: str) -> Any:
    """A chat model emitting the ls_provider the named LangChain class emits."""
    message = AIMessage("ok", usage_metadata={"input_tokens": 10, "output_tokens": 2, "total_tokens": 12})
    return ReportingChatModel(
        result=ChatResult(generations=[ChatGeneration(message=message)]), provider=ls_provider
    )


@pytest.mark.parametrize(
    ("ls_provider", "expected"),
    [
        ("google_genai", "gcp.gemini"),  # ChatGoogleGenerativeAI (langchain-google-genai)
        ("google_vertexai", "gcp.vertex_ai"),  # ChatVertexAI (langchain-google-vertexai)
        ("anthropicvertex", "gcp.vertex_ai"),  # ChatAnthropicVertex: derived from its class name
        ("cohere", "cohere"),  # ChatCohere (langchain-cohere)
        ("ollama", "ollama"),  # ChatOllama (langchain-ollama)
    ],
)
def test_ls_provider_of_each_class_maps_to_the_conventions_name(
    ls_provider, expected, handler, span_exporter
):
    """The ls_provider each class emits (read from their sources) gives the conventions' provider name."""
    _model(ls_provider).invoke("hi", config={"callbacks": [handler]})

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.provider.name"] == expected
