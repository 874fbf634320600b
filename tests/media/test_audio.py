"""The Audio API through the real openai SDK: transcriptions, translations and speech.

Rates from OpenAI's API pricing page (platform.openai.com/docs/pricing, "Transcription and speech
generation"; the token rates are also genai-prices 0.2.3's):
  gpt-4o-transcribe       text input $2.50, audio input $6.00, text output $10.00 per 1M tokens
  gpt-4o-mini-transcribe  text input $1.25, audio input $3.00, text output $5.00 per 1M tokens
  whisper-1               $0.006 per minute of audio (genai-prices: $0.36 per hour)
  gpt-4o-mini-tts         text input $0.60, audio output $12.00 per 1M tokens
  tts-1, tts-1-hd         $15.00 and $30.00 per 1M characters of input
"""

from __future__ import annotations

import base64
import io
import wave
from decimal import Decimal

import pytest

from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans

M = Decimal(1_000_000)
WHISPER_PER_MINUTE = Decimal("0.006")


def wav(seconds: float, rate: int = 16_000) -> bytes:
    """A silent mono 16-bit WAV file of ``seconds``."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


def token_usage(text: int, audio: int, output: int) -> dict:
    return {
        "type": "tokens",
        "input_tokens": text + audio,
        "input_token_details": {"text_tokens": text, "audio_tokens": audio},
        "output_tokens": output,
        "total_tokens": text + audio + output,
    }


def test_token_billed_transcription_prices_audio_and_text_apart(server, make_client, span_exporter):
    """gpt-4o-transcribe: audio input, text input and text output tokens each at their rate."""
    server.reply = fakes.Reply({"text": "hello there", "usage": token_usage(100, 1_400, 300)})
    client = make_client()

    with record_calls() as calls:
        result = client.audio.transcriptions.create(
            model="gpt-4o-transcribe", file=("talk.mp3", b"ID3" + b"\x00" * 40_000, "audio/mpeg")
        )

    assert result.text == "hello there"
    expected = (100 * Decimal("2.50") + 1_400 * Decimal("6.00") + 300 * Decimal("10.00")) / M
    assert calls[0].cost.total == expected
    assert calls[0].cost.status == "ok"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.name == "generate_content gpt-4o-transcribe"
    assert span.attributes["gen_ai.output.type"] == "text"
    assert span.attributes["gen_ai.usage.input_tokens"] == 1_500


def test_duration_billed_transcription_is_priced_by_the_reported_seconds(server, make_client, span_exporter):
    """whisper-1 reporting ``usage: {type: duration, seconds: 90}`` costs 1.5 minutes at $0.006."""
    server.reply = fakes.Reply({"text": "hi", "usage": {"type": "duration", "seconds": 90}})
    client = make_client()

    with record_calls() as calls:
        client.audio.transcriptions.create(model="whisper-1", file=("a.mp3", b"ID3audio", "audio/mpeg"))

    assert calls[0].cost.total == 90 * WHISPER_PER_MINUTE / 60
    assert calls[0].cost.status == "ok"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["llmmeter.usage.seconds"] == 90


def test_verbose_json_duration_prices_a_translation(server, make_client):
    """A whisper-1 translation in verbose_json is priced by its ``duration``."""
    server.reply = fakes.Reply({"text": "hi", "language": "english", "duration": 61.5, "segments": []})
    client = make_client()

    with record_calls() as calls, pytest.warns(DeprecationWarning, match="deprecated"):
        client.audio.translations.create(
            model="whisper-1", file=("a.mp3", b"ID3audio", "audio/mpeg"), response_format="verbose_json"
        )

    assert calls[0].cost.total == Decimal("61.5") * WHISPER_PER_MINUTE / 60
    assert calls[0].cost.status == "ok"


def test_unreported_duration_of_a_wav_upload_is_estimated(server, make_client):
    """A text-format answer reports nothing: a WAV upload's duration is read from its header, estimated."""
    server.reply = fakes.Reply(chunks=[b"hello there\n"], headers={"content-type": "text/plain"})
    client = make_client()

    with record_calls() as calls:
        text = client.audio.transcriptions.create(
            model="whisper-1", file=("a.wav", wav(2.5), "audio/wav"), response_format="text"
        )

    assert text == "hello there\n"
    assert calls[0].cost.total == Decimal("2.5") * WHISPER_PER_MINUTE / 60
    assert calls[0].cost.status == "estimated"


def test_unreported_duration_of_another_upload_is_recorded_without_usage(server, make_client):
    """An mp3 upload answered in text format: no duration is known, so no cost (never $0)."""
    server.reply = fakes.Reply(chunks=[b"hello"], headers={"content-type": "text/plain"})
    client = make_client()

    with record_calls() as calls:
        client.audio.transcriptions.create(
            model="whisper-1", file=("a.mp3", b"ID3" + b"\x01" * 999, "audio/mpeg"), response_format="text"
        )

    assert calls[0].cost.total is None
    assert calls[0].cost.status == "no_usage"


