"""The wire formats of the native provider APIs, written by the tests: AWS event-stream messages
(Bedrock), Bedrock's chunk events, Ollama's NDJSON lines, and Gemini's and Cohere's bodies and
streams, for loopback servers and parsers."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

from tests import fakes

EVENT_STREAM = "application/vnd.amazon.eventstream"
NDJSON = "application/x-ndjson"


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude, CRC, string headers, payload, message CRC."""
    raw_headers = b""
    for name, value in headers.items():
        encoded_name, encoded_value = name.encode(), value.encode()
        raw_headers += bytes([len(encoded_name)]) + encoded_name + b"\x07"
        raw_headers += struct.pack(">H", len(encoded_value)) + encoded_value
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def chunk(event: dict[str, Any]) -> bytes:
    """A Bedrock ``chunk`` event carrying one Anthropic stream event, base64-encoded."""
    inner = base64.b64encode(json.dumps(event, separators=(",", ":")).encode()).decode()
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    return message(headers, json.dumps({"bytes": inner}).encode())


def exception(kind: str, text: str) -> bytes:
    """A Bedrock stream exception message (``throttlingException``...)."""
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return message(headers, json.dumps({"message": text}).encode())


def anthropic_events(
    *, model: str, input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0
) -> list[dict[str, Any]]:
    """The events of a streamed Anthropic message, as Bedrock and Vertex carry them."""
    start = fakes.anthropic_message(
        model=model,
        input_tokens=input_tokens,
        output_tokens=1,
        cache_read=cache_read,
        cache_write=cache_write,
    )
    start["content"], start["stop_reason"] = [], None
    return [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": input_tokens,
                "outputTokenCount": output_tokens,
                "invocationLatency": 410,
                "firstByteLatency": 120,
            },
        },
    ]


def bedrock_stream(**kwargs: Any) -> list[bytes]:
    """An InvokeModel response stream: one event-stream message per Anthropic event."""
    return [chunk(event) for event in anthropic_events(**kwargs)]


def sse_stream(events: list[dict[str, Any]]) -> list[bytes]:
    """Anthropic's events as server-sent events (Vertex's streamRawPredict)."""
    return fakes.sse([(event["type"], event) for event in events])


def ollama_lines(
    *,
    model: str,
    prompt_eval_count: int,
    eval_count: int,
    chat: bool = True,
    words: tuple[str, ...] = ("Hel", "lo"),
) -> list[bytes]:
    """An Ollama stream: one JSON line per delta, then the final ``done`` line with the counts."""
    lines = []
    for word in words:
        body: dict[str, Any] = {"model": model, "created_at": "2026-12-07T12:00:00Z", "done": False}
        if chat:
            body["message"] = {"role": "assistant", "content": word}
        else:
            body["response"] = word
        lines.append(json.dumps(body, separators=(",", ":")).encode() + b"\n")
    lines.append(
        json.dumps(
            ollama_final(model=model, prompt_eval_count=prompt_eval_count, eval_count=eval_count, chat=chat),
            separators=(",", ":"),
        ).encode()
        + b"\n"
    )
    return lines


def ollama_final(
    *, model: str, prompt_eval_count: int, eval_count: int, chat: bool = True, text: str = ""
) -> dict[str, Any]:
    """The last line of an Ollama stream (or its whole body with ``"stream": false``)."""
    body: dict[str, Any] = {
        "model": model,
        "created_at": "2026-12-07T12:00:01Z",
        "done": True,
        "done_reason": "stop",
        "total_duration": 5_000_000,
        "load_duration": 1_000_000,
        "prompt_eval_count": prompt_eval_count,
        "prompt_eval_duration": 1_000_000,
        "eval_count": eval_count,
        "eval_duration": 2_000_000,
    }
    if chat:
        body["message"] = {"role": "assistant", "content": text}
    else:
        body["response"] = text
    return body


def gemini_usage(
    *,
    prompt: int = 12,
    candidates: int = 7,
    cached: int = 0,
    thoughts: int = 0,
    tool_prompt: int = 0,
    audio: int = 0,
    cached_audio: int = 0,
) -> dict[str, Any]:
    """A ``usageMetadata`` object: ``prompt`` includes ``cached``; ``audio`` is part of ``prompt``."""
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts + tool_prompt,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt - audio}],
    }
    if audio:
        usage["promptTokensDetails"].append({"modality": "AUDIO", "tokenCount": audio})
    if cached:
        usage["cachedContentTokenCount"] = cached
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached - cached_audio}]
        if cached_audio:
            usage["cacheTokensDetails"].append({"modality": "AUDIO", "tokenCount": cached_audio})
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if tool_prompt:
        usage["toolUsePromptTokenCount"] = tool_prompt
    return usage


