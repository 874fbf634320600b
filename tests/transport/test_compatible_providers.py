"""OpenAI-compatible providers as each documents its answers, through the real openai SDK.

Each case is a body (or a stream) shaped as the provider's API reference shows it; the expected usage
and cost are worked out by hand from the provider's published prices. Sources, read for where each
puts usage, cached and reasoning tokens:

- Groq: console.groq.com/docs/api-reference (chat create): ``usage`` with timing fields in a body;
  a stream's usage in ``x_groq.usage`` of its last chunk. Prices: groq.com/pricing.
- DeepSeek: api-docs.deepseek.com/api/create-chat-completion: ``prompt_cache_hit_tokens`` and
  ``prompt_cache_miss_tokens`` (summing to ``prompt_tokens``), ``completion_tokens_details
  .reasoning_tokens`` inside ``completion_tokens``. Prices: api-docs.deepseek.com/quick_start/pricing.
- Mistral: docs.mistral.ai/api (chat completion) and its release note "Token usage information in
  streaming responses" (2024-01-16: usage in the final chunk); cached tokens in
  ``prompt_tokens_details.cached_tokens``, inside ``prompt_tokens``. Prices: mistral.ai/pricing.
- xAI: docs.x.ai "Prompt caching: usage & pricing" (``prompt_tokens_details.cached_tokens``) and
  "Consumption and rate limits": reasoning tokens are counted beside ``completion_tokens`` and in
  ``total_tokens`` (as also found in vercel/ai#12425). Prices: docs.x.ai/docs/models.
- Together: docs.together.ai/reference/chat-completions: ``usage`` with a top-level
  ``cached_tokens``; streams carry ``"usage": null`` until the final chunk. Prices: together.ai/pricing.
- Fireworks: docs.fireworks.ai/api-reference/post-chatcompletions: OpenAI's ``usage``; a stream's
  final chunk carries it. Prices: fireworks.ai/pricing.
- Voyage: docs.voyageai.com/reference/embeddings-api: ``usage`` holds only ``total_tokens``.
  Prices: docs.voyageai.com/docs/pricing.
- Writer: dev.writer.com/api-reference/completion-api/text-generation: ``/v1/completions`` answers
  ``choices`` and ``model``, without usage.
- Ollama's OpenAI endpoint: github.com/ollama/ollama docs/openai.md (``localhost:11434/v1``; usage
  in a body, and in a final ``choices: []`` chunk with ``stream_options.include_usage``).
- vLLM: docs.vllm.ai "OpenAI-compatible server": ``stream_options.continuous_usage_stats`` puts the
  cumulative usage on every chunk.
- LM Studio: lmstudio.ai/docs/app/api/endpoints/openai (``localhost:1234/v1``): OpenAI's shapes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx2
import openai
import pytest

import llmmeter
from llmmeter import ConfigurationError
from llmmeter._usage import Usage
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans, metric_total

M = Decimal(1_000_000)
MESSAGES = [{"role": "user", "content": "hi"}]


def client(base_url: str, reply: fakes.Reply, tracer_provider: Any, meter_provider: Any) -> openai.OpenAI:
    transport = llmmeter.MeteredTransport(
        httpx2.MockTransport(fakes.mock_handler(httpx2, reply)),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    return openai.OpenAI(
        api_key="test-key", base_url=base_url, http_client=httpx2.Client(transport=transport)
    )


def chat(base_url: str, model: str, reply: fakes.Reply, providers: tuple[Any, Any], **options: Any) -> Any:
    """One chat call (read to its end when streamed); returns the finished record."""
    with record_calls() as calls:
        result = client(base_url, reply, *providers).chat.completions.create(
            model=model, messages=MESSAGES, **options
        )
        if options.get("stream"):
            for _ in result:
                pass
    (record,) = calls
    return record


def chunk(model: str, *, delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> Any:
    """One chat.completion.chunk event's data."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": choices,
        **extra,
    }