def test_streamed_transcription_is_priced_from_its_done_event(server, make_client):
    """stream=true: deltas pass through; ``transcript.text.done`` carries the usage."""
    events = [
        ("transcript.text.delta", {"type": "transcript.text.delta", "delta": "hel"}),
        ("transcript.text.delta", {"type": "transcript.text.delta", "delta": "lo"}),
        (
            "transcript.text.done",
            {"type": "transcript.text.done", "text": "hello", "usage": token_usage(5, 800, 40)},
        ),
    ]
    server.reply = fakes.Reply(chunks=fakes.sse(events))
    client = make_client()

    with record_calls() as calls:
        stream = client.audio.transcriptions.create(
            model="gpt-4o-mini-transcribe", file=("a.wav", wav(1.0), "audio/wav"), stream=True
        )
        deltas = [event.delta for event in stream if event.type == "transcript.text.delta"]

    assert deltas == ["hel", "lo"]
    expected = (5 * Decimal("1.25") + 800 * Decimal("3.00") + 40 * Decimal("5.00")) / M
    assert calls[0].cost.total == expected
    assert calls[0].cost.status == "ok"
    assert calls[0].stream


async def test_async_transcription_is_metered(server, make_client):
    """AsyncOpenAI transcriptions are priced the same way."""
    server.reply = fakes.Reply({"text": "hi", "usage": token_usage(0, 1_000, 10)})
    client = make_client(asynchronous=True)

    with record_calls() as calls:
        await client.audio.transcriptions.create(
            model="gpt-4o-transcribe", file=("a.wav", wav(0.5), "audio/wav")
        )
    await client.close()

    assert calls[0].cost.total == (1_000 * Decimal("6.00") + 10 * Decimal("10.00")) / M


@pytest.mark.parametrize(("model", "rate"), [("tts-1", Decimal("15.00")), ("tts-1-hd", Decimal("30.00"))])
def test_speech_is_priced_by_input_characters_and_its_audio_is_untouched(
    server, make_client, span_exporter, model, rate
):
    """tts-1 / tts-1-hd bill the input's characters; the audio bytes reach the caller as sent."""
    audio = b"ID3" + bytes(range(256)) * 2_000
    server.reply = fakes.Reply(
        chunks=[audio[:100_000], audio[100_000:]], headers={"content-type": "audio/mpeg"}
    )
    client = make_client()
    text = "Bonjour à tous, " * 40

    with record_calls() as calls:
        response = client.audio.speech.create(model=model, voice="alloy", input=text)
        content = response.read()

    assert content == audio
    assert calls[0].usage is not None
    assert calls[0].usage.characters == len(text) == 640
    assert calls[0].cost.total == len(text) * rate / M
    assert dict(calls[0].cost.components) == {"characters": len(text) * rate / M}
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.output.type"] == "speech"
    assert span.attributes["llmmeter.usage.characters"] == 640


def test_streamed_speech_is_priced_by_its_reported_tokens(server, make_client):
    """gpt-4o-mini-tts with stream_format=sse: ``speech.audio.done`` reports text in, audio out."""
    chunk = base64.b64encode(b"\x00" * 30_000).decode()
    events = [
        ("speech.audio.delta", {"type": "speech.audio.delta", "audio": chunk}),
        ("speech.audio.delta", {"type": "speech.audio.delta", "audio": chunk}),
        (
            "speech.audio.done",
            {
                "type": "speech.audio.done",
                "usage": {"input_tokens": 20, "output_tokens": 600, "total_tokens": 620},
            },
        ),
    ]
    server.reply = fakes.Reply(chunks=fakes.sse(events))
    client = make_client()

    with record_calls() as calls:
        with client.audio.speech.with_streaming_response.create(
            model="gpt-4o-mini-tts", voice="alloy", input="Hello there", stream_format="sse"
        ) as response:
            lines = [line for line in response.iter_lines() if line.startswith("event:")]

    assert len(lines) == 3
    assert calls[0].stream
    assert calls[0].cost.total == (20 * Decimal("0.60") + 600 * Decimal("12.00")) / M
    assert calls[0].cost.status == "ok"


def test_token_billed_speech_without_usage_is_not_priced(server, make_client):
    """gpt-4o-mini-tts answered with plain audio reports no tokens: recorded with no cost, never $0."""
    server.reply = fakes.Reply(chunks=[b"ID3audio"], headers={"content-type": "audio/mpeg"})
    client = make_client()

    with record_calls() as calls:
        client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="Hello").read()

    assert calls[0].cost.total is None
    assert calls[0].cost.status == "no_usage"


def test_malformed_transcription_usage_passes_through(server, make_client):
    """A usage of the wrong shape is not priced, and the SDK still gets the body as sent."""
    server.reply = fakes.Reply({"text": "hi", "usage": {"type": "duration", "seconds": -3}})
    client = make_client()

    with record_calls() as calls:
        result = client.audio.transcriptions.create(model="whisper-1", file=("a.mp3", b"ID3", "audio/mpeg"))

    assert result.text == "hi"
    assert calls[0].cost.total is None
    assert calls[0].cost.status == "invalid_usage"
