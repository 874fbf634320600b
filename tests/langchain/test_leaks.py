"""No leaks: every run's state is freed on every path (end, error, cancel, abandoned stream)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableLambda
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from llmmeter.testing import record_calls
from llmmeter_langchain import LLMMeterCallbackHandler
from llmmeter_langchain._runs import claimed_runs

USAGE = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
METADATA = {"model_name": "gpt-4o"}


class Chatty(BaseChatModel):
    """A chat model that answers, streams four chunks, or fails, as told."""

    fail: bool = False
    slow: bool = False
    started: Any = None
    """An asyncio.Event set when a slow call is in flight."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        if self.fail:
            raise ValueError("model failed")
        message = AIMessage(content="a b c d", usage_metadata=USAGE, response_metadata=METADATA)
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        if self.slow:
            self.started.set()
            await asyncio.sleep(60)
        return self._generate(messages)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs: Any):
        for word in ["a", "b", "c", "d"]:
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", usage_metadata=USAGE, response_metadata=METADATA)
        )

    async def _astream(self, messages, stop=None, run_manager=None, **kwargs: Any):
        for chunk in self._stream(messages):
            yield chunk

    @property
    def _llm_type(self) -> str:
        return "chatty"


def sync_run(i: int, config: dict[str, Any]) -> None:
    """One of five ways a run can go, sync."""
    model, failing = Chatty(), Chatty(fail=True)
    kind = i % 5
    if kind == 0:
        (RunnableLambda(lambda x: x, name="prep") | model).invoke("hi", config=config)
    elif kind == 1:
        with contextlib.suppress(ValueError):
            (RunnableLambda(lambda x: x, name="prep") | failing).invoke("hi", config=config)
    elif kind == 2:
        stream = model.stream("hi", config=config)
        next(stream)
        stream.close()  # closed early
    elif kind == 3:
        stream = (model | RunnableLambda(lambda x: x, name="post")).stream("hi", config=config)
        next(stream)
        del stream  # abandoned: collected, never closed by the caller
    else:
        list(model.stream("hi", config=config))


async def cancel_in_flight(runnable: Any, started: asyncio.Event, config: dict[str, Any]) -> None:
    """Start ``runnable`` in a task and cancel it while its model call is in flight."""
    task = asyncio.create_task(runnable.ainvoke("hi", config=config))
    await started.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def async_run(i: int, config: dict[str, Any]) -> None:
    """One of five ways a run can go, async."""
    kind = i % 5
    if kind == 0:
        await Chatty().ainvoke("hi", config=config)
    elif kind == 1:
        with contextlib.suppress(ValueError):
            await Chatty(fail=True).ainvoke("hi", config=config)
    elif kind == 2:
        stream = Chatty().astream("hi", config=config)
        await anext(stream)
        await stream.aclose()
    elif kind == 3:
        started = asyncio.Event()
        await cancel_in_flight(Chatty(slow=True, started=started), started, config)  # LangChain never ends it
    else:
        started = asyncio.Event()
        chain = RunnableLambda(lambda x: x, name="prep") | Chatty(slow=True, started=started)
        await cancel_in_flight(chain, started, config)


async def test_ten_thousand_runs_leave_no_state():
    """10,000 model runs (answers, errors, early closes, abandoned streams, cancellations) leave no state."""
    handler = LLMMeterCallbackHandler(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
    config = {"callbacks": [handler]}

    with record_calls() as calls:
        for i in range(8_000):
            sync_run(i, config)
        for i in range(2_000):
            await async_run(i, config)
        gc.collect()
        await asyncio.sleep(0)

    assert len(handler._runs) == 0
    assert claimed_runs() == 0
    endings = {(c.ending, c.error_type) for c in calls}
    assert endings == {
        ("complete", None),
        ("error", "ValueError"),
        ("closed_early", None),
        ("cancelled", "CancelledError"),
    }
    assert len(calls) == 10_000