def stream(*events: Any) -> fakes.Reply:
    return fakes.Reply(chunks=fakes.sse([(None, event) for event in (*events, "[DONE]")]))


def body(model: str, usage: dict[str, Any] | None, **extra: Any) -> fakes.Reply:
    answer: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        **extra,
    }
    if usage is not None:
        answer["usage"] = usage
    return fakes.Reply(answer)


# --- Groq ------------------------------------------------------------------------------------------

GROQ = "https://api.groq.com/openai/v1"
GROQ_LLAMA_IN, GROQ_LLAMA_OUT = Decimal("0.59"), Decimal("0.79")  # llama-3.3-70b-versatile, per 1M
GROQ_USAGE = {
    "queue_time": 0.0375,
    "prompt_tokens": 18,
    "prompt_time": 0.0007,
    "completion_tokens": 556,
    "completion_time": 0.4633,
    "total_tokens": 574,
    "total_time": 0.464,
}


def test_groq_body_is_priced_and_named(tracer_provider, meter_provider, span_exporter, metric_reader):
    """A Groq body is read exactly and its span and metric points say groq."""
    reply = body("llama-3.3-70b-versatile", GROQ_USAGE, x_groq={"id": "req_01"})

    record = chat(GROQ, "llama-3.3-70b-versatile", reply, (tracer_provider, meter_provider))

    assert record.usage == Usage(input_tokens=18, output_tokens=556)
    assert record.cost.total == (18 * GROQ_LLAMA_IN + 556 * GROQ_LLAMA_OUT) / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.provider.name"] == "groq"
    assert metric_total(metric_reader, "llmmeter.cost", gen_ai__provider__name="groq") == pytest.approx(
        float(record.cost.total)
    )


def test_groq_stream_takes_usage_from_x_groq(tracer_provider, meter_provider, span_exporter):
    """A Groq stream, whose usage is in ``x_groq.usage`` of its last chunk, is priced exactly."""
    model = "llama-3.3-70b-versatile"
    reply = stream(
        chunk(model, delta={"role": "assistant", "content": ""}, x_groq={"id": "req_01"}),
        *[chunk(model, delta={"content": f"w{i} "}) for i in range(20)],
        chunk(model, delta={}, finish="stop", x_groq={"id": "req_01", "usage": GROQ_USAGE}),
    )

    record = chat(GROQ, model, reply, (tracer_provider, meter_provider), stream=True)

    assert record.usage == Usage(input_tokens=18, output_tokens=556)
    assert record.cost.status == "ok"
    assert record.cost.total == (18 * GROQ_LLAMA_IN + 556 * GROQ_LLAMA_OUT) / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.usage.output_tokens"] == 556


# --- DeepSeek --------------------------------------------------------------------------------------

DEEPSEEK = "https://api.deepseek.com"
DS_CHAT_MISS, DS_CHAT_HIT, DS_CHAT_OUT = Decimal("0.27"), Decimal("0.07"), Decimal("1.10")
DS_R1_MISS, DS_R1_HIT, DS_R1_OUT = Decimal("0.55"), Decimal("0.14"), Decimal("2.19")
# Off-peak, 16:30-00:30 UTC, both models bill at these rates (the same page's discount window, as the
# price database has it): a call is priced at the rates in force when it is made.
DS_OFF_PEAK_MISS, DS_OFF_PEAK_HIT, DS_OFF_PEAK_OUT = Decimal("0.135"), Decimal("0.035"), Decimal("0.55")


def off_peak(moment: datetime) -> bool:
    """Whether DeepSeek's off-peak prices apply at ``moment``."""
    minute = moment.hour * 60 + moment.minute
    return not 30 <= minute < 16 * 60 + 30


