"""OpenAI's Audio API: transcriptions and translations (multipart uploads), and speech (JSON in,
audio out).

Transcriptions report what they bill in ``usage``: ``{"type": "tokens", "input_tokens",
"input_token_details": {"audio_tokens", "text_tokens"}, "output_tokens"}`` for token-billed models
(gpt-4o-transcribe, gpt-4o-mini-transcribe), ``{"type": "duration", "seconds"}`` for models billed by
time (whisper-1); ``verbose_json`` also carries ``duration``. When the response reports neither
(``text``, ``srt`` and ``vtt`` formats are not JSON), an uploaded WAV's duration is read from its
header and priced as an estimate; other uploads are recorded without usage. Streamed
(``stream=true``), ``transcript.text.done`` carries the usage; deltas are not parsed.

Speech returns audio bytes, which are never kept nor parsed. tts-1 and tts-1-hd bill the input's
characters, known from the request. Token-billed speech models (gpt-4o-mini-tts) report usage only
in the ``stream_format="sse"`` form (``speech.audio.done``: text input tokens, audio output tokens,
priced at the model's output rate, which is its audio rate); their non-streamed calls report none,
and since their audio tokens depend on the speech generated, they are recorded without usage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmmeter._providers._base import RequestInfo, ResponseInfo, UploadedFile, get_str, is_object
from llmmeter._providers._media import event_error_type, event_type, field_bool, payload_of
from llmmeter._providers._messages import prompt_messages, text_output
from llmmeter._telemetry import _names as n
from llmmeter._usage import Usage, checked_usage, count, get

__all__ = ["SPEECH", "TRANSCRIPTIONS", "from_openai_audio", "wav_seconds"]

_CHARACTER_BILLED_PREFIXES = ("tts-1",)
"""Speech models billed per character of input (tts-1, tts-1-hd and their snapshots)."""


@checked_usage
def from_openai_audio(usage: Any) -> Usage:
    """Convert an Audio API ``usage``: tokens (with audio and text input details) or duration."""
    if get(usage, "type") == "duration":
        seconds = _seconds(get(usage, "seconds"))
        return Usage(invalid="seconds") if seconds is None else Usage(seconds=seconds)
    details = get(usage, "input_token_details") or get(usage, "input_tokens_details")
    output_details = get(usage, "output_token_details") or get(usage, "output_tokens_details")
    return Usage(
        input_tokens=count(usage, "input_tokens"),
        input_audio_tokens=count(details, "audio_tokens"),
        output_tokens=count(usage, "output_tokens"),
        output_audio_tokens=count(output_details, "audio_tokens"),
    )


def _seconds(value: Any) -> float | None:
    """A duration in seconds; 0 when absent, None when it cannot be one (negative, NaN, huge)."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if 0 <= value < 1e9 else None


def wav_seconds(upload: UploadedFile) -> float | None:
    """The duration of an uploaded WAV file, from its header and size; None for any other file."""
    head = upload.head
    if upload.size is None or len(head) < 44 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    byte_rate = 0
    data_size: int | None = None
    offset = 12
    while offset + 8 <= len(head):
        chunk, size = head[offset : offset + 4], int.from_bytes(head[offset + 4 : offset + 8], "little")
        if chunk == b"fmt " and offset + 20 <= len(head):
            byte_rate = int.from_bytes(head[offset + 16 : offset + 20], "little")
        elif chunk == b"data":
            data_size = min(size, upload.size - offset - 8)
            break
        offset += 8 + size + (size & 1)
    if not byte_rate or data_size is None or data_size <= 0:
        return None
    return round(data_size / byte_rate, 3)


def _reported_usage(body: Any) -> Usage | None:
    if not is_object(body):
        return None
    usage = body.get("usage")
    if is_object(usage):
        return from_openai_audio(usage)
    seconds = _seconds(body.get("duration"))  # verbose_json, of models billed by time
    return Usage(seconds=seconds) if seconds else None


