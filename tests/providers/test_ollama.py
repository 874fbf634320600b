"""Ollama's native API through the real ollama client (httpx) against a loopback server."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import ollama
import pytest

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans
from tests.providers import wire

MESSAGES = [{"role": "user", "content": "hi"}]


def handler(method: str, path: str, body: bytes) -> fakes.Reply:
    """Ollama's answers: NDJSON streams unless ``"stream": false``; 404 for an unknown model."""
    request = json.loads(body)
    model = request.get("model", "")
    if model == "missing":
        return fakes.Reply({"error": "model 'missing' not found"}, status=404)
    if path == "/api/embed":
        return fakes.Reply({"model": model, "embeddings": [[0.1, 0.2]], "prompt_eval_count": 7})
    if path == "/api/embeddings":
        return fakes.Reply({"embedding": [0.1, 0.2]})
    chat = path == "/api/chat"
    if request.get("stream", True):
        lines = wire.ollama_lines(model=model, prompt_eval_count=26, eval_count=12, chat=chat)
        if model == "breaks":
            lines = [*lines[:1], b'{"error":"an error was encountered while running the model"}\n']
        return fakes.Reply(chunks=lines, headers={"content-type": wire.NDJSON})
    final = wire.ollama_final(model=model, prompt_eval_count=26, eval_count=12, chat=chat, text="Hello")
    return fakes.Reply(final)


def test_chat_records_tokens_and_no_price(httpx_transport, span_exporter, caplog):
    """A local model has no price: tokens are recorded, the cost is unknown (never $0), one warning."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls, llmmeter.track() as spend:
        client = ollama.Client(host=server.url, transport=httpx_transport)
        reply = client.chat(model="llama3.2", messages=MESSAGES)

    assert reply.message.content == "Hello"
    (record,) = calls
    assert (record.provider, record.operation, record.stream) == ("ollama", "chat", False)
    assert (record.usage.input_tokens, record.usage.output_tokens) == (26, 12)
    assert (record.cost.status, record.cost.total) == ("unknown_model", None)
    assert (spend.calls, spend.input_tokens, spend.output_tokens, spend.cost_usd) == (1, 26, 12, Decimal(0))
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.name == "chat llama3.2"
    assert span.attributes["gen_ai.provider.name"] == "ollama"
    assert span.attributes["server.port"] == int(server.url.rsplit(":", 1)[1])
    assert span.attributes["llmmeter.cost.status"] == "unknown_model"
    assert "gen_ai.usage.cost.amount" not in span.attributes
    assert "llama3.2" in caplog.text


def test_hosted_model_name_is_not_priced_at_its_cloud_rate(httpx_transport):
    """``deepseek-r1`` run by Ollama is not DeepSeek's API: no genai-prices rate applies."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        ollama.Client(host=server.url, transport=httpx_transport).chat(model="deepseek-r1", messages=MESSAGES)

    (record,) = calls
    assert record.cost.status == "unknown_model"