def gemini_response(
    text: str = "Hello from Gemini",
    *,
    model: str = "gemini-2.5-flash",
    finish_reason: str | None = "STOP",
    response_id: str = "resp-gem-1",
    **usage: int,
) -> dict[str, Any]:
    """A ``GenerateContentResponse``."""
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish_reason is not None:
        candidate["finishReason"] = finish_reason
    return {
        "candidates": [candidate],
        "usageMetadata": gemini_usage(**usage),
        "modelVersion": model,
        "responseId": response_id,
    }


def gemini_stream(
    pieces: tuple[str, ...] = ("Hel", "lo", "!"), *, model: str = "gemini-2.5-flash", **usage: int
) -> list[bytes]:
    """``:streamGenerateContent?alt=sse`` chunks: each carries the usage so far (the output count
    grows), the last one the finish reason and the final usage. Events end in ``\\r\\n\\r\\n``."""
    chunks = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        so_far = usage if last else {**usage, "candidates": i + 1}
        body = gemini_response(piece, model=model, finish_reason="STOP" if last else None, **so_far)
        chunks.append(b"data: " + json.dumps(body).encode() + b"\r\n\r\n")
    return chunks


def gemini_embeddings(*, vectors: int = 2, prompt: int | None = None) -> dict[str, Any]:
    """A ``:batchEmbedContents`` answer; with ``prompt``, a ``usageMetadata`` as Vertex AI reports."""
    body: dict[str, Any] = {"embeddings": [{"values": [0.1, 0.2, 0.3]} for _ in range(vectors)]}
    if prompt is not None:
        body["usageMetadata"] = {"promptTokenCount": prompt}
    return body


def gemini_error(code: int, status: str, message: str = "quota exceeded") -> fakes.Reply:
    """An error answer as Google APIs send it."""
    return fakes.Reply({"error": {"code": code, "message": message, "status": status}}, status=code)


def cohere_chat(
    text: str = "Hello from Command",
    *,
    billed_in: int = 20,
    billed_out: int = 9,
    tokens_in: int = 80,
    tokens_out: int = 12,
    finish_reason: str = "COMPLETE",
) -> dict[str, Any]:
    """A ``/v2/chat`` answer: ``tokens`` (processed) exceed ``billed_units``."""
    return {
        "id": "cohere-chat-1",
        "finish_reason": finish_reason,
        "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
        "usage": {
            "billed_units": {"input_tokens": billed_in, "output_tokens": billed_out},
            "tokens": {"input_tokens": tokens_in, "output_tokens": tokens_out},
        },
    }


def cohere_stream(pieces: tuple[str, ...] = ("Hel", "lo"), **kwargs: Any) -> list[bytes]:
    """A ``/v2/chat`` stream: ``message-start``, content events, ``message-end`` with the usage."""
    whole = cohere_chat("".join(pieces), **kwargs)
    events: list[tuple[str | None, Any]] = [
        (
            "message-start",
            {"type": "message-start", "id": whole["id"], "delta": {"message": {"role": "assistant"}}},
        ),
        (
            "content-start",
            {
                "type": "content-start",
                "index": 0,
                "delta": {"message": {"content": {"type": "text", "text": ""}}},
            },
        ),
    ]
    for piece in pieces:
        events.append(
            (
                "content-delta",
                {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": piece}}}},
            )
        )
    events.append(("content-end", {"type": "content-end", "index": 0}))
    end = {"finish_reason": whole["finish_reason"], "usage": whole["usage"]}
    events.append(("message-end", {"type": "message-end", "delta": end}))
    return fakes.sse(events)


def cohere_embed(*, billed_in: int = 6, tokens_in: int = 8) -> dict[str, Any]:
    """A ``/v2/embed`` answer: usage under ``meta``."""
    return {
        "id": "cohere-embed-1",
        "embeddings": {"float": [[0.1, 0.2], [0.3, 0.4]]},
        "texts": ["a", "b"],
        "meta": {
            "api_version": {"version": "2"},
            "billed_units": {"input_tokens": billed_in},
            "tokens": {"input_tokens": tokens_in},
        },
        "response_type": "embeddings_by_type",
    }
