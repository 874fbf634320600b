"""Bodies and streams in Gemini's and Cohere's wire formats, for loopback servers and parsers."""

from __future__ import annotations

import json
from typing import Any

from tests import fakes


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