class _TranscriptStream:
    """Transcript events: the usage of ``transcript.text.done``; deltas are passed over unparsed."""

    __slots__ = ("_capture", "_result", "_text")

    def __init__(self, capture_content: bool) -> None:
        self._capture = capture_content
        self._result = ResponseInfo(complete=False)
        self._text: str | None = None

    def skips(self, events: bytes) -> bool:
        """Whether ``events`` holds text deltas only."""
        return (
            not self._capture
            and events.startswith(b"event: transcript.text.delta\n")
            and events.count(b"event: ") == events.count(b"event: transcript.text.delta\n")
        )

    def record_event(self, event: str, data: str) -> None:
        kind = event_type(event, data)
        if kind == "transcript.text.done":
            payload = payload_of(data)
            if payload is None:
                return
            self._result.usage = _reported_usage(payload)
            self._result.complete = True
            self._text = get_str(payload, "text")
        elif kind == "error":
            self._result.error_type = event_error_type(data)

    def result(self) -> ResponseInfo:
        if self._capture and self._text is not None:
            self._result.output_messages = text_output(self._text)
        return self._result


class TranscriptionsAdapter:
    """``/audio/transcriptions`` and ``/audio/translations``."""

    reads_forms = True

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        request.model = get_str(body, "model") or request.model
        request.stream = field_bool(body, "stream")
        request.params[n.OUTPUT_TYPE] = n.OUTPUT_TYPE_TEXT
        response_format = get_str(body, "response_format")
        if response_format is not None:
            request.params[n.REQUEST_AUDIO_FORMAT] = response_format
        upload = body.get("file")
        if isinstance(upload, UploadedFile):
            seconds = wav_seconds(upload)
            if seconds:
                request.expected_usage = Usage(seconds=seconds)
        if capture_content:
            request.input_messages = prompt_messages(get_str(body, "prompt"))

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = ResponseInfo(usage=_reported_usage(body))
        if result.usage is None and request.expected_usage is not None:
            result.usage, result.estimated = request.expected_usage, True
        if capture_content:
            text = get_str(body, "text") if is_object(body) else None
            if text is not None:
                result.output_messages = text_output(text)
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _TranscriptStream:
        return _TranscriptStream(capture_content)


class _SpeechStream:
    """Speech events: the usage of ``speech.audio.done``; audio deltas are passed over unparsed."""

    __slots__ = ("_result",)

    def __init__(self) -> None:
        self._result = ResponseInfo(complete=False)

    def skips(self, events: bytes) -> bool:
        """Whether ``events`` holds audio deltas only."""
        return events.startswith(b"event: speech.audio.delta\n") and events.count(b"event: ") == 1

    def ignores(self, event: str) -> bool:
        """Audio deltas are never read."""
        return event == "speech.audio.delta"

    def record_event(self, event: str, data: str) -> None:
        kind = event_type(event, data)
        if kind == "speech.audio.done":
            payload = payload_of(data)
            if payload is None:
                return
            usage = payload.get("usage")
            self._result.usage = from_openai_audio(usage) if is_object(usage) else None
            self._result.complete = True
        elif kind == "error":
            self._result.error_type = event_error_type(data)

    def result(self) -> ResponseInfo:
        return self._result


class SpeechAdapter:
    """``/audio/speech``: its non-streamed body is audio, never read."""

    reads_body = False

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        request.model = get_str(body, "model") or request.model
        request.stream = body.get("stream_format") == "sse"
        request.params[n.OUTPUT_TYPE] = n.OUTPUT_TYPE_SPEECH
        audio_format = get_str(body, "response_format")
        if audio_format is not None:
            request.params[n.REQUEST_AUDIO_FORMAT] = audio_format
        text = body.get("input")
        model = (request.model or "").lower()
        if isinstance(text, str) and model.startswith(_CHARACTER_BILLED_PREFIXES):
            request.expected_usage = Usage(characters=len(text))
        if capture_content and isinstance(text, str):
            request.input_messages = prompt_messages(text)

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        return ResponseInfo(usage=request.expected_usage)

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _SpeechStream:
        return _SpeechStream()


TRANSCRIPTIONS = TranscriptionsAdapter()
SPEECH = SpeechAdapter()