def deepseek_rates(
    call: Callable[[], Any], peak: tuple[Decimal, Decimal, Decimal]
) -> tuple[Any, tuple[Decimal, ...]]:
    """Make ``call``; its record and the (miss, hit, output) rates in force while it was made (the
    peak ones given, or off-peak), retried once if it straddled the change of window."""
    for _ in range(2):
        before = datetime.now(UTC)
        record = call()
        if off_peak(before) == off_peak(datetime.now(UTC)):
            return record, (
                (DS_OFF_PEAK_MISS, DS_OFF_PEAK_HIT, DS_OFF_PEAK_OUT) if off_peak(before) else peak
            )
    raise AssertionError("two calls straddled DeepSeek's change of price window")


def test_deepseek_cache_hits_are_billed_at_the_hit_rate(tracer_provider, meter_provider, span_exporter):
    """DeepSeek's ``prompt_cache_hit_tokens`` are cache reads inside ``prompt_tokens``."""
    usage = {
        "prompt_tokens": 1200,
        "completion_tokens": 300,
        "total_tokens": 1500,
        "prompt_cache_hit_tokens": 1024,
        "prompt_cache_miss_tokens": 176,
    }

    record, (miss, hit, out) = deepseek_rates(
        lambda: chat(
            DEEPSEEK, "deepseek-chat", body("deepseek-chat", usage), (tracer_provider, meter_provider)
        ),
        (DS_CHAT_MISS, DS_CHAT_HIT, DS_CHAT_OUT),
    )

    assert record.usage == Usage(input_tokens=1200, output_tokens=300, cache_read_tokens=1024)
    assert record.cost.total == (176 * miss + 1024 * hit + 300 * out) / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.provider.name"] == "deepseek"
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 1024


def test_deepseek_reasoner_stream_counts_reasoning_once(tracer_provider, meter_provider):
    """deepseek-reasoner's reasoning tokens are inside ``completion_tokens``: billed once, as output."""
    model = "deepseek-reasoner"
    usage = {
        "prompt_tokens": 64,
        "completion_tokens": 900,
        "total_tokens": 964,
        "prompt_tokens_details": {"cached_tokens": 0},
        "prompt_cache_hit_tokens": 0,
        "prompt_cache_miss_tokens": 64,
        "completion_tokens_details": {"reasoning_tokens": 700},
    }
    reply = stream(
        chunk(model, delta={"role": "assistant", "content": None, "reasoning_content": ""}, usage=None),
        chunk(model, delta={"content": "ok"}, usage=None),
        chunk(model, delta={}, finish="stop", usage=None),
        chunk(model, usage=usage),
    )

    record, (miss, _, out) = deepseek_rates(
        lambda: chat(
            DEEPSEEK,
            model,
            reply,
            (tracer_provider, meter_provider),
            stream=True,
            stream_options={"include_usage": True},
        ),
        (DS_R1_MISS, DS_R1_HIT, DS_R1_OUT),
    )

    assert record.usage == Usage(input_tokens=64, output_tokens=900, reasoning_tokens=700)
    assert record.cost.total == (64 * miss + 900 * out) / M


# --- Mistral ---------------------------------------------------------------------------------------

MISTRAL = "https://api.mistral.ai/v1"
MISTRAL_SMALL_IN, MISTRAL_SMALL_CACHED, MISTRAL_SMALL_OUT = Decimal("0.15"), Decimal("0.015"), Decimal("0.60")


def test_mistral_cached_tokens_and_stream_final_chunk(tracer_provider, meter_provider, span_exporter):
    """Mistral's final stream chunk carries usage beside its finish reason; cached tokens are inside."""
    model = "mistral-small-latest"
    usage = {
        "prompt_tokens": 1013,
        "completion_tokens": 34,
        "total_tokens": 1047,
        "prompt_tokens_details": {"cached_tokens": 1008},
    }
    reply = stream(
        chunk(model, delta={"role": "assistant", "content": ""}),
        chunk(model, delta={"content": "Bonjour"}),
        chunk(model, delta={"content": ""}, finish="stop", usage=usage),
    )

    record = chat(MISTRAL, model, reply, (tracer_provider, meter_provider), stream=True)

    assert record.usage == Usage(input_tokens=1013, output_tokens=34, cache_read_tokens=1008)
    assert (
        record.cost.total == (5 * MISTRAL_SMALL_IN + 1008 * MISTRAL_SMALL_CACHED + 34 * MISTRAL_SMALL_OUT) / M
    )
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.provider.name"] == "mistral_ai"


