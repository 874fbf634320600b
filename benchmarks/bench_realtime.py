"""What llmmeter costs per message of a Realtime session, against the same session unmetered.

    .venv/bin/python -m benchmarks.bench_realtime      (also run by benchmarks.run_all)

A local websockets server, in a process of its own (its CPU is not counted), plays a Realtime session
of EVENTS server events: responses of ``response.created``, an output item, AUDIO_DELTAS
``response.output_audio.delta`` events of about 8 KB of base64 audio each, TEXT_DELTAS transcript
deltas, ``response.output_audio.done`` and ``response.done`` with usage. A raw ``websockets`` sync
client reads them all. Variants, in the same process, interleaved round by round (ROUNDS rounds, the
order alternating):

* ``bare``: no instrumentation;
* ``llmmeter``: after ``llmmeter.instrument()``: the session's span, one priced span per response,
  its metric points and a ``track()`` block.

Providers as in production (BatchSpanProcessor to a drop exporter, an InMemoryMetricReader).
``time.process_time()`` covers every thread of the client process (websockets' reader thread and the
span export thread included). Printed: CPU µs per event (median over rounds), the added µs per event
and the ratio to ``bare``; and the same per response.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import statistics
import time
from multiprocessing.connection import Connection
from typing import Any

from opentelemetry import metrics, trace
from rich.console import Console
from rich.table import Table

import llmmeter
from benchmarks._common import providers, versions

EVENTS = 10_000
ROUNDS = 7
AUDIO_DELTAS = 40
TEXT_DELTAS = 20
_AUDIO = base64.b64encode(bytes(range(256)) * 24).decode()
_USAGE = {
    "total_tokens": 1500,
    "input_tokens": 1000,
    "output_tokens": 500,
    "input_token_details": {
        "text_tokens": 200,
        "audio_tokens": 800,
        "image_tokens": 0,
        "cached_tokens": 512,
        "cached_tokens_details": {"text_tokens": 128, "audio_tokens": 384, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 100, "audio_tokens": 400},
}


def _session_events(count: int) -> list[str]:
    """``count`` server events: whole responses, as the Realtime API sends them."""
    events: list[str] = []
    number = 0
    while len(events) < count:
        number += 1
        rid = f"resp_{number}"
        base = {"object": "realtime.response", "id": rid, "conversation_id": "conv_1"}
        events.append(_event("response.created", response={**base, "status": "in_progress", "output": []}))
        events.append(_event("response.output_item.added", response_id=rid, output_index=0, item={"id": "i"}))
        for _ in range(AUDIO_DELTAS):
            events.append(
                _event("response.output_audio.delta", response_id=rid, item_id="i", output_index=0,
                       content_index=0, delta=_AUDIO)
            )  # fmt: skip
        for _ in range(TEXT_DELTAS):
            events.append(
                _event("response.output_audio_transcript.delta", response_id=rid, item_id="i",
                       output_index=0, content_index=0, delta="Hello there ")
            )  # fmt: skip
        events.append(_event("response.output_audio.done", response_id=rid, item_id="i"))
        events.append(_event("response.done", response={**base, "status": "completed", "usage": _USAGE}))
    return events[:count]


def _delta_events(count: int) -> list[str]:
    """``count`` audio deltas and nothing else: the per-message cost alone, no response to price."""
    delta = _event("response.output_audio.delta", response_id="r", item_id="i", output_index=0,
                   content_index=0, delta=_AUDIO)  # fmt: skip
    return [delta] * count


def _event(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "event_id": "event_1", **fields}, separators=(",", ":"))


def _serve(ready: Connection) -> None:
    """The server process: a session of EVENTS events for every connection, then a normal close."""
    from websockets.sync.server import ServerConnection, serve

    sessions = {"responses": _session_events(EVENTS), "deltas": _delta_events(EVENTS)}
    session_created = _event(
        "session.created", session={"id": "sess_1", "type": "realtime", "model": "gpt-realtime"}
    )

    def handle(connection: ServerConnection) -> None:
        connection.send(session_created)
        connection.recv()  # the client's response.create
        assert connection.request is not None
        for event in sessions["deltas" if "mix=deltas" in connection.request.path else "responses"]:
            connection.send(event)
        connection.close()

    with serve(handle, "127.0.0.1", 0, compression=None, max_size=None) as server:
        ready.send(server.socket.getsockname()[1])
        server.serve_forever()


def _session(url: str) -> tuple[float, int]:
    """One whole session read by a raw client: its CPU seconds and the number of events read."""
    from websockets.sync.client import connect

    read = 0
    start = time.process_time()
    with llmmeter.track(), connect(url, compression=None, max_size=None) as ws:
        ws.recv()
        ws.send('{"type":"response.create"}')
        for _ in ws:
            read += 1
    return time.process_time() - start, read


def main() -> None:
    """Run the rounds and print the table."""
    console = Console(width=120)
    tracer_provider, meter_provider = providers()
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child,), daemon=True)
    server.start()
    port = parent.recv()
    url = f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
    responses = sum(1 for e in _session_events(EVENTS) if '"response.done"' in e[:40])
    llmmeter.instrument()  # loads prices and imports everything once, before timing
    _session(url)
    llmmeter.uninstrument()
    _session(url)
    table = Table(title=f"Realtime session of {EVENTS:,} server events, read by a raw websockets client")
    for column in (
        "session",
        "bare µs/event",
        "llmmeter µs/event",
        "added µs/event",
        "ratio",
        "added µs/response",
    ):
        table.add_column(column, justify="left" if column == "session" else "right")
    try:
        for mix, title in (
            ("responses", f"{responses} responses with usage"),
            ("deltas", "audio deltas only"),
        ):
            bare, metered = _measure(f"{url}&mix={mix}", tracer_provider)
            added = metered - bare
            per_response = f"{added * EVENTS / responses:+.1f}" if mix == "responses" else ""
            table.add_row(
                title, f"{bare:.2f}", f"{metered:.2f}", f"{added:+.2f}", f"{metered / bare:.2f}", per_response
            )
    finally:
        server.kill()
    console.print(table)
    console.print(
        f"CPU medians of {ROUNDS} interleaved rounds; {versions('websockets', 'opentelemetry-sdk')}"
    )


def _measure(url: str, tracer_provider: Any) -> tuple[float, float]:
    """Median CPU µs per event, bare and metered, over interleaved rounds."""
    cpu: dict[str, list[float]] = {"bare": [], "llmmeter": []}
    for round_number in range(ROUNDS):
        order = ["bare", "llmmeter"] if round_number % 2 == 0 else ["llmmeter", "bare"]
        for variant in order:
            if variant == "llmmeter":
                llmmeter.instrument()
            seconds, read = _session(url)
            if variant == "llmmeter":
                llmmeter.uninstrument()
            tracer_provider.force_flush()
            assert read == EVENTS, read
            cpu[variant].append(seconds)
    return tuple(statistics.median(cpu[v]) / EVENTS * 1e6 for v in ("bare", "llmmeter"))  # type: ignore[return-value]


if __name__ == "__main__":
    main()
