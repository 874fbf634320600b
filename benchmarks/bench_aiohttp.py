"""What llmmeter costs an aiohttp request to a chat endpoint, against a bare request, the OpenTelemetry
floor and OpenTelemetry's own aiohttp-client instrumentation, all measured in one run.

    .venv/bin/python -m benchmarks.bench_aiohttp      (also run by benchmarks.run_all)

Each variant, in a worker process of its own, runs an ``aiohttp.web`` server on a loopback port in
its event loop, answering every ``POST /v1/chat/completions`` with a fixed chat body, and sends it
``session.post(url, json=...)`` over a keep-alive connection, reading the body with
``response.read()``, one request per ``loop.run_until_complete``. The server's CPU is in every
variant's figure alike (a server in another process made the client's figures depend on how the
two processes were scheduled on a busy machine); what is compared is what each variant adds.
Rounds are interleaved as in ``bench_transport`` (ROUNDS rounds of CALLS calls, one worker running
at a time, the order rotating):

* ``bare``: a plain ``aiohttp.ClientSession``;
* ``llmmeter``: after ``llmmeter.instrument()`` (the request is metered by the aiohttp capture point);
* ``OpenTelemetry floor``: a plain session, each request wrapped in exactly the spans, span attributes
  and synchronous metric points llmmeter writes for it, written directly through the SDK, the span
  current while the request is sent (read from one llmmeter request at start-up);
* ``OpenTelemetry aiohttp-client``: ``opentelemetry-instrumentation-aiohttp-client``'s
  ``AioHttpClientInstrumentor`` (an HTTP client span and its duration histogram; no tokens, no cost).

Providers as in production (BatchSpanProcessor to a drop exporter, an InMemoryMetricReader);
``time.process_time()`` covers every thread of the worker. Printed per variant: CPU µs and wall µs per
request (medians over rounds) and what each adds to ``bare``; then llmmeter's added CPU against the
floor's and against OpenTelemetry's aiohttp-client instrumentation; then the CPU llmmeter adds per
event of a STREAM_EVENTS-event chat stream read with ``async for line in response.content``
(measured in this process, bare and metered runs alternating).
"""

from __future__ import annotations

import asyncio
import importlib.util
import statistics
import time
import weakref
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from rich.console import Console

import llmmeter
from benchmarks._common import (
    CHAT_BODY,
    FloorWriter,
    Telemetry,
    floor_call,
    measure_interleaved,
    probe_telemetry,
    providers,
    target_row,
    targets_table,
    variants_table,
    versions,
)
from llmmeter._pricing import get_table

MODULE = "benchmarks.bench_aiohttp"
ROUNDS = 15
CALLS = 300
STREAM_EVENTS = 10_000
STREAM_RUNS = 7
FLOOR_TARGET = 1.3
OTEL_AIOHTTP = "OpenTelemetry aiohttp-client"

REQUEST: Any = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hi"}]}


_EVENT = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o",'
    b'"choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}],"usage":null}\n\n'
)
_LAST = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],'
    b'"usage":{"prompt_tokens":10,"completion_tokens":%d,"total_tokens":%d}}\n\ndata: [DONE]\n\n'
)
STREAM_BODY = _EVENT * STREAM_EVENTS + _LAST % (STREAM_EVENTS, STREAM_EVENTS + 10)


# --- The provider and the client, on one event loop -----------------------------------------------


async def _chat(request: web.Request) -> web.StreamResponse:
    if not (await request.json()).get("stream"):
        return web.Response(body=CHAT_BODY, content_type="application/json")
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    await response.write(STREAM_BODY)
    await response.write_eof()
    return response


# --- The variants ----------------------------------------------------------------------------------


