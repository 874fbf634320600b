"""``LLMMeterCallbackHandler``: LangChain callbacks in, llmmeter calls and steps out."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from langchain_core.agents import AgentAction
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk, LLMResult
from opentelemetry._logs import LoggerProvider
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from llmmeter._integration import (
    AttributeValue,
    BudgetExceeded,
    Call,
    Cost,
    Ending,
    Step,
    enclosing_budgets,
    enclosing_call,
    internal_error,
    reserve_call_unless_it_blocks,
    settings,
    telemetry_for,
)
from llmmeter._integration import names as n
from llmmeter_langchain import _parse
from llmmeter_langchain._runs import Run, Runs

__all__ = ["LLMMeterCallbackHandler"]

_FREE = Cost(total=Decimal(0), status="ok")
_TOKENS_PER_MESSAGE = 8
"""Bytes counted for each message beyond its text: more than the tokens a provider adds per message."""


def _prompt_size(contents: Any) -> int:
    """An upper bound of a prompt's input tokens: its texts' UTF-8 bytes, plus a little per message
    (each token of a text is at least one byte of it)."""
    size = 0
    for content in contents:
        text = content if isinstance(content, str) else str(content)
        size += len(text.encode("utf-8", "surrogatepass")) + _TOKENS_PER_MESSAGE
    return size


def _chat_size(messages: list[list[BaseMessage]]) -> int:
    """:func:`_prompt_size` of chat conversations' messages."""
    size = 0
    for conversation in messages:
        for message in conversation:
            content = message.content
            text = content if isinstance(content, str) else str(content)
            size += len(text.encode("utf-8", "surrogatepass")) + _TOKENS_PER_MESSAGE
    return size


_ENCLOSING = enclosing_call
_AGENT_NAMES = ("AgentExecutor",)


