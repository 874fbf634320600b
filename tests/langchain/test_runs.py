"""Chains, tools, agents and retrievers: INTERNAL spans nested as LangChain nests the runs."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.agents import AgentAction
from langchain_core.callbacks.manager import CallbackManagerForChainRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, RunnableLambda, RunnableParallel
from langchain_core.tools import tool

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.langchain.conftest import chat_openai

M = Decimal(1_000_000)
COST = (Decimal("2.50") * 100 + Decimal("10.00") * 20) / M


def tree(spans) -> dict[str, str | None]:
    """span name -> parent span name (None for a root)."""
    names = {span.context.span_id: span.name for span in spans}
    return {
        span.name: (names.get(span.parent.span_id, "<outside>") if span.parent else None) for span in spans
    }


def by_name(spans, name: str):
    """The one span called ``name``."""
    (found,) = [span for span in spans if span.name == name]
    return found


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def broken_tool(city: str) -> str:
    """A tool that fails."""
    raise LookupError(city)


def test_chain_steps_nest_under_the_sequence(chat_model, handler, span_exporter):
    """prompt | model | parser: the sequence is the root; prompt, model and parser are its children."""
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | chat_model | StrOutputParser()

    chain.invoke({"q": "hi"}, config={"callbacks": [handler]})

    spans = span_exporter.get_finished_spans()
    assert tree(spans) == {
        "invoke_workflow RunnableSequence": None,
        "invoke_workflow ChatPromptTemplate": "invoke_workflow RunnableSequence",
        "chat gpt-4o": "invoke_workflow RunnableSequence",
        "invoke_workflow StrOutputParser": "invoke_workflow RunnableSequence",
    }
    root = by_name(spans, "invoke_workflow RunnableSequence")
    assert root.kind.name == "INTERNAL"
    assert root.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert root.attributes["gen_ai.workflow.name"] == "RunnableSequence"
    assert {span.context.trace_id for span in spans} == {root.context.trace_id}


def test_tags_and_scalar_metadata_become_attributes(chat_model, handler, span_exporter):
    """Tags and scalar metadata are written; lists, dicts and LangChain's ls_* keys are not."""
    metadata = {"tenant": "acme", "attempt": 2, "ids": [1, 2], "ls_custom": "x"}

    chat_model.invoke("hi", config={"callbacks": [handler], "tags": ["search"], "metadata": metadata})

    (span,) = span_exporter.get_finished_spans()
    langchain_attributes = {k: v for k, v in span.attributes.items() if k.startswith("langchain.")}
    langchain_attributes.pop("langchain.run_id")
    assert langchain_attributes == {
        "langchain.tags": ("search",),
        "langchain.metadata.tenant": "acme",
        "langchain.metadata.attempt": 2,
    }


def test_metadata_values_are_read_on_every_run(chat_model, handler, span_exporter):
    """Runs with the same metadata keys each write their own values, and only their scalar ones."""
    for value in ("acme", ["not", "scalar"], 7):
        chat_model.invoke("hi", config={"callbacks": [handler], "metadata": {"tenant": value, "ls_x": 1}})

    written = [
        span.attributes.get("langchain.metadata.tenant") for span in span_exporter.get_finished_spans()
    ]
    assert written == ["acme", None, 7]
    assert all(
        "langchain.metadata.ls_x" not in span.attributes for span in span_exporter.get_finished_spans()
    )


def test_runs_nest_under_the_callers_current_span(chat_model, handler, tracer_provider, span_exporter):
    """A root run's span is a child of the span current where the run starts (e.g. a web request)."""
    with tracer_provider.get_tracer("app").start_as_current_span("POST /ask"):
        chat_model.invoke("hi", config={"callbacks": [handler]})

    assert tree(span_exporter.get_finished_spans()) == {"chat gpt-4o": "POST /ask", "POST /ask": None}


def test_llmmeter_attributes_reach_steps_and_model_spans(chat_model, handler, span_exporter):
    """llmmeter.attributes() values are on every span made inside the block."""
    chain = RunnableLambda(lambda text: text, name="prepare") | chat_model

    with llmmeter.attributes(feature="search"):
        chain.invoke("hi", config={"callbacks": [handler]})

    assert {span.attributes["feature"] for span in span_exporter.get_finished_spans()} == {"search"}


def test_chain_error_sets_error_type_on_the_failing_steps(chat_model, handler, span_exporter):
    """A step that raises, and the chain around it, end with error.type; the caller gets the error."""

    def explode(_: Any) -> str:
        raise KeyError("missing")

    chain = chat_model | RunnableLambda(explode, name="explode")

    with pytest.raises(KeyError):
        chain.invoke("hi", config={"callbacks": [handler]})

    spans = span_exporter.get_finished_spans()
    assert by_name(spans, "invoke_workflow explode").attributes["error.type"] == "KeyError"
    assert by_name(spans, "invoke_workflow RunnableSequence").attributes["error.type"] == "KeyError"
    assert not by_name(spans, "invoke_workflow RunnableSequence").status.is_ok
    assert "error.type" not in by_name(spans, "chat gpt-4o").attributes


