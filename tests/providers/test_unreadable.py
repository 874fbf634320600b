"""Never silently unmetered: a call to a known endpoint whose body llmmeter cannot read is still
recorded, with a span, a record and a ``llmmeter.calls`` point whose status says so."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import httpx2

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans, metric_total
from tests.providers import wire

BEDROCK = "https://bedrock-runtime.us-east-1.amazonaws.com"
VERTEX = (
    "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/publishers/anthropic/models"
)


def client(reply: fakes.Reply, metered: dict[str, Any]) -> httpx2.Client:
    """A raw httpx2 client, metered, whose every request gets ``reply``."""
    transport = llmmeter.MeteredTransport(httpx2.MockTransport(fakes.mock_handler(httpx2, reply)), **metered)
    return httpx2.Client(transport=transport)


def test_a_model_family_whose_body_is_not_read_is_recorded_without_usage(
    metered, span_exporter, metric_reader
):
    """InvokeModel of a Llama model (a body of its own family): a span and a ``no_usage`` record."""
    llama = {"generation": "Hi", "prompt_token_count": 9, "generation_token_count": 3, "stop_reason": "stop"}
    with record_calls() as calls, client(fakes.Reply(llama), metered) as http:
        http.post(f"{BEDROCK}/model/meta.llama3-70b-instruct-v1:0/invoke", json={"prompt": "hi"})

    (record,) = calls
    assert (record.provider, record.request_model, record.cost.status) == (
        "aws.bedrock",
        "meta.llama3-70b-instruct-v1:0",
        "no_usage",
    )
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["llmmeter.cost.status"] == "no_usage"
    calls_metric = metric_total(metric_reader, "llmmeter.calls", llmmeter__cost__status="no_usage")
    assert calls_metric == 1


def test_an_answer_that_is_not_json_is_recorded_without_usage(metered, span_exporter):
    """rawPredict answered with an HTML page: the call is recorded, ``no_usage``."""
    reply = fakes.Reply(chunks=[b"<html>upstream error</html>"], headers={"content-type": "text/html"})
    with record_calls() as calls, client(reply, metered) as http:
        body = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 5, "messages": []}
        http.post(f"{VERTEX}/claude-sonnet-4-5@20250929:rawPredict", json=body)

    (record,) = calls
    assert (record.provider, record.cost.status, record.usage) == ("gcp.vertex_ai", "no_usage", None)
    assert len(llm_spans(span_exporter.get_finished_spans())) == 1


def test_a_stream_that_fails_its_checksum_is_recorded_without_usage(metered):
    """An event-stream whose first message is corrupt: nothing is read from it, the call is recorded."""
    chunks = wire.bedrock_stream(model="claude-sonnet-4-5-20250929", input_tokens=5, output_tokens=5)
    chunks[0] = chunks[0][:-1] + bytes([chunks[0][-1] ^ 0xFF])
    reply = fakes.Reply(chunks=chunks, headers={"content-type": wire.EVENT_STREAM})
    with record_calls() as calls, client(reply, metered) as http:
        url = f"{BEDROCK}/model/anthropic.claude-sonnet-4-5-20250929-v1:0/invoke-with-response-stream"
        with http.stream("POST", url, json={"max_tokens": 5, "messages": []}) as response:
            received = b"".join(response.iter_raw())

    assert received == b"".join(chunks)  # the caller gets every byte, untouched
    (record,) = calls
    assert (record.stream, record.usage, record.cost.status) == (True, None, "no_usage")


def test_an_unreadable_request_is_read_by_its_answers_content_type(metered):
    """A compressed request body is not read: the NDJSON content-type says how to read the answer."""
    lines = wire.ollama_lines(model="llama3.2", prompt_eval_count=11, eval_count=4)
    reply = fakes.Reply(chunks=lines, headers={"content-type": wire.NDJSON})
    transport = llmmeter.MeteredTransport(httpx.MockTransport(fakes.mock_handler(httpx, reply)), **metered)
    content = gzip.compress(json.dumps({"model": "llama3.2", "messages": []}).encode())
    with record_calls() as calls, httpx.Client(transport=transport) as http:
        http.post("http://127.0.0.1:11434/api/chat", content=content, headers={"content-encoding": "gzip"})

    (record,) = calls
    assert (record.request_model, record.response_model, record.usage.input_tokens) == (None, "llama3.2", 11)
    assert record.cost.status == "unknown_model"