class Client:
    """A provider and a session on an event loop of their own; one chat request per :meth:`call`.

    Closed by :meth:`close`, or when it is collected (a worker drops its call when it ends): the
    session, the server and the loop are shut down in order, so nothing is left unclosed.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(self._app(), access_log=None)
        self.session, port = self.loop.run_until_complete(self._start())
        self.url = f"http://127.0.0.1:{port}/v1/chat/completions"
        self._closer = weakref.finalize(self, _shut_down, self.loop, self.session, self.runner)

    @staticmethod
    def _app() -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", _chat)
        return app

    async def _start(self) -> tuple[aiohttp.ClientSession, int]:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        return aiohttp.ClientSession(), self.runner.addresses[0][1]

    async def _request(self) -> bytes:
        async with self.session.post(self.url, json=REQUEST) as response:
            return await response.read()

    def call(self) -> bytes:
        return self.loop.run_until_complete(self._request())

    async def _stream(self) -> int:
        lines = 0
        async with self.session.post(self.url, json={**REQUEST, "stream": True}) as response:
            async for _ in response.content:
                lines += 1
        return lines

    def stream(self) -> int:
        return self.loop.run_until_complete(self._stream())

    def close(self) -> None:
        self._closer()


def _shut_down(
    loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession, runner: web.AppRunner
) -> None:
    loop.run_until_complete(session.close())
    loop.run_until_complete(runner.cleanup())
    loop.close()


def setup(name: str, telemetry: Telemetry) -> tuple[Callable[[], object], TracerProvider]:
    """The named variant's call, built in its worker process with providers of its own."""
    tracer_provider, meter_provider = providers()
    get_table().price_usage(
        "gpt-4o-2024-08-06", llmmeter.Usage(input_tokens=1)
    )  # resolved, as in steady state
    if name == "llmmeter":
        llmmeter.instrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False
        )
    elif name == OTEL_AIOHTTP:
        from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

        AioHttpClientInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    elif name not in ("bare", "OpenTelemetry floor"):
        raise ValueError(f"no variant {name!r}")
    client = Client()
    if name == "OpenTelemetry floor":
        floor = FloorWriter(telemetry, tracer_provider, meter_provider)
        return floor_call(client.call, floor), tracer_provider
    return client.call, tracer_provider


def probe() -> Telemetry:
    """What llmmeter writes for one request (the floor writes the same)."""
    return probe_telemetry(_probe_call)


def variant_names() -> list[str]:
    """The variants measured: bare, llmmeter, the floor and OpenTelemetry's aiohttp-client if installed."""
    names = ["bare", "llmmeter", "OpenTelemetry floor"]
    if importlib.util.find_spec("opentelemetry.instrumentation.aiohttp_client") is not None:
        names.append(OTEL_AIOHTTP)
    return names


def _probe_call(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> object:
    """One warmed-up llmmeter request with the given providers, for :func:`probe_telemetry`."""
    client = Client()
    try:
        client.call()  # the connection and the model's price, warmed up unmetered
        llmmeter.instrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False
        )
        try:
            return client.call()
        finally:
            llmmeter.uninstrument()
    finally:
        client.close()


def per_event() -> tuple[float, float]:
    """CPU µs per stream event read bare and metered (medians over STREAM_RUNS alternating runs)."""
    tracer_provider, meter_provider = providers()
    client = Client()
    samples: dict[bool, list[float]] = {False: [], True: []}
    try:
        for _ in range(STREAM_RUNS):
            for metering in (False, True):
                if metering:
                    llmmeter.instrument(
                        tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False
                    )
                try:
                    client.stream()  # warm
                    start = time.process_time()
                    client.stream()
                    tracer_provider.force_flush()
                    samples[metering].append(time.process_time() - start)
                finally:
                    llmmeter.uninstrument()
    finally:
        client.close()
        tracer_provider.shutdown()
        meter_provider.shutdown()
    bare, metered = (statistics.median(samples[key]) / STREAM_EVENTS * 1e6 for key in (False, True))
    return bare, metered


# --- Report ---------------------------------------------------------------------------------------


def main() -> None:
    console = Console(width=130)
    get_table().price_usage("gpt-4o-2024-08-06", llmmeter.Usage(input_tokens=1))
    telemetry = probe()
    console.print(versions("aiohttp", "opentelemetry-sdk", "opentelemetry-instrumentation-aiohttp-client"))
    console.print(f"llmmeter writes per request: {telemetry.summary()}")
    variants = measure_interleaved(MODULE, variant_names(), telemetry, rounds=ROUNDS, calls=CALLS)
    bare_event, metered_event = per_event()
    console.print(
        variants_table(
            f"aiohttp session.post + read(), aiohttp.web server on its loop: median of {ROUNDS} rounds x "
            f"{CALLS} requests",
            variants,
        )
    )
    added = {variant.name: variant.cpu_us - variants[0].cpu_us for variant in variants}
    ratios = targets_table("Added CPU per request")
    target_row(
        ratios,
        "llmmeter / OpenTelemetry floor",
        added["llmmeter"] / added["OpenTelemetry floor"],
        FLOOR_TARGET,
    )
    if OTEL_AIOHTTP in added:
        target_row(ratios, f"llmmeter / {OTEL_AIOHTTP}", added["llmmeter"] / added[OTEL_AIOHTTP], None)
    else:
        ratios.caption = "opentelemetry-instrumentation-aiohttp-client not installed: not measured"
    console.print(ratios)
    streaming = targets_table(f"Streaming: a {STREAM_EVENTS:,}-event chat stream, async for line in content")
    target_row(streaming, "bare CPU µs per event", bare_event, None)
    target_row(streaming, "llmmeter added CPU µs per event", metered_event - bare_event, None)
    console.print(streaming)


if __name__ == "__main__":
    main()
