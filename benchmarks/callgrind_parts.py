"""Instructions of each part of one metered openai call, counted apart by valgrind's callgrind.

    .venv/bin/python -m benchmarks.callgrind_parts [--repeat N]

What ``callgrind_calls`` counts whole, taken apart: the OpenTelemetry SDK's own unit costs (a
span, its attributes, a histogram point with and without its exemplar) and llmmeter's parts of the
non-streamed call (``bench_transport``'s ``chat`` case). The request is the one the real openai
client sends, caught by an ``httpx2.MockTransport``; the providers are the SDK's, with a
``SimpleSpanProcessor`` to a drop exporter (no export thread: every count is the statement's own).
In one interpreter under ``valgrind --tool=callgrind --dump-before=os_getppid``, each statement
runs N times (default 2,000) between two ``os.getppid()`` calls, after a warm-up round; an empty
loop's count is subtracted. Counts repeat from run to run to within a few hundred instructions.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.callgrind_calls import dump_total, take_option, under_callgrind

REPEAT = 2000

PARTS = (
    (
        "OpenTelemetry SDK",
        "a span started and ended, no attribute",
        "sdk_span()",
    ),
    (
        "OpenTelemetry SDK",
        "the same with the call's six request attributes",
        "sdk_span(REQUEST_ATTRIBUTES)",
    ),
    (
        "OpenTelemetry SDK",
        "a histogram point, no exemplar (no span in its context)",
        "sdk_point(NO_SPAN)",
    ),
    (
        "OpenTelemetry SDK",
        "a histogram point with its exemplar (a sampled span's context)",
        "sdk_point(IN_SPAN)",
    ),
    (
        "llmmeter, request",
        "route the request (host, path)",
        "endpoint(REQUEST.method, HOST, URL.path, URL.port)",
    ),
    (
        "llmmeter, request",
        "the request body, read and decoded",
        "decode_request(_json_content(REQUEST), ROUTE.adapter, False)",
    ),
    (
        "llmmeter, request",
        "the request read into a RequestInfo",
        "request_info()",
    ),
    (
        "llmmeter, request",
        "the span's request attributes",
        "request_attributes(INFO, 'http', {})",
    ),
    (
        "llmmeter, response",
        "the answer parsed (orjson)",
        "loads_or_none(ANSWER)",
    ),
    (
        "llmmeter, response",
        "what it says: usage, names, finish reasons",
        "ROUTE.adapter.parse_response(INFO, PARSED, False)",
    ),
    (
        "llmmeter, response",
        "priced",
        "_price(INFO, RESPONSE, 'complete')",
    ),
    (
        "llmmeter, response",
        "the cost attributes (Decimal to float)",
        "cost_attributes(COST, {})",
    ),
    (
        "llmmeter, response",
        "the response and usage attributes",
        "usage_attributes(USAGE, response_attributes(RECORD, RESPONSE, 'openai'))",
    ),
    (
        "llmmeter, response",
        "the metric attribute set (cached)",
        "metric_set(RECORD, INFO, {})",
    ),
    (
        "llmmeter, response",
        "the running totals (cost, tokens, calls)",
        "TOTALS.add(METRICS.key, 'ok', COST.total, USAGE)",
    ),
    (
        "whole",
        "the floor: one span and three points, prepared attributes",
        "floor_call()",
    ),
    (
        "whole",
        "llmmeter: open the call, parse, finish (span and points)",
        "metered_call()",
    ),
)
"""(group, what, statement): the statements run in the namespace :func:`prepare` returns."""


def prepare() -> dict[str, Any]:
    """The request, the answer and what llmmeter makes of them, with real SDK providers."""
    import httpx2
    import openai
    from opentelemetry import context, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind

    import llmmeter
    from benchmarks._common import CHAT_BODY, DropExporter
    from benchmarks.bench_transport import MESSAGES
    from llmmeter._capture import _http, _transport
    from llmmeter._pricing import get_table
    from llmmeter._providers._base import RequestInfo, loads_or_none
    from llmmeter._providers._request_body import decode_request
    from llmmeter._telemetry import _attributes, _call
    from llmmeter._telemetry._record import CallRecord

    sent: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=CHAT_BODY)

    client = openai.OpenAI(
        api_key="sk-bench",
        base_url="https://api.openai.com/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
    )
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    get_table().price_usage("gpt-4o-2024-08-06", llmmeter.Usage(input_tokens=1))

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(DropExporter()))
    telemetry = _call.Telemetry(tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()]))
    tracer, instruments = telemetry.tracer, telemetry.instruments

    request = sent[0]
    url = request.url
    route = _http.endpoint(request.method, url.host, url.path, url.port)
    assert route is not None
    body = decode_request(_transport._json_content(request), route.adapter, False)

    def request_info() -> RequestInfo:
        model = route.deployment or route.model  # as open_call builds it
        info = RequestInfo(route.provider, route.operation, model, route.billed_model, False, url.host, 443)
        route.adapter.parse_request(info, body, False)
        return info

    info = request_info()
    parsed = loads_or_none(CHAT_BODY)
    response = route.adapter.parse_response(info, parsed, False)
    cost = _call._price(info, response, "complete")
    record = CallRecord(
        "http", info.provider, info.operation, info.model, response.model, response.usage, cost,
        0.5, None, "complete", False, None, True,
    )  # fmt: skip
    metrics = _attributes.metric_set(record, info, {})
    request_attributes = _attributes.request_attributes(info, "http", {})
    end_attributes = _attributes.response_attributes(record, response, "openai")
    _attributes.usage_attributes(response.usage, _attributes.cost_attributes(cost, end_attributes))
    open_span = tracer.start_span("open")

    def sdk_span(attributes: dict[str, Any] | None = None) -> None:
        tracer.start_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes=attributes).end()

    def sdk_point(parent: context.Context) -> None:
        instruments.duration.record(0.5, metrics.attributes, parent)

    def floor_call() -> None:
        span = tracer.start_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes=request_attributes)
        parent = trace.set_span_in_context(span)
        span.set_attributes(end_attributes)
        instruments.duration.record(0.5, metrics.attributes, parent)
        instruments.token_usage.record(120, metrics.input_tokens, parent)
        instruments.token_usage.record(12, metrics.output_tokens, parent)
        span.end()

    def metered_call() -> None:
        call, _ = _http.open_call(route, telemetry, host=url.host, port=443, body=body, credentials=list)
        call.finish(route.adapter.parse_response(call.request, loads_or_none(CHAT_BODY), False))

    return {
        "endpoint": _http.endpoint,
        "_json_content": _transport._json_content,
        "decode_request": decode_request,
        "request_attributes": _attributes.request_attributes,
        "loads_or_none": loads_or_none,
        "_price": _call._price,
        "cost_attributes": _attributes.cost_attributes,
        "response_attributes": _attributes.response_attributes,
        "usage_attributes": _attributes.usage_attributes,
        "metric_set": _attributes.metric_set,
        "REQUEST": request,
        "URL": url,
        "HOST": url.host,
        "ROUTE": route,
        "INFO": info,
        "ANSWER": CHAT_BODY,
        "PARSED": parsed,
        "RESPONSE": response,
        "USAGE": response.usage,
        "COST": cost,
        "RECORD": record,
        "METRICS": metrics,
        "TOTALS": instruments.totals,
        "REQUEST_ATTRIBUTES": request_attributes,
        "NO_SPAN": context.Context(),
        "IN_SPAN": trace.set_span_in_context(open_span),
        "request_info": request_info,
        "sdk_span": sdk_span,
        "sdk_point": sdk_point,
        "floor_call": floor_call,
        "metered_call": metered_call,
    }


def worker(repeat: int) -> None:
    """Run each statement ``repeat`` times between two dumps, an empty loop first."""
    namespace = prepare()
    loops = []
    for statement in ["pass", *(part[2] for part in PARTS)]:
        exec(f"def loop():\n    for _ in range({repeat}):\n        {statement}\n", namespace)
        loops.append(namespace["loop"])
    for loop in loops:  # warm-up: every cache filled, every code path specialised
        loop()
    for loop in loops:
        os.getppid()  # callgrind dumps what came before
        loop()
    os.getppid()


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--worker"]:
        worker(int(args[1]))
        return
    if "-h" in args or "--help" in args:
        print(__doc__)
        return
    repeat = int(take_option(args, "--repeat") or REPEAT)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        under_callgrind(out, "benchmarks.callgrind_parts", "--worker", str(repeat))
        # Dump 1 holds the start-up and the warm-up; then one dump a statement, the empty loop first.
        counts = [dump_total(Path(f"{out}.{dump}")) / repeat for dump in range(2, len(PARTS) + 3)]
    empty, *parts = counts
    print(f"instructions per execution (callgrind, {repeat:,} executions each, an empty loop's subtracted)")
    group = None
    for (part_group, what, _), count in zip(PARTS, parts, strict=True):
        if part_group != group:
            group = part_group
            print(f"  {group}")
        print(f"    {count - empty:10,.0f}  {what}")
    floor, metered = parts[-2] - empty, parts[-1] - empty
    print(f"  llmmeter's own work in the call (opened, parsed, finished): {metered - floor:+,.0f}")


if __name__ == "__main__":
    main()