# --- xAI -------------------------------------------------------------------------------------------

XAI = "https://api.x.ai/v1"
GROK_MINI_IN, GROK_MINI_CACHED, GROK_MINI_OUT = Decimal("0.30"), Decimal("0.075"), Decimal("0.50")
XAI_USAGE = {
    "prompt_tokens": 32,
    "completion_tokens": 9,
    "total_tokens": 135,
    "prompt_tokens_details": {"text_tokens": 32, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 6},
    "completion_tokens_details": {
        "reasoning_tokens": 94,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
    "num_sources_used": 0,
}


def test_xai_reasoning_beside_completion_is_output(tracer_provider, meter_provider, span_exporter):
    """xAI counts reasoning beside ``completion_tokens`` (and in ``total_tokens``): both are output."""
    record = chat(XAI, "grok-3-mini", body("grok-3-mini", XAI_USAGE), (tracer_provider, meter_provider))

    assert record.usage == Usage(input_tokens=32, output_tokens=103, cache_read_tokens=6, reasoning_tokens=94)
    assert record.cost.total == (26 * GROK_MINI_IN + 6 * GROK_MINI_CACHED + 103 * GROK_MINI_OUT) / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.provider.name"] == "x_ai"
    assert span.attributes["gen_ai.usage.output_tokens"] == 103
    assert span.attributes["gen_ai.usage.reasoning.output_tokens"] == 94


def test_xai_stream_usage_chunk(tracer_provider, meter_provider):
    """An xAI stream's usage chunk (``include_usage``) is read with the same rule."""
    model = "grok-3-mini"
    reply = stream(
        chunk(model, delta={"role": "assistant", "content": "ok"}),
        chunk(model, delta={}, finish="stop"),
        chunk(model, usage=XAI_USAGE),
    )

    record = chat(
        XAI,
        model,
        reply,
        (tracer_provider, meter_provider),
        stream=True,
        stream_options={"include_usage": True},
    )

    assert record.usage == Usage(input_tokens=32, output_tokens=103, cache_read_tokens=6, reasoning_tokens=94)
    assert record.cost.total == (26 * GROK_MINI_IN + 6 * GROK_MINI_CACHED + 103 * GROK_MINI_OUT) / M


# --- Together, Fireworks -----------------------------------------------------------------------------

TOGETHER_LLAMA = Decimal("0.88")  # meta-llama/Llama-3.3-70B-Instruct-Turbo, input and output per 1M
FIREWORKS_OSS_IN, FIREWORKS_OSS_CACHED, FIREWORKS_OSS_OUT = Decimal("0.15"), Decimal("0.015"), Decimal("0.60")


@pytest.mark.parametrize("base_url", ["https://api.together.xyz/v1", "https://api.together.ai/v1"])
def test_together_stream_is_priced_and_named(base_url, tracer_provider, meter_provider, span_exporter):
    """Together's hosts are ``together_ai``; the usage of its final stream chunk is read."""
    model = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    usage = {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52, "cached_tokens": 0}
    reply = stream(
        chunk(model, delta={"role": "assistant", "content": "Hi"}, usage=None),
        chunk(model, delta={"content": "!"}, usage=None),
        chunk(model, delta={"content": ""}, finish="eos", usage=usage),
    )

    record = chat(base_url, model, reply, (tracer_provider, meter_provider), stream=True)

    assert record.usage == Usage(input_tokens=40, output_tokens=12)
    assert record.cost.total == (40 + 12) * TOGETHER_LLAMA / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.provider.name"] == "together_ai"


def test_together_top_level_cached_tokens_are_cache_reads():
    """Together's top-level ``usage.cached_tokens`` are the cached part of ``prompt_tokens``."""
    from llmmeter._usage import from_openai_chat

    usage = from_openai_chat({"prompt_tokens": 40, "completion_tokens": 12, "cached_tokens": 32})

    assert usage == Usage(input_tokens=40, output_tokens=12, cache_read_tokens=32)


def test_fireworks_body_and_stream(tracer_provider, meter_provider, span_exporter):
    """Fireworks' body and stream are priced at its own rates and named ``fireworks_ai``."""
    base_url, model = "https://api.fireworks.ai/inference/v1", "accounts/fireworks/models/gpt-oss-120b"
    usage = {
        "prompt_tokens": 2000,
        "total_tokens": 2100,
        "completion_tokens": 100,
        "prompt_tokens_details": {"cached_tokens": 1500},
    }
    expected = (500 * FIREWORKS_OSS_IN + 1500 * FIREWORKS_OSS_CACHED + 100 * FIREWORKS_OSS_OUT) / M
    streamed = stream(
        chunk(model, delta={"role": "assistant", "content": "x"}, usage=None),
        chunk(model, delta={}, finish="stop", usage=usage),
    )

    plain = chat(base_url, model, body(model, usage), (tracer_provider, meter_provider))
    streamed_record = chat(base_url, model, streamed, (tracer_provider, meter_provider), stream=True)

    for record in (plain, streamed_record):
        assert record.usage == Usage(input_tokens=2000, output_tokens=100, cache_read_tokens=1500)
        assert record.cost.total == expected
    assert {span.attributes["gen_ai.provider.name"] for span in span_exporter.get_finished_spans()} == {
        "fireworks_ai"
    }


# --- Voyage, Writer ----------------------------------------------------------------------------------

VOYAGE_35 = Decimal("0.06")  # voyage-3.5, per 1M tokens


def test_voyage_embeddings_total_tokens_are_input(
    tracer_provider, meter_provider, span_exporter, metric_reader
):
    """Voyage reports only ``usage.total_tokens``: for embeddings that is the input, priced as such."""
    reply = fakes.Reply(
        {
            "object": "list",
            "model": "voyage-3.5",
            "usage": {"total_tokens": 10},
            "data": [{"object": "embedding", "embedding": [0.1, 0.2], "index": 0}],
        }
    )

    with record_calls() as calls:
        client("https://api.voyageai.com/v1", reply, tracer_provider, meter_provider).embeddings.create(
            model="voyage-3.5", input=["hello"]
        )

    (record,) = calls
    assert record.usage == Usage(input_tokens=10)
    assert record.cost.total == 10 * VOYAGE_35 / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.provider.name"] == "voyage_ai"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert metric_total(metric_reader, "llmmeter.tokens", gen_ai__provider__name="voyage_ai") == 10


def test_writer_completion_is_writer_not_openai(tracer_provider, meter_provider, span_exporter):
    """Writer's ``/v1/completions`` is recorded as Writer's; its body has no usage, so no cost is invented."""
    reply = fakes.Reply(
        {"choices": [{"text": "Hello", "log_probs": None}], "model": "palmyra-x-003-instruct"}
    )

    with record_calls() as calls:
        client("https://api.writer.com/v1", reply, tracer_provider, meter_provider).completions.create(
            model="palmyra-x-003-instruct", prompt="Say hello"
        )

    (record,) = calls
    assert record.provider == "writer"
    assert record.cost.status == "no_usage"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.provider.name"] == "writer"
    assert span.attributes["gen_ai.operation.name"] == "text_completion"


# --- local servers: Ollama, LM Studio, vLLM --------------------------------------------------------


def test_ollama_openai_endpoint_is_ollama(tracer_provider, meter_provider, span_exporter, metric_reader):
    """Ollama's OpenAI endpoint (port 11434) is ``ollama``; models unpriced unless the user prices them."""
    model = "llama3.2"
    reply = stream(
        chunk(model, delta={"role": "assistant", "content": "Hi"}, system_fingerprint="fp_ollama"),
        chunk(
            model, delta={"role": "assistant", "content": ""}, finish="stop", system_fingerprint="fp_ollama"
        ),
        chunk(model, usage={"prompt_tokens": 26, "completion_tokens": 5, "total_tokens": 31}),
    )
    providers = (tracer_provider, meter_provider)

    unpriced = chat(
        "http://localhost:11434/v1",
        model,
        reply,
        providers,
        stream=True,
        stream_options={"include_usage": True},
    )
    llmmeter.configure(pricing_overrides={"llama3.2": {"input_mtok": 0, "output_mtok": 0}})
    free = chat(
        "http://ollama:11434/v1",
        model,
        body(model, {"prompt_tokens": 26, "completion_tokens": 5, "total_tokens": 31}),
        providers,
    )

    assert unpriced.usage == free.usage == Usage(input_tokens=26, output_tokens=5)
    assert unpriced.cost.status == "unknown_model"
    assert free.cost.total == Decimal(0)
    assert free.cost.status == "ok"
    assert {span.attributes["gen_ai.provider.name"] for span in span_exporter.get_finished_spans()} == {
        "ollama"
    }
    assert metric_total(metric_reader, "llmmeter.tokens", gen_ai__provider__name="ollama") == 2 * 31


def test_lm_studio_on_this_machine_is_lm_studio(tracer_provider, meter_provider):
    """LM Studio's local port (1234) is ``lm_studio``; the same port on another host stays ``openai``."""
    usage = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    reply = body("qwen2.5-7b-instruct", usage, stats={}, system_fingerprint="qwen2.5-7b-instruct")
    providers = (tracer_provider, meter_provider)

    local = chat("http://localhost:1234/v1", "qwen2.5-7b-instruct", reply, providers)
    remote = chat("http://gpu-box.lan:1234/v1", "qwen2.5-7b-instruct", reply, providers)

    assert (local.provider, remote.provider) == ("lm_studio", "openai")
    assert local.usage == Usage(input_tokens=12, output_tokens=3)


def test_vllm_host_named_by_configure_with_continuous_usage(tracer_provider, meter_provider, span_exporter):
    """A host named in ``provider_hosts`` is that provider; vLLM's per-chunk cumulative usage counts once."""
    llmmeter.configure(
        provider_hosts={"llm.internal:8000": "vllm"},
        pricing_overrides={"meta-llama/Llama-3.1-8B-Instruct": {"input_mtok": 0.02, "output_mtok": 0.05}},
    )
    model = "meta-llama/Llama-3.1-8B-Instruct"
    reply = stream(
        *[
            chunk(
                model,
                delta={"content": f"w{i}"},
                finish="stop" if i == 4 else None,
                usage={"prompt_tokens": 30, "completion_tokens": i + 1, "total_tokens": 31 + i},
            )
            for i in range(5)
        ]
    )

    record = chat(
        "http://llm.internal:8000/v1",
        model,
        reply,
        (tracer_provider, meter_provider),
        stream=True,
        stream_options={"include_usage": True, "continuous_usage_stats": True},
    )

    assert record.provider == "vllm"
    assert record.usage == Usage(input_tokens=30, output_tokens=5)
    assert record.cost.total == (30 * Decimal("0.02") + 5 * Decimal("0.05")) / M
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.provider.name"] == "vllm"


def test_provider_hosts_change_takes_effect_and_unknown_host_keeps_openai(tracer_provider, meter_provider):
    """A new ``provider_hosts`` applies to the next call; hosts it does not name stay ``openai``."""
    reply = body("m", {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
    providers = (tracer_provider, meter_provider)

    before = chat("http://proxy.corp/v1", "m", reply, providers)
    llmmeter.configure(provider_hosts={"proxy.corp": "litellm"})
    after = chat("http://proxy.corp/v1", "m", reply, providers)
    other = chat("http://other.corp/v1", "m", reply, providers)
    llmmeter.configure(provider_hosts={})
    reset = chat("http://proxy.corp/v1", "m", reply, providers)

    assert [r.provider for r in (before, after, other, reset)] == ["openai", "litellm", "openai", "openai"]


def test_provider_hosts_from_environment(monkeypatch, caplog):
    """``LLMMETER_PROVIDER_HOSTS`` holds ``host[:port]=provider`` entries; a bad one is named and ignored."""
    from llmmeter._settings import Settings

    monkeypatch.setenv("LLMMETER_PROVIDER_HOSTS", "llm.internal:8000=vllm, GW.corp=OpenRouter")
    assert Settings().provider_hosts == {"llm.internal:8000": "vllm", "gw.corp": "openrouter"}

    for value, named in [
        ("llm.internal:8000=vllm,https://gw.corp/v1=x", "entry 'https://gw.corp/v1'"),
        ("llm.internal", "entry 'llm.internal' is not host[:port]=provider"),
    ]:
        monkeypatch.setenv("LLMMETER_PROVIDER_HOSTS", value)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="llmmeter"):
            assert Settings().provider_hosts == {}
        (warning,) = [r.getMessage() for r in caplog.records]
        assert "LLMMETER_PROVIDER_HOSTS" in warning
        assert named in warning


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        ({"llm.internal/v1": "vllm"}, r"entry 'llm.internal/v1' is not a host name"),
        ({"llm.internal": "Not A Name!"}, r"entry 'llm.internal' names the provider 'Not A Name!'"),
        ({"llm.internal": 3}, r"entry 'llm.internal' names the provider 3"),
        (["llm.internal"], r"takes \{'host\[:port\]': 'provider name'\}"),
    ],
)
def test_configure_provider_hosts_rejects_bad_entries(hosts, message):
    """A malformed ``provider_hosts`` fails at configure time, naming the entry."""
    with pytest.raises(ConfigurationError, match=message):
        llmmeter.configure(provider_hosts=hosts)