def test_stream_counts_come_from_the_done_line(httpx_transport, span_exporter):
    """Ollama streams NDJSON; the counts, model and reason are on the final ``done`` line."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        parts = ollama.Client(host=server.url, transport=httpx_transport).chat(
            model="llama3.2", messages=MESSAGES, stream=True
        )
        text = "".join(part.message.content for part in parts)

    assert text == "Hello"
    (record,) = calls
    assert (record.ending, record.stream) == ("complete", True)
    assert (record.usage.input_tokens, record.usage.output_tokens) == (26, 12)
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.request.stream"] is True


def test_generate_streams_by_default(metered):
    """A raw ``/api/generate`` request without ``stream`` is answered as a stream, and read as one."""
    transport = llmmeter.MeteredTransport(httpx.HTTPTransport(), **metered)
    with (
        fakes.LoopbackServer(handler) as server,
        record_calls() as calls,
        httpx.Client(transport=transport) as http,
    ):
        with http.stream(
            "POST", f"{server.url}/api/generate", json={"model": "llama3.2", "prompt": "hi"}
        ) as response:
            lines = [json.loads(line) for line in response.iter_lines() if line]

    assert lines[-1]["done"] is True
    (record,) = calls
    assert (record.operation, record.stream, record.usage.output_tokens) == ("text_completion", True, 12)


def test_user_pricing_file_prices_a_local_model_and_zero_is_free(httpx_transport, tmp_path: Path):
    """A pricing file prices a local model; a price of 0 is a legitimate "free", status ok."""
    prices = tmp_path / "local.toml"
    prices.write_text(
        '[models."llama3.2"]\ninput_mtok = 0\noutput_mtok = 0\n\n'
        '[models."qwen3:32b"]\ninput_mtok = 0.20\noutput_mtok = 0.60\n'
    )
    llmmeter.configure(pricing_files=[prices])
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        client = ollama.Client(host=server.url, transport=httpx_transport)
        client.chat(model="llama3.2", messages=MESSAGES)
        client.generate(model="qwen3:32b", prompt="hi")

    free, priced = calls
    assert (free.cost.status, free.cost.total) == ("ok", Decimal(0))
    # The file's own rates: 26 input tokens at $0.20 and 12 output tokens at $0.60 per 1M.
    assert (priced.cost.status, priced.cost.total) == (
        "ok",
        (26 * Decimal("0.20") + 12 * Decimal("0.60")) / 10**6,
    )


def test_embed_is_an_embeddings_call_and_legacy_embeddings_is_recorded(httpx_transport, span_exporter):
    """``/api/embed`` reports its prompt tokens; legacy ``/api/embeddings`` reports none, and is recorded."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        client = ollama.Client(host=server.url, transport=httpx_transport)
        client.embed(model="nomic-embed-text", input="hi")
        client.embeddings(model="nomic-embed-text", prompt="hi")

    embed, legacy = calls
    assert (embed.operation, embed.usage.input_tokens) == ("embeddings", 7)
    assert (legacy.operation, legacy.usage, legacy.cost.status) == ("embeddings", None, "no_usage")
    assert len(llm_spans(span_exporter.get_finished_spans())) == 2


def test_stream_closed_early_is_recorded_once(httpx_transport):
    """A stream left after its first part: one record, closed early, with no counts yet."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        parts = ollama.Client(host=server.url, transport=httpx_transport).chat(
            model="llama3.2", messages=MESSAGES, stream=True
        )
        next(parts)
        parts.close()

    (record,) = calls
    assert (record.ending, record.usage) == ("closed_early", None)


def test_error_line_mid_stream_reaches_the_caller_and_the_span(httpx_transport, span_exporter):
    """An ``{"error": ...}`` line: the client raises its ResponseError; the record says it failed."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        parts = ollama.Client(host=server.url, transport=httpx_transport).chat(
            model="breaks", messages=MESSAGES, stream=True
        )
        with pytest.raises(ollama.ResponseError, match="error was encountered"):
            list(parts)

    (record,) = calls
    assert record.error_type == "ollama_error"


def test_unknown_model_status_keeps_the_client_error(httpx_transport, span_exporter):
    """A 404 for a model Ollama does not have: the client's ResponseError, ``error.type`` 404."""
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        with pytest.raises(ollama.ResponseError) as raised:
            ollama.Client(host=server.url, transport=httpx_transport).chat(model="missing", messages=MESSAGES)

    assert raised.value.status_code == 404
    (record,) = calls
    assert record.error_type == "404"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["error.type"] == "404"


async def test_async_client_stream_is_metered(metered):
    """ollama.AsyncClient over an AsyncMeteredTransport: the stream's counts are recorded."""
    transport = llmmeter.AsyncMeteredTransport(httpx.AsyncHTTPTransport(), **metered)
    with fakes.LoopbackServer(handler) as server, record_calls() as calls:
        client = ollama.AsyncClient(host=server.url, transport=transport)
        parts = await client.chat(model="llama3.2", messages=MESSAGES, stream=True)
        text = "".join([part.message.content async for part in parts])
        await client.close()

    assert text == "Hello"
    (record,) = calls
    assert (record.ending, record.usage.input_tokens, record.usage.output_tokens) == ("complete", 26, 12)