def agent_loop(model: Any):
    """A small agent: ask the model, run the tools it calls, repeat until it answers."""
    bound = model.bind_tools([get_weather])

    def run(question: str, config: RunnableConfig) -> str:
        messages: list[Any] = [HumanMessage(question)]
        while True:
            answer = bound.invoke(messages, config)
            messages.append(answer)
            if not answer.tool_calls:
                return str(answer.content)
            for call in answer.tool_calls:
                messages.append(get_weather.invoke(call, config))

    async def arun(question: str, config: RunnableConfig) -> str:
        messages: list[Any] = [HumanMessage(question)]
        while True:
            answer = await bound.ainvoke(messages, config)
            messages.append(answer)
            if not answer.tool_calls:
                return str(answer.content)
            for call in answer.tool_calls:
                messages.append(await get_weather.ainvoke(call, config))

    return RunnableLambda(run, afunc=arun, name="WeatherAgent")


def queue_tool_call(openai_api) -> None:
    """The fake API first asks for get_weather(city=Oslo), then answers."""
    openai_api.replies.append(
        fakes.chat_completion(tool_call={"name": "get_weather", "arguments": {"city": "Oslo"}})
    )


def assert_agent_trace(spans) -> None:
    """The agent span holds two model calls and the tool execution."""
    agent = by_name(spans, "invoke_agent WeatherAgent")
    assert agent.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert agent.attributes["gen_ai.agent.name"] == "WeatherAgent"
    tool_span = by_name(spans, "execute_tool get_weather")
    assert tool_span.parent.span_id == agent.context.span_id
    assert tool_span.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool_span.attributes["gen_ai.tool.name"] == "get_weather"
    assert tool_span.attributes["gen_ai.tool.call.id"] == "call_1"
    models = [span for span in spans if span.name == "chat gpt-4o"]
    assert [span.parent.span_id for span in models] == [agent.context.span_id] * 2
    assert [span.attributes["gen_ai.response.finish_reasons"] for span in models] == [
        ("tool_calls",),
        ("stop",),
    ]
    assert len(spans) == 4


def test_agent_loop_with_tools(chat_model, openai_api, handler, span_exporter):
    """An agent-style loop: one invoke_agent span over its model calls and execute_tool span."""
    queue_tool_call(openai_api)

    with llmmeter.track() as spend:
        answer = agent_loop(chat_model).invoke("weather in Oslo?", config={"callbacks": [handler]})

    assert answer == "Hello!"
    assert (spend.calls, spend.cost_usd) == (2, 2 * COST)
    assert_agent_trace(span_exporter.get_finished_spans())


async def test_async_agent_loop_with_tools(chat_model, openai_api, handler, span_exporter):
    """The same agent loop, async."""
    queue_tool_call(openai_api)

    await agent_loop(chat_model).ainvoke("weather in Oslo?", config={"callbacks": [handler]})

    assert_agent_trace(span_exporter.get_finished_spans())


def test_agent_loop_over_a_metered_client(transport, openai_api, handler, tracer_provider, meter_provider):
    """With the HTTP calls metered too, each model call of the agent is still counted once."""
    queue_tool_call(openai_api)
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    model = chat_openai(transport, metered=True, providers=providers)

    with llmmeter.track() as spend, record_calls() as calls:
        agent_loop(model).invoke("weather in Oslo?", config={"callbacks": [handler]})

    assert (spend.calls, spend.cost_usd) == (2, 2 * COST)
    assert sorted((c.capture, c.counted) for c in calls) == [("http", True)] * 2 + [("langchain", False)] * 2


def test_agent_action_marks_a_chain_as_an_agent(handler, span_exporter):
    """A chain that reports agent actions (as AgentExecutor does) becomes an invoke_agent span."""

    def plan(question: str, config: RunnableConfig) -> str:
        manager = config["callbacks"]
        run = CallbackManagerForChainRun(
            run_id=manager.parent_run_id, handlers=manager.handlers, inheritable_handlers=manager.handlers
        )
        run.on_agent_action(AgentAction(tool="search", tool_input=question, log=""))
        return question

    RunnableLambda(plan, name="planner").invoke("hi", config={"callbacks": [handler]})

    (span,) = span_exporter.get_finished_spans()
    assert span.name == "invoke_agent planner"
    assert span.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert span.attributes["gen_ai.agent.name"] == "planner"


def test_tool_error_sets_error_type(handler, span_exporter):
    """A failing tool ends its execute_tool span with the exception's class."""
    with pytest.raises(LookupError):
        broken_tool.invoke({"city": "Oslo"}, config={"callbacks": [handler]})

    (span,) = span_exporter.get_finished_spans()
    assert (span.name, span.attributes["error.type"]) == ("execute_tool broken_tool", "LookupError")


@tool
def leaky_tool(city: str) -> str:
    """Fails with an error that quotes a key-bearing URL, as an HTTP library's error would."""
    raise LookupError(f"GET https://weather.example/v1?city={city}&key=sk-tool-secret failed")


