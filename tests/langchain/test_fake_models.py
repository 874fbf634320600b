"""The handler with langchain-core's fake models and small reporting models: where usage is read from."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, Generation, LLMResult

import llmmeter
from llmmeter.testing import record_calls
from tests.otel import points

M = Decimal(1_000_000)
MINI = (Decimal("0.15") * 100 + Decimal("0.60") * 20) / M
"""gpt-4o-mini, 100 input and 20 output tokens, at $0.15 / $0.60 per 1M."""


def usage(input_tokens: int = 100, output_tokens: int = 20, **details: Any) -> dict[str, Any]:
    """A LangChain UsageMetadata mapping."""
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        **details,
    }


def reply(**usage_kwargs: Any) -> AIMessage:
    """A gpt-4o-mini reply with usage."""
    return AIMessage(
        content="the answer is here",
        usage_metadata=usage(**usage_kwargs),
        response_metadata={"model_name": "gpt-4o-mini"},
    )


def fake_chat(*messages: AIMessage, **kwargs: Any) -> GenericFakeChatModel:
    """langchain-core's GenericFakeChatModel answering with ``messages`` in turn."""
    return GenericFakeChatModel(messages=iter(messages), **kwargs)


class StreamingFakeChatModel(GenericFakeChatModel):
    """GenericFakeChatModel whose stream ends with a usage chunk, as providers' streams do."""

    def _stream(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any):
        message = next(self.messages)
        assert isinstance(message, AIMessage)
        for word in str(message.content).split():
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word + " "))
            if run_manager:
                run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk
        last = AIMessageChunk(
            content="", usage_metadata=message.usage_metadata, response_metadata=message.response_metadata
        )
        yield ChatGenerationChunk(message=last)


class ReportingChatModel(BaseChatModel):
    """A chat model returning the result a test gives, under the provider and model it names."""

    result: ChatResult
    provider: str = "openai"
    model_name: str = "gpt-4o"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        return self.result

    @property
    def _llm_type(self) -> str:
        return "reporting-chat"

    def _get_ls_params(self, stop=None, **kwargs: Any):
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = self.provider
        return params


class ReportingLLM(BaseLLM):
    """A legacy text LLM returning the result a test gives."""

    result: LLMResult
    model_name: str = "gpt-3.5-turbo-instruct"

    def _generate(self, prompts, stop=None, run_manager=None, **kwargs: Any) -> LLMResult:
        return self.result

    @property
    def _llm_type(self) -> str:
        return "reporting-llm"

    def _get_ls_params(self, stop=None, **kwargs: Any):
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "openai"
        return params


@pytest.fixture
def callbacks(handler) -> dict[str, Any]:
    """A run config with the handler."""
    return {"callbacks": [handler]}


def test_fake_chat_model_usage_is_priced(callbacks, span_exporter):
    """GenericFakeChatModel's usage_metadata and response model are read and priced."""
    with record_calls() as calls:
        fake_chat(reply()).invoke("hi", config=callbacks)

    (call,) = calls
    assert (call.response_model, call.usage.input_tokens, call.usage.output_tokens) == (
        "gpt-4o-mini",
        100,
        20,
    )
    assert call.cost.total == MINI
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.provider.name"] == "genericfakechatmodel"
    assert span.attributes["gen_ai.usage.cost.amount"] == float(MINI)


async def test_fake_chat_model_async(callbacks):
    """The async path reads the same usage."""
    with record_calls() as calls:
        await fake_chat(reply()).ainvoke("hi", config=callbacks)

    assert [c.cost.total for c in calls] == [MINI]


def test_fake_streaming_model_usage_is_priced(callbacks):
    """A streamed fake reply whose last chunk has usage is priced, as a stream."""
    model = StreamingFakeChatModel(messages=iter([reply()]))

    with record_calls() as calls:
        chunks = list(model.stream("hi", config=callbacks))

    assert "".join(str(c.content) for c in chunks) == "the answer is here "
    assert [(c.stream, c.cost.total) for c in calls] == [(True, MINI)]
    assert calls[0].time_to_first_chunk_s is not None


async def test_fake_streaming_model_async(callbacks):
    """An async stream of the fake model is priced."""
    model = StreamingFakeChatModel(messages=iter([reply()]))

    with record_calls() as calls:
        async for _ in model.astream("hi", config=callbacks):
            pass

    assert [(c.stream, c.cost.total) for c in calls] == [(True, MINI)]


