"""What llmmeter costs an aiohttp request to a chat endpoint, against a bare request, the OpenTelemetry
floor and OpenTelemetry's own aiohttp-client instrumentation, all measured in one run.

    .venv/bin/python -m benchmarks.bench_aiohttp      (also run by benchmarks.run_all)

An ``aiohttp.web`` server, in a process of its own (its CPU is not counted), answers every
``POST /v1/chat/completions`` with a fixed chat body over keep-alive loopback connections. Each
variant, in a worker process of its own, sends ``session.post(url, json=...)`` and reads the body
with ``response.read()``, one request per ``loop.run_until_complete``; rounds interleaved as in
``bench_transport`` (ROUNDS rounds of CALLS calls, one worker running at a time, the order rotating):

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
floor's and against OpenTelemetry's aiohttp-client instrumentation.
"""

from __future__ import annotations

import asyncio
import importlib.util
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
from aiohttp import web
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from rich.console import Console

import llmmeter
from benchmarks._common import (
    CHAT_BODY,
    FloorWriter,
    Telemetry,
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
FLOOR_TARGET = 1.3
OTEL_AIOHTTP = "OpenTelemetry aiohttp-client"

REQUEST: Any = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hi"}]}


# --- The provider, in a process of its own ---------------------------------------------------------


def _provider(connection: Connection) -> None:
    """Serve chat answers on a free loopback port; send the port, stop when told to."""

    async def chat(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=CHAT_BODY, content_type="application/json")

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        connection.send(runner.addresses[0][1])
        await asyncio.get_running_loop().run_in_executor(None, connection.recv)
        await runner.cleanup()

    asyncio.run(serve())


# --- The variants ----------------------------------------------------------------------------------


class Client:
    """A session on an event loop of its own, sending one chat request per :meth:`call`."""

    def __init__(self, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.url = f"http://127.0.0.1:{port}/v1/chat/completions"
        self.session = self.loop.run_until_complete(self._session())

    @staticmethod
    async def _session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    async def _request(self) -> bytes:
        async with self.session.post(self.url, json=REQUEST) as response:
            return await response.read()

    def call(self) -> bytes:
        return self.loop.run_until_complete(self._request())

    def close(self) -> None:
        self.loop.run_until_complete(self.session.close())
        self.loop.close()


def floor_call(client: Client, floor: FloorWriter) -> Callable[[], object]:
    """A bare request inside the floor's telemetry, its span current while the request is sent."""

    def call() -> object:
        spans = floor.start()
        token = otel_context.attach(trace.set_span_in_context(floor.carrier(spans)))
        try:
            result = client.call()
        finally:
            otel_context.detach(token)
        floor.finish(spans)
        return result

    return call


def setup(name: str, data: tuple[Telemetry, int]) -> tuple[Callable[[], object], TracerProvider]:
    """The named variant's call, built in its worker process with providers of its own."""
    telemetry, port = data
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
    client = Client(port)
    if name == "OpenTelemetry floor":
        return floor_call(client, FloorWriter(telemetry, tracer_provider, meter_provider)), tracer_provider
    return client.call, tracer_provider


def probe(port: int) -> Callable[[TracerProvider, MeterProvider], object]:
    """One warmed-up llmmeter request with the given providers, for :func:`probe_telemetry`."""

    def request(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> object:
        client = Client(port)
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

    return request


# --- Report ---------------------------------------------------------------------------------------


def main() -> None:
    console = Console(width=130)
    get_table().price_usage("gpt-4o-2024-08-06", llmmeter.Usage(input_tokens=1))
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    server = spawn.Process(target=_provider, args=(theirs,), daemon=True)
    server.start()
    try:
        port = ours.recv()
        telemetry = probe_telemetry(probe(port))
        console.print(
            versions("aiohttp", "opentelemetry-sdk", "opentelemetry-instrumentation-aiohttp-client")
        )
        console.print(f"llmmeter writes per request: {telemetry.summary()}")
        names = ["bare", "llmmeter", "OpenTelemetry floor"]
        if importlib.util.find_spec("opentelemetry.instrumentation.aiohttp_client") is not None:
            names.append(OTEL_AIOHTTP)
        variants = measure_interleaved(MODULE, names, (telemetry, port), rounds=ROUNDS, calls=CALLS)
    finally:
        ours.send("stop")
        server.join(timeout=30)
    console.print(
        variants_table(
            f"aiohttp session.post + read(), loopback aiohttp.web server: median of {ROUNDS} rounds x "
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


if __name__ == "__main__":
    main()
