"""The public surface and the configure hook that llmmeter.instrument() switches on."""

from __future__ import annotations

from importlib.metadata import entry_points

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tracers import context as tracer_context

import llmmeter
import llmmeter_langchain
from llmmeter.testing import record_calls
from llmmeter_langchain import LLMMeterCallbackHandler, _hook


def fake_model() -> GenericFakeChatModel:
    """A fake chat model with one reply."""
    return GenericFakeChatModel(messages=iter([AIMessage(content="hi")]))


def test_public_names_are_few_and_sorted():
    """llmmeter_langchain exports exactly the handler, from a sorted __all__."""
    assert llmmeter_langchain.__all__ == sorted(llmmeter_langchain.__all__) == ["LLMMeterCallbackHandler"]
    public = {name for name in vars(llmmeter_langchain) if not name.startswith("_")}
    assert public - {"annotations"} == {"LLMMeterCallbackHandler"}


def test_handler_is_a_langchain_callback_handler_run_inline():
    """The handler is a BaseCallbackHandler that LangChain calls inline, in the caller's context."""
    from langchain_core.callbacks import BaseCallbackHandler

    handler = LLMMeterCallbackHandler()
    assert isinstance(handler, BaseCallbackHandler)
    assert handler.run_inline is True
    assert LLMMeterCallbackHandler.__doc__
    assert "stream_usage" in LLMMeterCallbackHandler.__doc__


def test_entry_point_names_the_hook_module():
    """The llmmeter.integrations entry point loads the hook module, which core calls."""
    (entry_point,) = [ep for ep in entry_points(group="llmmeter.integrations") if ep.name == "langchain"]
    assert entry_point.load() is _hook
    assert callable(_hook.instrument)
    assert callable(_hook.uninstrument)


def test_configure_hook_is_registered_once():
    """The hook is registered at import, once, however often instrument() runs."""
    for _ in range(3):
        llmmeter.instrument(integrations=True)
        llmmeter.uninstrument()
    registered = [hook for hook in tracer_context._configure_hooks if hook[0] is _hook._slot]
    assert len(registered) == 1
    assert registered[0][1:] == (True, LLMMeterCallbackHandler, None)


def test_instrument_and_uninstrument_switch_the_hook(tracer_provider, meter_provider):
    """instrument() fills the hook with one handler (idempotent); uninstrument() empties it."""
    assert _hook.active_handler() is None
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        first = _hook.active_handler()
        llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        assert isinstance(first, LLMMeterCallbackHandler)
        assert _hook.active_handler() is first
    finally:
        llmmeter.uninstrument()
    assert _hook.active_handler() is None


def test_instrument_without_integrations_leaves_langchain_alone(tracer_provider):
    """instrument(integrations=False) meters HTTP only: LangChain runs are not recorded."""
    llmmeter.instrument(tracer_provider=tracer_provider, integrations=False)
    try:
        with record_calls() as calls:
            fake_model().invoke("hi")
    finally:
        llmmeter.uninstrument()
    assert calls == []


def test_hook_records_runs_without_callbacks(instrumented, span_exporter):
    """Under instrument(), a run that passes no callbacks is recorded."""
    with record_calls() as calls:
        fake_model().invoke("hi")

    assert [c.capture for c in calls] == ["langchain"]
    assert [span.name for span in span_exporter.get_finished_spans()] == ["chat"]


def test_two_handlers_on_one_run_record_it_once(handler, tracer_provider, meter_provider, span_exporter):
    """Two llmmeter handlers on the same run: the first that sees it records it, the other skips it."""
    other = LLMMeterCallbackHandler(tracer_provider=tracer_provider, meter_provider=meter_provider)

    with record_calls() as calls:
        fake_model().invoke("hi", config={"callbacks": [handler, other]})

    assert len(calls) == 1
    assert len(span_exporter.get_finished_spans()) == 1
    assert len(other._runs) == 0