def test_tool_exception_event_carries_no_url_secret(handler, span_exporter):
    """A tool's exception is recorded on its span with the URL's query string cut off."""
    with pytest.raises(LookupError, match="sk-tool-secret"):
        leaky_tool.invoke({"city": "Oslo"}, config={"callbacks": [handler]})

    (span,) = span_exporter.get_finished_spans()
    (event,) = [e for e in span.events if e.name == "exception"]
    assert "https://weather.example/v1" in event.attributes["exception.message"]
    assert "sk-tool-secret" not in repr(dict(event.attributes))


class Shelf(BaseRetriever):
    """A retriever with one document."""

    def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        return [Document(page_content=query)]


def test_retriever_is_a_retrieval_span(handler, span_exporter):
    """A retriever run is an INTERNAL retrieval span."""
    Shelf().invoke("otters", config={"callbacks": [handler]})

    (span,) = span_exporter.get_finished_spans()
    assert (span.name, span.attributes["gen_ai.operation.name"]) == ("retrieval Shelf", "retrieval")


def test_chain_stream_closed_early_ends_every_span(transport, handler, span_exporter):
    """Closing a chain's stream early still ends the chain's and the model's spans."""
    chain = chat_openai(transport, stream_usage=True) | StrOutputParser()

    stream = chain.stream("hi", config={"callbacks": [handler]})
    next(stream)
    stream.close()

    assert sorted(span.name for span in span_exporter.get_finished_spans()) == [
        "chat gpt-4o",
        "invoke_workflow RunnableSequence",
        "invoke_workflow StrOutputParser",
    ]


async def test_cancelled_run_ends_its_spans(chat_model, handler, span_exporter):
    """A run cancelled while a step waits ends that step and its chain with error.type CancelledError."""
    started = asyncio.Event()

    async def wait(text: Any) -> Any:
        started.set()
        await asyncio.sleep(60)
        return text

    task = asyncio.create_task(
        (chat_model | RunnableLambda(wait, name="wait")).ainvoke("hi", config={"callbacks": [handler]})
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    spans = span_exporter.get_finished_spans()
    assert by_name(spans, "invoke_workflow wait").attributes["error.type"] == "CancelledError"
    assert by_name(spans, "invoke_workflow RunnableSequence").attributes["error.type"] == "CancelledError"
    assert by_name(spans, "chat gpt-4o").attributes["gen_ai.usage.cost.amount"] == float(COST)


class SlowChat(BaseChatModel):
    """A chat model whose async call waits until cancelled."""

    started: Any = None

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        raise NotImplementedError

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        self.started.set()
        await asyncio.sleep(60)
        raise AssertionError("not cancelled")

    @property
    def _llm_type(self) -> str:
        return "slow"


async def test_chat_call_cancelled_in_flight_ends_its_span(handler, span_exporter):
    """LangChain reports no end for an ainvoke cancelled in flight; its span still ends, cancelled."""
    started = asyncio.Event()
    task = asyncio.create_task(SlowChat(started=started).ainvoke("hi", config={"callbacks": [handler]}))
    await started.wait()

    with record_calls() as calls:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    assert [(c.ending, c.error_type) for c in calls] == [("cancelled", "CancelledError")]
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["llmmeter.stream.ending"] == "cancelled"
    assert span.attributes["error.type"] == "CancelledError"


def test_parallel_branches_nest_under_their_parallel_step(chat_model, handler, span_exporter):
    """The model calls of a RunnableParallel's branches are children of the parallel step."""
    parallel = RunnableParallel(first=chat_model, second=chat_model)

    with record_calls() as calls:
        parallel.invoke("hi", config={"callbacks": [handler]})

    spans = span_exporter.get_finished_spans()
    root = by_name(spans, "invoke_workflow RunnableParallel<first,second>")
    models = [span for span in spans if span.name == "chat gpt-4o"]
    assert [span.parent.span_id for span in models] == [root.context.span_id] * 2
    assert [c.cost.total for c in calls] == [COST, COST]


def test_content_is_captured_only_when_asked(chat_model, handler, span_exporter):
    """Prompts and completions reach the model span only with configure(capture_content=True), in
    the conventions' message schema."""
    chat_model.invoke("hello there", config={"callbacks": [handler]})
    llmmeter.configure(capture_content=True)
    chat_model.invoke("hello there", config={"callbacks": [handler]})

    quiet, captured = span_exporter.get_finished_spans()
    assert "gen_ai.input.messages" not in quiet.attributes
    assert json.loads(captured.attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "hello there"}]}
    ]
    assert json.loads(captured.attributes["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hello!"}], "finish_reason": "stop"}
    ]


def test_captured_content_splits_system_messages_and_tool_calls(chat_model, handler, span_exporter):
    """A SystemMessage becomes gen_ai.system_instructions; an AIMessage's tool calls and a
    ToolMessage become tool_call and tool_call_response parts."""
    llmmeter.configure(capture_content=True)
    chat_model.invoke(
        [
            SystemMessage("Be brief."),
            HumanMessage("Weather in Paris?"),
            AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}]),
            ToolMessage("sunny", tool_call_id="call_1"),
        ],
        config={"callbacks": [handler]},
    )

    (span,) = span_exporter.get_finished_spans()
    assert json.loads(span.attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(span.attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "sunny"}]},
    ]