def test_cache_hit_costs_nothing_and_is_marked(callbacks, span_exporter, metric_reader):
    """A run answered from LangChain's LLM cache costs $0 (status ok), is marked, and adds no tokens."""
    model = fake_chat(reply(), reply(), cache=InMemoryCache())

    with record_calls() as calls, llmmeter.track() as spend:
        model.invoke("hi", config=callbacks)
        model.invoke("hi", config=callbacks)

    assert [(c.cost.total, c.cost.status) for c in calls] == [(MINI, "ok"), (Decimal(0), "ok")]
    assert calls[1].usage is None
    assert (spend.calls, spend.cost_usd, spend.input_tokens) == (2, MINI, 100)
    first, second = span_exporter.get_finished_spans()
    assert "llmmeter.langchain.cache_hit" not in first.attributes
    assert second.attributes["llmmeter.langchain.cache_hit"] is True
    assert second.attributes["gen_ai.usage.cost.amount"] == 0.0
    assert "gen_ai.usage.input_tokens" not in second.attributes
    assert sum(value for _, value in points(metric_reader, "llmmeter.cost")) == pytest.approx(float(MINI))
    assert sorted(value for _, value in points(metric_reader, "llmmeter.tokens")) == [20, 100]


async def test_async_cache_hit_costs_nothing(callbacks):
    """The async cache path is a cache hit too."""
    model = fake_chat(reply(), reply(), cache=InMemoryCache())

    with record_calls() as calls:
        await model.ainvoke("hi", config=callbacks)
        await model.ainvoke("hi", config=callbacks)

    assert [c.cost.total for c in calls] == [MINI, Decimal(0)]


def test_usage_metadata_takes_precedence_over_llm_output(callbacks):
    """When both report usage, the message's usage_metadata wins over llm_output's token_usage."""
    message = AIMessage(content="x", usage_metadata=usage(100, 20))
    token_usage = {"prompt_tokens": 999, "completion_tokens": 999}
    result = ChatResult(
        generations=[ChatGeneration(message=message)], llm_output={"token_usage": token_usage}
    )

    with record_calls() as calls:
        ReportingChatModel(result=result, model_name="gpt-4o-mini").invoke("hi", config=callbacks)

    assert (calls[0].usage.input_tokens, calls[0].usage.output_tokens) == (100, 20)


def test_llm_output_token_usage_is_read_when_messages_have_none(callbacks):
    """Without usage_metadata, llm_output["token_usage"] (OpenAI's form) and its model are used."""
    token_usage = {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "prompt_tokens_details": {"cached_tokens": 40},
    }
    result = ChatResult(
        generations=[ChatGeneration(message=AIMessage(content="x"))],
        llm_output={"token_usage": token_usage, "model_name": "gpt-4o-mini"},
    )

    with record_calls() as calls:
        ReportingChatModel(result=result).invoke("hi", config=callbacks)

    (call,) = calls
    assert (call.request_model, call.response_model) == ("gpt-4o", "gpt-4o-mini")
    assert call.usage.cache_read_tokens == 40
    assert call.cost.total == (Decimal("0.15") * 60 + Decimal("0.075") * 40 + Decimal("0.60") * 20) / M


def test_anthropic_llm_output_usage_adds_cache_reads_to_input(callbacks):
    """An Anthropic-form llm_output["usage"] (input excluding cache reads) gives all input tokens."""
    raw = {"input_tokens": 100, "output_tokens": 50, "cache_read_input_tokens": 1000}
    result = ChatResult(
        generations=[ChatGeneration(message=AIMessage(content="x"))],
        llm_output={"usage": raw, "model": "claude-sonnet-4-5"},
    )
    model = ReportingChatModel(result=result, provider="anthropic", model_name="claude-sonnet-4-5")

    with record_calls() as calls:
        model.invoke("hi", config=callbacks)

    (call,) = calls
    assert (call.provider, call.usage.input_tokens, call.usage.cache_read_tokens) == ("anthropic", 1100, 1000)
    assert call.cost.total == (Decimal("3.00") * 100 + Decimal("0.30") * 1000 + Decimal("15.00") * 50) / M


