"""llmmeter beside other instrumentations of the same classes, in every order of instrument and uninstrument.

opentelemetry-instrumentation-httpx wraps the very transport methods ``llmmeter.instrument()``
patches (with wrapt); OpenLLMetry's openai instrumentor wraps the SDK above them. Whatever the
order, each keeps working, llmmeter counts each call once, and the classes end as they began.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.export.conftest import ROOT, clean_env
from tests.otel import llm_spans

LIBRARIES = {"httpx": (httpx, HTTPXClientInstrumentor), "httpx2": (httpx2, HTTPX2ClientInstrumentor)}
ORDERS = list(itertools.product(("llmmeter first", "other first"), ("LIFO", "FIFO")))


@pytest.fixture
def server() -> Iterator[fakes.LoopbackServer]:
    """A chat completions provider on loopback."""
    with fakes.LoopbackServer(lambda method, path, body: fakes.Reply(fakes.chat_completion())) as running:
        yield running


def transport_methods(library: Any) -> dict[str, Any]:
    return {
        "sync": library.HTTPTransport.__dict__["handle_request"],
        "async": library.AsyncHTTPTransport.__dict__["handle_async_request"],
    }


def chat(library: Any, server: fakes.LoopbackServer) -> int:
    """One chat call with a fresh default client; how many calls llmmeter recorded for it."""
    with record_calls() as calls, library.Client() as client:
        response = client.post(f"{server.url}/v1/chat/completions", json={"model": "gpt-4o", "messages": []})
    assert response.json()["usage"]["prompt_tokens"] == 100
    return len(calls)


async def achat(library: Any, server: fakes.LoopbackServer) -> int:
    with record_calls() as calls:
        async with library.AsyncClient() as client:
            response = await client.post(
                f"{server.url}/v1/chat/completions", json={"model": "gpt-4o", "messages": []}
            )
    assert response.json()["usage"]["prompt_tokens"] == 100
    return len(calls)


def other_spans(exporter: Any) -> int:
    return sum(1 for span in exporter.get_finished_spans() if "httpx" in span.instrumentation_scope.name)


@pytest.mark.parametrize(("first", "undo"), ORDERS, ids=[f"{a}, {b}" for a, b in ORDERS])
@pytest.mark.parametrize("name", list(LIBRARIES))
async def test_httpx_instrumentation_and_llmmeter_in_any_order(
    name, first, undo, server, tracer_provider, meter_provider, span_exporter
):
    """Both work while both are on, each alone works after the other left, and the classes end pristine."""
    library, instrumentor_class = LIBRARIES[name]
    pristine = transport_methods(library)
    other = instrumentor_class()

    def on(which: str) -> None:
        if which == "llmmeter":
            llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        else:
            other.instrument(tracer_provider=tracer_provider)

    def off(which: str) -> None:
        if which == "llmmeter":
            llmmeter.uninstrument()
        else:
            other.uninstrument()

    ups = ["llmmeter", "other"] if first == "llmmeter first" else ["other", "llmmeter"]
    downs = list(reversed(ups)) if undo == "LIFO" else list(ups)
    try:
        for which in ups:
            on(which)
        assert (chat(library, server), await achat(library, server)) == (1, 1)
        assert other_spans(span_exporter) == 2
        assert len(llm_spans(span_exporter.get_finished_spans())) == 2

        off(downs[0])
        span_exporter.clear()
        expected = 0 if downs[0] == "llmmeter" else 1
        assert (chat(library, server), await achat(library, server)) == (expected, expected)
        assert other_spans(span_exporter) == (2 if downs[0] == "llmmeter" else 0)

        off(downs[1])
        span_exporter.clear()
        assert (chat(library, server), await achat(library, server)) == (0, 0)
        assert span_exporter.get_finished_spans() == ()
    finally:
        llmmeter.uninstrument()
        other.uninstrument()
    assert transport_methods(library) == pristine


OPENLLMETRY = """
import json
import httpx2, openai
import llmmeter
from opentelemetry.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from llmmeter.testing import record_calls
from tests import fakes

ups, downs = {ups!r}, {downs!r}
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
other = OpenAIInstrumentor()
pristine = httpx2.HTTPTransport.__dict__["handle_request"]

def on(which):
    if which == "llmmeter":
        llmmeter.instrument(tracer_provider=provider)
    else:
        other.instrument(tracer_provider=provider)

def off(which):
    llmmeter.uninstrument() if which == "llmmeter" else other.uninstrument()

def chat():
    client = openai.OpenAI(api_key="sk-test", base_url={url!r} + "/v1", max_retries=0)
    with record_calls() as calls:
        reply = client.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": "hi"}}])
    assert reply.usage.prompt_tokens == 100
    return len(calls)

counts = []
for which in ups:
    on(which)
counts.append(chat())
openllmetry_spans = sum(
    1 for s in exporter.get_finished_spans() if s.instrumentation_scope.name != "llmmeter"
)
off(downs[0])
counts.append(chat())
off(downs[1])
counts.append(chat())
print(json.dumps({{"counts": counts, "openllmetry_spans": openllmetry_spans,
                  "pristine": httpx2.HTTPTransport.__dict__["handle_request"] is pristine}}))
"""


@pytest.mark.parametrize(("first", "undo"), ORDERS, ids=[f"{a}, {b}" for a, b in ORDERS])
def test_openllmetry_openai_instrumentation_and_llmmeter_in_any_order(first, undo, server):
    """With OpenLLMetry's openai instrumentor on too, each call is counted once while llmmeter is on,
    OpenLLMetry's span is made, and the transport class ends pristine (each order in a fresh process:
    OpenLLMetry's own uninstrument leaves its patches in place)."""
    ups = ["llmmeter", "other"] if first == "llmmeter first" else ["other", "llmmeter"]
    downs = list(reversed(ups)) if undo == "LIFO" else list(ups)
    # Not run with warnings as errors: OpenLLMetry's own import warns (pydantic's class-based config).
    result = subprocess.run(
        [sys.executable, "-c", OPENLLMETRY.format(ups=ups, downs=downs, url=server.url)],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["openllmetry_spans"] == 1
    assert found["counts"] == [1, 0 if downs[0] == "llmmeter" else 1, 0]
    assert found["pristine"] is True
