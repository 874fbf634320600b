"""A loopback Amazon Bedrock Runtime: Converse JSON, and streams in AWS event-stream framing.

Each test sets ``server.reply`` (or a function of the request) to a :class:`Reply`; the server
records every request it received, headers included, so tests can check what never reached
telemetry (the SigV4 signature, the session token).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from tests.bedrock import eventstream

EVENT_STREAM = "application/vnd.amazon.eventstream"


@dataclass
class Reply:
    """What the server answers: a JSON body, or event-stream frames sent chunk by chunk."""

    body: Any = None
    frames: list[bytes] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None
    """``reset`` (the connection is reset after the frames), ``stall`` (the server goes silent
    after the frames, for read timeouts)."""


@dataclass
class Request:
    """One request the server received."""

    path: str
    model: str
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class BedrockServer:
    """A threaded HTTP server on 127.0.0.1; use as a context manager."""

    def __init__(self) -> None:
        self.reply: Reply | Callable[[Request], Reply] = Reply(body={})
        self.requests: list[Request] = []
        self.stalled = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                path = self.path.split("?")[0]
                parts = path.split("/")
                model = unquote(parts[2]) if len(parts) > 2 else ""
                request = Request(path, model, self.rfile.read(length), dict(self.headers))
                outer.requests.append(request)
                reply = outer.reply(request) if callable(outer.reply) else outer.reply
                try:
                    outer._answer(self, reply)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client closed its stream early

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _answer(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        handler.send_response(reply.status)
        headers = {"x-amzn-requestid": "req-1", **reply.headers}
        if reply.frames is None:
            data = json.dumps(reply.body).encode()
            headers.setdefault("content-type", "application/json")
            headers["content-length"] = str(len(data))
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
            return
        headers.setdefault("content-type", EVENT_STREAM)
        headers["transfer-encoding"] = "chunked"
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        for frame in reply.frames:
            handler.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
            handler.wfile.flush()
        if reply.fault == "reset":
            connection = handler.connection
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()
            handler.close_connection = True
            return
        if reply.fault == "stall":
            self.stalled.wait(10)
            handler.close_connection = True
            return
        handler.wfile.write(b"0\r\n\r\n")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> BedrockServer:
        self._thread.start()
        return self

    def __exit__(self, *args: Any) -> None:
        self.stalled.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def converse_body(
    *,
    input_tokens: int = 100,
    output_tokens: int = 50,
    cache_read: int = 0,
    cache_write: int = 0,
    stop_reason: str = "end_turn",
    text: str = "Hello from Bedrock",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Converse response; ``inputTokens`` EXCLUDES the cache reads and writes, as Bedrock reports."""
    usage: dict[str, Any] = {
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "totalTokens": input_tokens + output_tokens + cache_read + cache_write,
    }
    if cache_read:
        usage["cacheReadInputTokens"] = cache_read
    if cache_write:
        usage["cacheWriteInputTokens"] = cache_write
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop_reason,
        "usage": usage,
        "metrics": {"latencyMs": 321},
        **(extra or {}),
    }


def converse_stream_frames(
    *, input_tokens: int = 100, output_tokens: int = 50, cache_read: int = 0, cache_write: int = 0
) -> list[bytes]:
    """A ConverseStream answer: text deltas, ``messageStop``, then ``metadata`` with the usage."""
    final = converse_body(
        input_tokens=input_tokens, output_tokens=output_tokens, cache_read=cache_read, cache_write=cache_write
    )
    return [
        eventstream.event("messageStart", {"role": "assistant"}),
        eventstream.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello"}}),
        eventstream.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": " there"}}),
        eventstream.event("contentBlockStop", {"contentBlockIndex": 0}),
        eventstream.event("messageStop", {"stopReason": "end_turn"}),
        eventstream.event("metadata", {"usage": final["usage"], "metrics": {"latencyMs": 120}}),
    ]


def anthropic_stream_frames(
    *, input_tokens: int = 100, output_tokens: int = 50, cache_read: int = 0, cache_write: int = 0
) -> list[bytes]:
    """An InvokeModelWithResponseStream answer for Claude: Anthropic's events in ``chunk`` events,
    the last one with ``amazon-bedrock-invocationMetrics``."""
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_bdrk_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": [],
            "stop_reason": None,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": 1,
                "cache_read_input_tokens": cache_read,
                "cache_creation_input_tokens": cache_write,
            },
        },
    }
    metrics = {
        "inputTokenCount": input_tokens,
        "outputTokenCount": output_tokens,
        "invocationLatency": 500,
        "firstByteLatency": 100,
    }
    return [
        eventstream.chunk(start),
        eventstream.chunk(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        ),
        eventstream.chunk(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}
        ),
        eventstream.chunk({"type": "content_block_stop", "index": 0}),
        eventstream.chunk(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            }
        ),
        eventstream.chunk({"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics}),
    ]
