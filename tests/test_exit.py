"""The app's exit: every way out ends promptly, with every finished call already in the app's providers.

Each case runs a fresh interpreter whose last call is a stream left unfinished, the case that hung
at exit when a telemetry thread was started during interpreter finalization. The app's spans go to
a SimpleSpanProcessor writing one line per span to stdout.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.export.conftest import ROOT, clean_env

EXIT_TIMEOUT_S = 20

PRELUDE = """
import os, signal, sys
import httpx2, openai
import llmmeter
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from tests import fakes

class Lines(SpanExporter):
    def export(self, spans):
        for span in spans:
            if span.instrumentation_scope.name == "llmmeter":
                sys.stdout.write(f"SPAN {span.name} {span.attributes.get('llmmeter.stream.ending')}\\n")
        sys.stdout.flush()
        return SpanExportResult.SUCCESS

provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(Lines()))
trace.set_tracer_provider(provider)

def client(reply):
    transport = llmmeter.MeteredTransport(httpx2.MockTransport(fakes.mock_handler(httpx2, reply)))
    return openai.OpenAI(api_key="sk-test", http_client=httpx2.Client(transport=transport), max_retries=0)

client(fakes.Reply(fakes.chat_completion())).chat.completions.create(model="gpt-4o", messages=[])
stream = client(fakes.Reply(chunks=fakes.chat_stream(words=50))).chat.completions.create(
    model="gpt-4o", messages=[], stream=True
)
for chunk in stream:
    break
"""

ENDINGS = {
    "normal end": "",
    "sys.exit": "sys.exit(3)",
    "unhandled exception": "raise RuntimeError('the app failed')",
    "SIGTERM, default handler": "os.kill(os.getpid(), signal.SIGTERM)",
    "os._exit": "os._exit(0)",
}


def run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT_S,
        check=False,
    )


@pytest.mark.parametrize("ending", list(ENDINGS), ids=list(ENDINGS))
def test_every_exit_is_prompt_with_the_finished_call_exported(ending):
    """The process ends (no hang) and the finished call's span was exported before it did."""
    result = run(PRELUDE + ENDINGS[ending])

    assert "SPAN chat gpt-4o None" in result.stdout.splitlines(), result.stderr
    expected = {"sys.exit": 3, "SIGTERM, default handler": -signal.SIGTERM, "unhandled exception": 1}
    assert result.returncode == expected.get(ending, 0), result.stderr


@pytest.mark.parametrize("ending", ["normal end", "sys.exit", "unhandled exception"])
def test_a_stream_still_open_at_exit_is_recorded_abandoned(ending):
    """The stream the app left half-read is recorded, once, as abandoned, when the interpreter runs
    its exit hooks (the ways out that run none, a signal or os._exit, cannot record it)."""
    result = run(PRELUDE + ENDINGS[ending])

    assert result.stdout.splitlines().count("SPAN chat gpt-4o abandoned") == 1, result.stderr


def test_a_stream_closed_before_exit_is_recorded_closed_early():
    """A stream the app closes before leaving is recorded at once, how it ended."""
    result = run(PRELUDE + "stream.close()\nsys.exit(0)")

    assert "SPAN chat gpt-4o closed_early" in result.stdout.splitlines(), result.stderr


def test_multiprocessing_workers_hand_over_their_calls():
    """Pool workers (fork) leave through os._exit: each call's span is exported before they do."""
    script = (
        PRELUDE
        + """
import multiprocessing

def work(i):
    client(fakes.Reply(fakes.chat_completion())).chat.completions.create(model="gpt-4o", messages=[])
    return i

with multiprocessing.get_context("fork").Pool(2) as pool:
    assert pool.map(work, range(4)) == [0, 1, 2, 3]
"""
    )
    result = run(script)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines().count("SPAN chat gpt-4o None") == 1 + 4


def test_a_warm_up_call_before_the_providers_are_set_loses_nothing_at_exit():
    """A call made before the app sets its providers, then the app's BatchSpanProcessor: the last
    call's span is exported at exit (llmmeter's exit hook runs only for streams left open)."""
    script = """
import sys
import httpx2, llmmeter
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from tests import fakes

def call():
    handler = fakes.mock_handler(httpx2, fakes.Reply(fakes.chat_completion()))
    client = httpx2.Client(transport=llmmeter.MeteredTransport(httpx2.MockTransport(handler)))
    client.post("https://api.openai.com/v1/chat/completions", json={"model": "gpt-4o", "messages": []})

class Lines(SpanExporter):
    def export(self, spans):
        for span in spans:
            sys.stdout.write(f"SPAN {span.name}\\n")
        sys.stdout.flush()
        return SpanExportResult.SUCCESS

call()  # warm-up, on the API's stand-in providers
provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(Lines(), schedule_delay_millis=60_000))
trace.set_tracer_provider(provider)
call()
"""
    result = run(script)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["SPAN chat gpt-4o"]