# --- a dated snapshot in the response ---------------------------------------------------------------

DAVINCI_002 = Decimal("2.00")  # davinci-002, input and output per 1M (platform.openai.com/docs/pricing)


def test_snapshot_response_model_is_priced_as_requested_and_says_so(
    tracer_provider, meter_provider, span_exporter
):
    """An unknown response model (a snapshot name) is priced as the requested one: estimated, with why."""
    reply = fakes.Reply(
        {
            "id": "cmpl-1",
            "object": "text_completion",
            "created": 1,
            "model": "davinci:2023-07-21-v2",
            "choices": [{"text": "ok", "index": 0, "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
        }
    )

    with record_calls() as calls:
        client("https://api.openai.com/v1", reply, tracer_provider, meter_provider).completions.create(
            model="davinci-002", prompt="x"
        )

    (record,) = calls
    assert record.cost.total == (1000 + 100) * DAVINCI_002 / M
    assert record.cost.status == "estimated"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["llmmeter.cost.status"] == "estimated"
    assert span.attributes["llmmeter.pricing.model"] == "davinci-002"
    assert "davinci:2023-07-21-v2" in span.attributes["llmmeter.cost.reason"]
    assert "davinci-002" in span.attributes["llmmeter.cost.reason"]


def test_unknown_fine_tuned_response_model_is_never_priced_as_its_base(tracer_provider, meter_provider):
    """A fine-tuned response model without a price stays unknown: its base model's rates are not its own."""
    reply = body(
        "ft:davinci-002:acme::abc123", {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}
    )

    record = chat("https://api.openai.com/v1", "davinci-002", reply, (tracer_provider, meter_provider))

    assert record.cost.status == "unknown_model"
    assert record.cost.total is None
