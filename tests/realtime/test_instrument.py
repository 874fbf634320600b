"""The Realtime capture point's patching: exact restore, idempotence, other wrappers, no websockets."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import wrapt
from opentelemetry.instrumentation.utils import unwrap
from websockets.asyncio.client import ClientConnection as AsyncClientConnection
from websockets.sync.client import ClientConnection, connect

import llmmeter
from llmmeter._providers._realtime import DELTA_HEADS, SERVER_EVENTS, event_type, target
from llmmeter.testing import record_calls
from tests.export.conftest import ROOT, clean_env
from tests.realtime.server import RealtimeServer, Turn

ORIGINAL_SYNC = ClientConnection.__dict__["handshake"]
ORIGINAL_ASYNC = AsyncClientConnection.__dict__["handshake"]
USAGE = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}


def one_response(server: RealtimeServer) -> int:
    """One response over a raw sync client; how many calls llmmeter recorded."""
    server.turns.append(Turn(USAGE))
    with record_calls() as calls, connect(server.ws_url()) as ws:
        ws.send('{"type":"response.create"}')
        while '"response.done"' not in ws.recv()[:40]:
            pass
    return len(calls)


def test_uninstrument_restores_the_handshakes_exactly_and_is_idempotent(server: RealtimeServer) -> None:
    """instrument() twice patches once; uninstrument() twice puts back the very functions."""
    llmmeter.instrument(integrations=False)
    llmmeter.instrument(integrations=False)
    assert ClientConnection.__dict__["handshake"] is not ORIGINAL_SYNC
    assert one_response(server) == 1
    llmmeter.uninstrument()
    llmmeter.uninstrument()
    assert ClientConnection.__dict__["handshake"] is ORIGINAL_SYNC
    assert AsyncClientConnection.__dict__["handshake"] is ORIGINAL_ASYNC
    assert one_response(server) == 0


@pytest.mark.parametrize("first", ["llmmeter", "other"])
@pytest.mark.parametrize("undo", ["LIFO", "FIFO"])
def test_another_wrapper_of_the_handshake_keeps_working(
    server: RealtimeServer, first: str, undo: str
) -> None:
    """A wrapt wrapper of the same handshake (unwrapped as OpenTelemetry's ``unwrap`` does), in any
    order: both run while both are on; llmmeter counts while it is on, and nothing once it is off."""
    seen: list[str] = []

    def other(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        seen.append("other")
        return wrapped(*args, **kwargs)

    switches = {
        "llmmeter": (lambda: llmmeter.instrument(integrations=False), llmmeter.uninstrument),
        "other": (
            lambda: wrapt.wrap_function_wrapper(ClientConnection, "handshake", other),
            lambda: unwrap(ClientConnection, "handshake"),
        ),
    }
    ups = ["llmmeter", "other"] if first == "llmmeter" else ["other", "llmmeter"]
    downs = list(reversed(ups)) if undo == "LIFO" else ups
    try:
        for name in ups:
            switches[name][0]()
        assert one_response(server) == 1
        assert seen == ["other"]
        switches[downs[0]][1]()
        assert one_response(server) == (0 if downs[0] == "llmmeter" else 1)
        switches[downs[1]][1]()
        assert one_response(server) == 0
    finally:
        llmmeter.uninstrument()
        unwrap(ClientConnection, "handshake")
    assert ClientConnection.__dict__["handshake"] is ORIGINAL_SYNC


def test_without_websockets_instrument_imports_nothing_of_it() -> None:
    """With websockets absent, instrument() works and no websockets module is imported."""
    code = (
        "import sys; sys.modules['websockets'] = None\n"
        "import llmmeter; llmmeter.instrument(); llmmeter.uninstrument()\n"
        "assert not [m for m in sys.modules if m.startswith('websockets.')], 'imported'\n"
        "import llmmeter._capture._instrument as i; assert not i.is_instrumented()\n"
        "print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=clean_env(), timeout=60
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_event_type_is_read_from_the_start_without_parsing() -> None:
    """The top-level type is told from the first bytes; anything doubtful asks for a parse (None)."""
    assert (
        event_type('{"type":"response.output_audio.delta","delta":"AAAA"}') == "response.output_audio.delta"
    )
    assert event_type(b'{ "type" : "response.done", "response": {}}') == "response.done"
    assert event_type('{"event_id":"e","type":"error"}') == "error"
    assert event_type('{"response":{"type":"x"},"type":"response.done"}') is None
    assert event_type('{"name":"type","type":"response.done"}') is None
    assert event_type("not json") == ""
    assert event_type(b"\x00\x01binary") == ""


def test_the_deltas_skipped_unread_are_events_metering_would_not_read() -> None:
    """A message the receive path skips by its start is one event_type tells apart and metering
    does not read, with or without more after its type; the events it reads are never skipped."""
    for head in DELTA_HEADS:
        for message in (head + "}", head + ',"delta":"AAAA"}', head + ',"type":"response.done"}'):
            assert message.startswith(DELTA_HEADS)
            kind = event_type(message)
            assert kind is not None
            assert kind not in SERVER_EVENTS
            assert kind == head[9:-1]
    for kind in SERVER_EVENTS:
        assert not f'{{"type":"{kind}","response":{{}}}}'.startswith(DELTA_HEADS)
    assert not '{"type":"response.output_audio.delta.x"}'.startswith(DELTA_HEADS)
    assert not '{"type":"response.output_audio.d\\u0065lta"}'.startswith(DELTA_HEADS)


def test_realtime_urls_are_recognised_by_path_with_the_model_from_the_query() -> None:
    """Any host whose path ends in /realtime; the model from model= (Azure: deployment=)."""
    found = target("api.openai.com", 443, "/v1/realtime", "model=gpt-realtime&api-key=secret")
    assert found is not None
    assert (found.provider, found.model) == ("openai", "gpt-realtime")
    azure = target("x.openai.azure.com", 443, "/openai/realtime", "api-version=2025-04-01&deployment=rt")
    assert azure is not None
    assert (azure.provider, azure.model) == ("azure.ai.openai", "rt")
    assert target("api.openai.com", 443, "/v1/responses", "") is None


def test_realtime_usage_converter_keeps_each_cached_modality_and_refuses_bad_counts() -> None:
    """Cached audio and image are parts of the cache reads and of their modality; a bad count invalidates."""
    from llmmeter._usage import from_openai_realtime

    converted = from_openai_realtime(
        {
            "input_tokens": 30,
            "output_tokens": 7,
            "input_token_details": {
                "audio_tokens": 10,
                "image_tokens": 5,
                "cached_tokens": 9,
                "cached_tokens_details": {"text_tokens": 2, "audio_tokens": 4, "image_tokens": 3},
            },
            "output_token_details": {"text_tokens": 2, "audio_tokens": 5},
        }
    )
    assert (
        converted.cache_read_tokens,
        converted.cache_read_audio_tokens,
        converted.cache_read_image_tokens,
    ) == (
        9,
        4,
        3,
    )
    assert (converted.input_audio_tokens, converted.input_image_tokens, converted.output_audio_tokens) == (
        10,
        5,
        5,
    )
    assert from_openai_realtime({"input_tokens": -1}).invalid == "input_tokens"


EXIT_SCRIPT = """
import sys
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

class Printer(SpanExporter):
    def export(self, spans):
        for span in spans:
            print("SPAN", span.name, span.attributes.get("llmmeter.stream.ending"), flush=True)
        return SpanExportResult.SUCCESS

provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(Printer()))
import llmmeter
from websockets.sync.client import connect
from tests.realtime.server import RealtimeServer
llmmeter.instrument(tracer_provider=provider, integrations=False)
server = RealtimeServer().__enter__()
ws = connect(server.ws_url(), legacy=True)
ws.recv()
sys.exit(0)
"""


def test_a_session_still_open_at_exit_is_recorded_abandoned() -> None:
    """A session the app never closes is recorded once, as abandoned, when the interpreter exits."""
    result = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_env(),
        timeout=60,
    )
    assert result.stdout.splitlines().count("SPAN chat gpt-realtime abandoned") == 1, (
        result.stdout + result.stderr
    )
