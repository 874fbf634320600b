"""The wire formats of the native provider APIs, written by the tests: AWS event-stream messages
(Bedrock), Bedrock's chunk events, Ollama's NDJSON lines."""

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
