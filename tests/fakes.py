"""Provider payloads with usage chosen by the test, and ways to serve them (MockTransport, loopback).

Bodies follow the providers' documented wire formats; every count comes from the caller, so each
test states the usage it expects to be priced.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def chat_completion(
    *,
    model: str = "gpt-4o-2024-08-06",
    prompt_tokens: int = 100,
    completion_tokens: int = 20,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
    service_tier: str | None = "default",
    content: str = "Hello!",
    n: int = 1,
    tool_call: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Chat Completions response body."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    finish = "stop"
    if tool_call is not None:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": tool_call["name"], "arguments": json.dumps(tool_call["arguments"])},
                }
            ],
        }
        finish = "tool_calls"
    body: dict[str, Any] = {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {"index": i, "message": message, "logprobs": None, "finish_reason": finish} for i in range(n)
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens, "audio_tokens": 0},
        },
        "system_fingerprint": "fp_test",
    }
    if service_tier is not None:
        body["service_tier"] = service_tier
    return body


def sse(events: Iterable[tuple[str | None, Any]]) -> list[bytes]:
    """Server-sent events, one byte chunk per event; data that is not a str is JSON-encoded."""
    chunks = []
    for name, data in events:
        text = data if isinstance(data, str) else json.dumps(data)
        prefix = f"event: {name}\n" if name else ""
        chunks.append(f"{prefix}data: {text}\n\n".encode())
    return chunks


def chat_stream(
    *,
    model: str = "gpt-4o-2024-08-06",
    words: int = 3,
    prompt_tokens: int = 100,
    completion_tokens: int = 20,
    cached_tokens: int = 0,
    include_usage: bool = True,
    service_tier: str | None = "default",
) -> list[bytes]:
    """A streamed Chat Completions body: role chunk, content chunks, finish chunk, usage chunk, [DONE]."""
    base = {"id": "chatcmpl-456", "object": "chat.completion.chunk", "created": 1, "model": model}
    if service_tier is not None:
        base["service_tier"] = service_tier
    events: list[tuple[str | None, Any]] = []
    role = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    events.append((None, {**base, "choices": [role], "usage": None}))
    for i in range(words):
        delta = {"index": 0, "delta": {"content": f"word{i} "}, "finish_reason": None}
        events.append((None, {**base, "choices": [delta], "usage": None}))
    events.append(
        (None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": None})
    )
    if include_usage:
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }
        events.append((None, {**base, "choices": [], "usage": usage}))
    events.append((None, "[DONE]"))
    return sse(events)


def responses_body(
    *,
    model: str = "gpt-5.4-2026-03-05",
    input_tokens: int = 1000,
    output_tokens: int = 500,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
    service_tier: str = "default",
    status: str = "completed",
) -> dict[str, Any]:
    """A Responses API response object."""
    return {
        "id": "resp_123",
        "object": "response",
        "created_at": 1_700_000_000,
        "status": status,
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hi there", "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "service_tier": service_tier,
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached_tokens},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": input_tokens + output_tokens,
        },
    }


def responses_stream(**kwargs: Any) -> list[bytes]:
    """A streamed Responses body: created, a text delta, completed."""
    final = responses_body(**kwargs)
    created = {**final, "status": "in_progress", "usage": None, "output": []}
    return sse(
        [
            ("response.created", {"type": "response.created", "sequence_number": 0, "response": created}),
            (
                "response.output_text.delta",
                {
                    "type": "response.output_text.delta",
                    "sequence_number": 1,
                    "item_id": "msg_1",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": "Hi there",
                    "logprobs": [],
                },
            ),
            ("response.completed", {"type": "response.completed", "sequence_number": 2, "response": final}),
        ]
    )


def anthropic_message(
    *,
    model: str = "claude-sonnet-4-6",
    input_tokens: int = 100,
    output_tokens: int = 50,
    cache_read: int = 0,
    cache_write: int = 0,
) -> dict[str, Any]:
    """An Anthropic Messages response body (its input_tokens EXCLUDE cache reads and writes)."""
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "Hello from Claude"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read,
            "cache_creation_input_tokens": cache_write,
        },
    }


def anthropic_stream(
    *,
    model: str = "claude-sonnet-4-6",
    input_tokens: int = 100,
    output_tokens: int = 50,
    cache_read: int = 0,
    cache_write: int = 0,
) -> list[bytes]:
    """A streamed Anthropic body; ``message_delta`` usage is cumulative, as the API sends it."""
    start = anthropic_message(
        model=model,
        input_tokens=input_tokens,
        output_tokens=1,
        cache_read=cache_read,
        cache_write=cache_write,
    )
    start["content"] = []
    start["stop_reason"] = None
    return sse(
        [
            ("message_start", {"type": "message_start", "message": start}),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            ("ping", {"type": "ping"}),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": output_tokens},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
    )


def embeddings_body(*, model: str = "text-embedding-3-small", prompt_tokens: int = 8) -> dict[str, Any]:
    """An embeddings response body."""
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


@dataclass
class Reply:
    """What a fake server answers: status, headers and body chunks."""

    body: Any = None
    chunks: list[bytes] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False

    def encoded_chunks(self) -> list[bytes]:
        """The body as the bytes that go on the wire."""
        chunks = self.chunks if self.chunks is not None else [json.dumps(self.body).encode()]
        if self.gzip:
            return [gzip.compress(b"".join(chunks))]
        return chunks

    def all_headers(self) -> dict[str, str]:
        """Headers, with content-type and encoding filled in."""
        headers = {"content-type": "text/event-stream" if self.chunks is not None else "application/json"}
        if self.gzip:
            headers["content-encoding"] = "gzip"
        headers.update(self.headers)
        return headers


Handler = Callable[[str, str, bytes], Reply]
"""(method, path, request body) -> Reply"""


def mock_handler(library: Any, reply: Handler | Reply, seen: list[Any] | None = None) -> Any:
    """A function for ``library.MockTransport`` answering every request with ``reply``."""

    def handle(request: Any) -> Any:
        if seen is not None:
            seen.append(request)
        answer = reply(request.method, request.url.path, request.read()) if callable(reply) else reply
        chunks = answer.encoded_chunks()
        stream = _ChunkStream(library, chunks)
        return library.Response(answer.status, headers=answer.all_headers(), stream=stream)

    return handle


def _ChunkStream(library: Any, chunks: list[bytes]) -> Any:
    class ChunkStream(library.SyncByteStream, library.AsyncByteStream):  # type: ignore[misc, name-defined]
        """Yields the body in the given chunks, sync or async, and counts close calls."""

        closes = 0

        def __iter__(self) -> Iterator[bytes]:
            yield from chunks

        async def __aiter__(self) -> Any:
            for chunk in chunks:
                yield chunk

        def close(self) -> None:
            ChunkStream.closes += 1

        async def aclose(self) -> None:
            ChunkStream.closes += 1

    return ChunkStream()


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 answering with ``handler``; use as a context manager."""

    def __init__(self, handler: Handler) -> None:
        outer = self
        self.requests: list[tuple[str, str, bytes, dict[str, str]]] = []

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                outer.requests.append(("POST", self.path, body, dict(self.headers)))
                reply = handler("POST", self.path.split("?")[0], body)
                chunks = reply.encoded_chunks()
                self.send_response(reply.status)
                for key, value in reply.all_headers().items():
                    self.send_header(key, value)
                if reply.chunks is not None and not reply.gzip:
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    for chunk in chunks:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    data = b"".join(chunks)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *args: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