class LLMMeterCallbackHandler(BaseCallbackHandler):
    """Meter every model call of a LangChain run and trace its chains, tools and agents.

    Works in sync and async runs (``invoke``, ``batch``, ``stream``, ``astream``,
    ``astream_events``) for chat models and legacy text LLMs::

        from llmmeter_langchain import LLMMeterCallbackHandler

        handler = LLMMeterCallbackHandler()
        chain.invoke({"topic": "otters"}, config={"callbacks": [handler]})

    Each model run becomes a ``chat {model}`` (or ``text_completion {model}``) CLIENT span with
    the gen_ai.* usage and the cost priced by llmmeter, and the llmmeter metrics. Chains become
    INTERNAL ``invoke_workflow {name}`` spans, agents ``invoke_agent {name}``, tools
    ``execute_tool {name}``, retrievers ``retrieval {name}``, nested as LangChain nests the runs;
    tags and scalar metadata are written as ``langchain.tags`` and ``langchain.metadata.<key>``.

    With ``llmmeter.instrument()`` no handler needs to be passed: one is registered through
    LangChain's configure hook. A run is recorded by one llmmeter handler only, so passing one
    explicitly as well never duplicates spans.

    When the model's HTTP call is metered too (``llmmeter.instrument()``, or a client given to
    ``llmmeter.meter_client()``), the HTTP span becomes the child of the model span and carries
    the cost; the model span then says ``llmmeter.counted_by=http`` and adds nothing to the
    metrics, so the call is counted once.

    ``ChatOpenAI`` turns ``stream_usage`` off when an ``http_client`` is passed: its streams then
    report no usage and cannot be priced. Pass ``stream_usage=True`` to ``ChatOpenAI``, or call
    ``llmmeter.configure(include_stream_usage=True)`` so the metered transport asks for it.

    Args:
        tracer_provider: where spans go; the global provider when None.
        meter_provider: where metric points go; the global provider when None.
        logger_provider: where the inference events go (when events are on); the global provider
            when None.
    """

    run_inline = True
    """Called in the caller's context (also in async runs), so HTTP calls nest under model runs."""

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> None:
        self._telemetry = telemetry_for(tracer_provider, meter_provider, logger_provider)
        self._runs = Runs(self, self._end_orphan)
        self._streaming: UUID | None = None
        """The run whose first chunk was noted last (LangChain passes the same run_id object for
        each chunk of a run)."""
        # LangChain logs and swallows handler errors; the project's own tests must see them.
        self._strict = os.environ.get("LLMMETER_STRICT") == "1"

    @property
    def raise_error(self) -> bool:
        """Whether LangChain lets the error a callback raised reach the caller: a budget's refusal
        always does (LangChain asks while handling it); any other error only in llmmeter's tests."""
        return self._strict or isinstance(sys.exc_info()[1], BudgetExceeded)

    @raise_error.setter
    def raise_error(self, value: bool) -> None:
        self._strict = value

    # --- model runs ------------------------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Open the span of a chat model call."""
        try:
            content = None
            if settings.capture_content:
                content = _parse.chat_content([m for conversation in messages for m in conversation])
            self._start_model(
                n.OP_CHAT, run_id, parent_run_id, tags, metadata, kwargs, content, messages, _chat_size
            )
        except BudgetExceeded:
            raise
        except Exception as exc:
            internal_error("LangChain on_chat_model_start", exc)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Open the span of a text completion call (a legacy LLM)."""
        try:
            content = _parse.prompt_content(prompts) if settings.capture_content else None
            self._start_model(
                n.OP_TEXT_COMPLETION,
                run_id,
                parent_run_id,
                tags,
                metadata,
                kwargs,
                content,
                prompts,
                _prompt_size,
            )
        except BudgetExceeded:
            raise
        except Exception as exc:
            internal_error("LangChain on_llm_start", exc)

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Note that the run streams, and when its first chunk came."""
        if run_id is self._streaming:
            return  # a later chunk of the run whose first one was noted last: nothing to note
        run = self._runs.get(run_id)
        if run is not None and not run.streamed and run.call is not None:
            run.streamed = True
            run.call.request.stream = True
            run.call.first_chunk()
            self._streaming = run_id

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Price the call and end its span."""
        run = self._runs.pop(run_id)
        if run is None:
            return
        try:
            self._finish_model(run, response)
        except Exception as exc:
            internal_error("LangChain on_llm_end", exc)

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """End a failed, cancelled or abandoned call, with the usage it reported before."""
        run = self._runs.pop(run_id)
        if run is None:
            return
        try:
            self._fail_model(run, error, kwargs.get("response"))
        except Exception as exc:
            internal_error("LangChain on_llm_error", exc)

    # --- chains, agents, tools, retrievers -------------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Open an ``invoke_workflow`` span (``invoke_agent`` for an agent)."""
        try:
            name = _parse.run_name(serialized, kwargs)
            attributes: dict[str, AttributeValue]
            if name in _AGENT_NAMES or name.endswith("Agent"):
                attributes = {n.OPERATION_NAME: n.OP_INVOKE_AGENT, n.AGENT_NAME: name}
                span_name, workflow = f"{n.OP_INVOKE_AGENT} {name}", None
            else:
                attributes = {n.OPERATION_NAME: n.OP_INVOKE_WORKFLOW, n.WORKFLOW_NAME: name}
                span_name, workflow = f"{n.OP_INVOKE_WORKFLOW} {name}", name
            self._start_step(span_name, attributes, run_id, parent_run_id, tags, metadata, workflow)
        except Exception as exc:
            internal_error("LangChain on_chain_start", exc)

    def on_agent_action(
        self,
        action: AgentAction,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """A chain that takes agent actions is an agent: name its span so."""
        run = self._runs.get(run_id)
        if run is None or run.step is None or run.name is None:
            return
        name, run.name = run.name, None
        try:
            attributes: dict[str, AttributeValue] = {n.OPERATION_NAME: n.OP_INVOKE_AGENT, n.AGENT_NAME: name}
            run.step.rename(f"{n.OP_INVOKE_AGENT} {name}", attributes)
        except Exception as exc:
            internal_error("LangChain on_agent_action", exc)

    def on_chain_end(
        self, outputs: dict[str, Any], *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End the chain's span."""
        self._end_step(run_id, None)

    def on_chain_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End the chain's span with its error."""
        self._end_step(run_id, error)

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Open an ``execute_tool`` span."""
        try:
            name = _parse.run_name(serialized, kwargs)
            attributes: dict[str, AttributeValue] = {n.OPERATION_NAME: n.OP_EXECUTE_TOOL, n.TOOL_NAME: name}
            tool_call_id = kwargs.get("tool_call_id")
            if isinstance(tool_call_id, str) and tool_call_id:
                attributes[n.TOOL_CALL_ID] = tool_call_id
            self._start_step(f"{n.OP_EXECUTE_TOOL} {name}", attributes, run_id, parent_run_id, tags, metadata)
        except Exception as exc:
            internal_error("LangChain on_tool_start", exc)

    def on_tool_end(
        self, output: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End the tool's span."""
        self._end_step(run_id, None)

    def on_tool_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End the tool's span with its error."""
        self._end_step(run_id, error)

    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Open a ``retrieval`` span."""
        try:
            name = _parse.run_name(serialized, kwargs)
            attributes: dict[str, AttributeValue] = {n.OPERATION_NAME: n.OP_RETRIEVAL}
            self._start_step(
                f"{n.OP_RETRIEVAL} {name}", attributes, run_id, parent_run_id, tags, metadata, watch=True
            )
        except Exception as exc:
            internal_error("LangChain on_retriever_start", exc)

    def on_retriever_end(
        self, documents: Sequence[Document], *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End the retriever's span."""
        self._end_step(run_id, None)

    def on_retriever_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End the retriever's span with its error."""
        self._end_step(run_id, error)

    # --- the lifecycle ---------------------------------------------------------------------------

    def _start_model(
        self,
        operation: str,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
        content: _parse.Prompt | None,
        prompt: Any,
        size_of: Callable[[Any], int],
    ) -> None:
        runs = self._runs
        if not runs.claim(run_id):
            return
        try:
            metadata = metadata or {}
            run_attributes = _parse.run_attributes(run_id, tags, metadata)
            invocation_params = kwargs.get("invocation_params") or {}
            request = _parse.model_request(operation, metadata, invocation_params, run_attributes, content)
            # The HTTP call made for this run, in this context, becomes its child. The runs that
            # one generate() starts at once (a batch) share this context: the first encloses
            # every HTTP call of the batch, and the others are counted as it is.
            lead = _ENCLOSING.get()
            if lead is not None and lead.open:
                _ENCLOSING.set(None)  # a model run is never the inner call of another one
                if kwargs.get("batch_size", 1) == 1 or lead.capture != n.CAPTURE_LANGCHAIN:
                    lead = None
            else:
                lead = None
            budgets = enclosing_budgets()
            prompt_size = size_of(prompt) if budgets else 0  # only budgets read it
            parent = runs.parent(parent_run_id)
            call = Call(self._telemetry, request, capture=n.CAPTURE_LANGCHAIN, parent=parent)
            if budgets:
                # Reserved for a model whose HTTP call is not metered; a metered one takes it over.
                reserve_call_unless_it_blocks(call, prompt_size)
            if lead is None:
                _ENCLOSING.set(call)
            else:
                call.count_with(lead)
                _ENCLOSING.set(lead)
            # LangChain never ends a chat model's agenerate() cancelled in flight: watch those.
            runs.add(run_id, Run(call=call), watch=operation == n.OP_CHAT)
        except BaseException:
            runs.release(run_id)
            raise

    def _finish_model(self, run: Run, response: LLMResult) -> None:
        call = run.call
        assert call is not None
        attributes: dict[str, AttributeValue] | None = {n.REQUEST_STREAM: True} if run.streamed else None
        capture_content = settings.capture_content
        if _parse.is_cache_hit(response):
            info = _parse.model_response(response, "", capture_content)
            info.usage = None  # nothing was consumed
            call.finish(info, cost=_FREE, attributes={**(attributes or {}), n.LANGCHAIN_CACHE_HIT: True})
        else:
            info = _parse.model_response(response, call.request.provider, capture_content)
            call.finish(info, attributes=attributes)

    def _fail_model(self, run: Run, error: BaseException, partial_result: Any) -> None:
        call = run.call
        assert call is not None
        ending, error_type = _ending(error)
        result = partial_result if isinstance(partial_result, LLMResult) else None
        info = _parse.failed_response(result, call.request.provider, settings.capture_content)
        attributes: dict[str, AttributeValue] | None = {n.REQUEST_STREAM: True} if run.streamed else None
        call.finish(info, ending=ending, exception=error if error_type else None, attributes=attributes)

    def _start_step(
        self,
        name: str,
        attributes: dict[str, AttributeValue],
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        workflow: str | None = None,
        *,
        watch: bool = False,
    ) -> None:
        runs = self._runs
        if not runs.claim(run_id):
            return
        try:
            attributes.update(_parse.run_attributes(run_id, tags, metadata))
            step = Step(self._telemetry, name, attributes, parent=runs.parent(parent_run_id))
            runs.add(run_id, Run(step=step, name=workflow), watch=watch)
        except BaseException:
            runs.release(run_id)
            raise

    def _end_step(self, run_id: UUID, error: BaseException | None) -> None:
        run = self._runs.pop(run_id)
        if run is None or run.step is None:
            return
        try:
            error_type = None if error is None else _ending(error)[1]
            run.step.end(error_type=error_type, exception=error if error_type else None)
        except Exception as exc:
            internal_error("ending a LangChain step", exc)

    def _end_orphan(self, run: Run, cancelled: bool) -> None:
        """End a run whose task is done without LangChain having ended it (cancelled in flight)."""
        try:
            if run.call is not None:
                if cancelled:
                    run.call.finish(None, error_type=asyncio.CancelledError.__name__, ending="cancelled")
                else:
                    run.call.finish(None, ending="abandoned")
            elif run.step is not None:
                run.step.end(error_type=asyncio.CancelledError.__name__ if cancelled else None)
        except Exception as exc:
            internal_error("ending an orphaned LangChain run", exc)


def _ending(error: BaseException) -> tuple[Ending, str | None]:
    """How a run that raised ``error`` ended, and its error.type."""
    if isinstance(error, GeneratorExit):
        return "closed_early", None  # the consumer stopped reading: not a failure
    if isinstance(error, asyncio.CancelledError):
        return "cancelled", type(error).__name__
    return "error", type(error).__name__