def test_tier_prefixed_usage_details_name_the_service_tier(callbacks):
    """Detail keys like priority_cache_read mark a priority-tier call, priced at priority rates."""
    details = {"input_token_details": {"priority_cache_read": 40, "priority": 60}}
    message = AIMessage(content="x", usage_metadata=usage(100, 20, **details))
    result = ChatResult(generations=[ChatGeneration(message=message)])

    with record_calls() as calls:
        ReportingChatModel(result=result).invoke("hi", config=callbacks)

    (call,) = calls
    assert (call.usage.cache_read_tokens, call.cost.service_tier) == (40, "priority")
    assert call.cost.total == (Decimal("4.25") * 60 + Decimal("2.125") * 40 + Decimal("17.00") * 20) / M


def test_every_choice_repeating_the_usage_is_counted_once(callbacks):
    """Two generations carrying the same usage (n=2) are one call's usage, not two."""
    generations = [ChatGeneration(message=reply()), ChatGeneration(message=reply())]

    with record_calls() as calls:
        ReportingChatModel(result=ChatResult(generations=generations)).invoke("hi", config=callbacks)

    assert [c.cost.total for c in calls] == [MINI]


def test_several_choices_are_read_in_order(callbacks, span_exporter):
    """With n choices: each one's finish reason in order; model, id and usage from the first that has them."""
    bare = ChatGeneration(message=AIMessage(content="a"), generation_info={"finish_reason": "stop"})
    second = ChatGeneration(
        message=AIMessage(
            content="b",
            usage_metadata=usage(100, 20),
            response_metadata={"model_name": "gpt-4o-mini", "id": "chatcmpl-9", "finish_reason": "length"},
        )
    )
    third = ChatGeneration(message=AIMessage(content="c", usage_metadata=usage(999, 999)))
    result = ChatResult(generations=[bare, second, third], llm_output={"id": "from-llm-output"})

    with record_calls() as calls:
        ReportingChatModel(result=result).invoke("hi", config=callbacks)

    assert [c.cost.total for c in calls] == [MINI]
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop", "length")
    assert span.attributes["gen_ai.response.model"] == "gpt-4o-mini"
    assert span.attributes["gen_ai.response.id"] == "chatcmpl-9"


def test_legacy_llm_is_a_text_completion(callbacks, span_exporter):
    """A legacy text LLM run is a text_completion span, priced from llm_output["token_usage"]."""
    result = LLMResult(
        generations=[[Generation(text="x", generation_info={"finish_reason": "length"})]],
        llm_output={"token_usage": {"prompt_tokens": 100, "completion_tokens": 20}},
    )

    with record_calls() as calls:
        ReportingLLM(result=result).invoke("hi", config=callbacks)

    assert [(c.operation, c.provider, c.cost.total) for c in calls] == [
        ("text_completion", "openai", (Decimal("1.50") * 100 + Decimal("2.00") * 20) / M)
    ]
    (span,) = span_exporter.get_finished_spans()
    assert span.name == "text_completion gpt-3.5-turbo-instruct"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("length",)


def test_generation_info_usage_is_read_last(callbacks):
    """Usage only in generation_info (some integrations put it there) is read too."""
    info = {"usage": {"prompt_tokens": 100, "completion_tokens": 20}, "model": "gpt-3.5-turbo-instruct"}
    result = LLMResult(generations=[[Generation(text="x", generation_info=info)]])

    with record_calls() as calls:
        ReportingLLM(result=result).invoke("hi", config=callbacks)

    assert calls[0].cost.total == (Decimal("1.50") * 100 + Decimal("2.00") * 20) / M


def test_fake_list_llm_batch_records_each_prompt(callbacks):
    """FakeListLLM.batch runs one generate() for all prompts: one text_completion record each."""
    with record_calls() as calls:
        FakeListLLM(responses=["a", "b", "c"]).batch(["x", "y", "z"], config=callbacks)

    assert [(c.operation, c.cost.status) for c in calls] == [("text_completion", "no_usage")] * 3


def test_model_error_is_recorded(callbacks, span_exporter):
    """A model that raises ends its span with error.type, and the error reaches the caller."""

    def fail() -> Iterator[AIMessage]:
        raise ValueError("no more replies")
        yield  # pragma: no cover

    with pytest.raises(ValueError, match="no more replies"), record_calls() as calls:
        fake_chat().model_copy(update={"messages": fail()}).invoke("hi", config=callbacks)

    assert [(c.error_type, c.ending) for c in calls] == [("ValueError", "error")]
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["error.type"] == "ValueError"
    assert span.events[0].name == "exception"
