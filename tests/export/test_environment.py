"""The OpenTelemetry variables users already set: content capture and OTEL_SDK_DISABLED."""

from __future__ import annotations

import json

import pytest

from tests.export.conftest import clean_env, run_python
from tests.export.otlp_receiver import OTLPReceiver

CONTENT_SCRIPT = """
    import json, httpx2, llmmeter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from tests import fakes

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reply = fakes.Reply(fakes.chat_completion(content="the-completion"))
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, reply)), tracer_provider=provider
    )
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "the-prompt"}]}
    httpx2.Client(transport=transport).post("https://api.openai.com/v1/chat/completions", json=body)
    (span,) = exporter.get_finished_spans()
    print(json.dumps("the-prompt" in span.to_json() and "the-completion" in span.to_json()))
"""


@pytest.mark.parametrize(
    ("value", "captured"),
    [
        (None, False),
        ("NO_CONTENT", False),
        ("false", False),
        ("EVENT_ONLY", False),
        ("SPAN_ONLY", True),
        ("SPAN_AND_EVENT", True),
        ("true", True),
    ],
)
def test_content_capture_follows_the_conventions_variable(value, captured):
    """OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT puts content on spans as configure() does."""
    extra = {} if value is None else {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": value}
    result = run_python(CONTENT_SCRIPT, env=clean_env(**extra))
    assert result.stdout.strip() == ("true" if captured else "false")


def test_sdk_disabled_writes_and_exports_nothing():
    """With OTEL_SDK_DISABLED=true, configure(otlp=True) starts no exporter and logs nothing about it;
    the call still works and track() still counts it."""
    script = """
        import logging, llmmeter
        from opentelemetry import trace
        from tests.export.workload import raw_chat_call

        logging.basicConfig(level=logging.DEBUG)
        llmmeter.configure(otlp=True)
        with llmmeter.track() as spend:
            raw_chat_call("gpt-4o-2024-08-06", prompt_tokens=100, completion_tokens=20)
        assert spend.calls == 1, spend
        print(type(trace.get_tracer_provider()).__name__)
    """
    with OTLPReceiver() as receiver:
        result = run_python(
            script,
            env=clean_env(OTEL_SDK_DISABLED="true", OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint),
        )
    assert list(receiver.spans()) == []
    assert result.stdout.strip() == "ProxyTracerProvider"
    assert "llmmeter" not in result.stderr


EVENT_SCRIPT = """
    import json, httpx2, llmmeter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry._logs import set_logger_provider
    from tests import fakes

    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    set_logger_provider(logger_provider)  # the global provider: the default for the events
    reply = fakes.Reply(fakes.chat_completion(content="the-completion"))
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, reply)), tracer_provider=tracer_provider
    )
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "the-prompt"}]}
    httpx2.Client(transport=transport).post("https://api.openai.com/v1/chat/completions", json=body)
    (span,) = spans.get_finished_spans()
    events = [r.log_record for r in logs.get_finished_logs()]
    print(json.dumps({
        "events": len(events),
        "event_content": any("gen_ai.input.messages" in e.attributes for e in events),
        "span_content": "the-prompt" in span.to_json(),
    }))
"""


@pytest.mark.parametrize(
    ("mode", "emit", "expected"),
    [
        (None, None, (0, False, False)),
        ("NO_CONTENT", "true", (1, False, False)),
        ("SPAN_ONLY", None, (0, False, True)),
        ("SPAN_ONLY", "true", (1, False, True)),
        ("EVENT_ONLY", None, (1, True, False)),
        ("EVENT_ONLY", "false", (0, False, False)),
        ("SPAN_AND_EVENT", None, (1, True, True)),
        ("span_and_event", "FALSE", (0, False, True)),
        ("true", None, (0, False, True)),
    ],
)
def test_event_follows_the_emit_event_variable(mode, emit, expected):
    """OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT forces the event on or off; unset, the event is written
    in the modes that put content on it, and content reaches it only in those modes."""
    extra = {}
    if mode is not None:
        extra["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = mode
    if emit is not None:
        extra["OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"] = emit
    found = json.loads(run_python(EVENT_SCRIPT, env=clean_env(**extra)).stdout.strip())
    assert (found["events"], found["event_content"], found["span_content"]) == expected
