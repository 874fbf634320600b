"""A local stand-in for OpenAI and Anthropic: real wire formats, deterministic usage, no key, no network.

Serves, on 127.0.0.1, what the demo, the examples and tests call:

    POST /v1/chat/completions   plain, streamed (usage with ``stream_options.include_usage``), tool calls
    POST /v1/responses          plain and streamed
    POST /v1/embeddings
    POST /v1/images/generations  GPT Image models, with token usage by modality
    POST /v1/messages           Anthropic Messages, plain and streamed, prompt caching

Token counts are a pure function of the request (about four characters per token), so the same
request always reports the same usage and costs the same. A request carrying the header
``x-fake-status: 500`` (or any error status) gets an error in the provider's format instead.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from llmmeter._locks import new_lock

__all__ = ["FAIL_HEADER", "FakeProviderServer", "RecordedRequest", "count_tokens"]

FAIL_HEADER = "x-fake-status"
"""Request header naming an HTTP error status the server answers with."""

# What the providers report back for an alias: the dated snapshot that served the request.
_SNAPSHOTS = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-5.4": "gpt-5.4-2026-03-05",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
}
_REASONING_PREFIXES = ("gpt-5", "o1", "o3", "o4")
_REASONING_TOKENS = 64
_MESSAGE_OVERHEAD = 4
_EMBEDDING_DIMENSIONS = 8


def count_tokens(text: str) -> int:
    """The server's token count for ``text``: one per four characters, at least one."""
    return max(1, (len(text) + 3) // 4)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the server received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]


class FakeProviderServer:
    """An OpenAI- and Anthropic-compatible HTTP server on a free loopback port, in a thread.

    Use it as a context manager; ``openai_base_url`` and ``anthropic_base_url`` are what the
    SDKs take as ``base_url``. ``chunk_delay_s`` spaces out streamed chunks.
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, chunk_delay_s: float = 0.0, gateway: bool = False
    ) -> None:
        self.gateway = gateway
        """Answer chat completions as OpenRouter does: with the call's cost in ``usage.cost``."""
        self.requests: list[RecordedRequest] = []
        self.chunk_delay_s = chunk_delay_s
        self._host = host
        self._cached_prefixes: set[str] = set()
        self._lock = new_lock()
        self._server = ThreadingHTTPServer((host, port), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="llmmeter-fake-provider", daemon=True
        )

    @property
    def url(self) -> str:
        """The server's root URL, e.g. ``http://127.0.0.1:51234``."""
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def openai_base_url(self) -> str:
        """``base_url`` for the openai SDK and LangChain's ChatOpenAI."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """``base_url`` for the anthropic SDK."""
        return self.url

    def start(self) -> FakeProviderServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- answers --------------------------------------------------------------------------------

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | list[bytes]]:
        """The status and the JSON body (or SSE chunks) for a request."""
        path = path.split("?", 1)[0].rstrip("/")
        if path.endswith("/chat/completions"):
            answer = _chat(body)
            return 200, _with_gateway_cost(answer) if self.gateway else answer
        if path.endswith("/responses"):
            return 200, _responses(body)
        if path.endswith("/embeddings"):
            return 200, _embeddings(body)
        if path.endswith("/images/generations"):
            return 200, _image_generation(body)
        if path.endswith("/messages"):
            return 200, self._messages(body)
        return 404, _openai_error(404, f"no such endpoint: {path}")

    def _messages(self, body: dict[str, Any]) -> dict[str, Any] | list[bytes]:
        """Anthropic Messages; a cache_control'd system prompt is written once, then read."""
        system_text, cacheable = _anthropic_system(body.get("system"))
        cache_read = cache_write = 0
        if cacheable:
            with self._lock:
                seen = system_text in self._cached_prefixes
                self._cached_prefixes.add(system_text)
            tokens = count_tokens(system_text)
            cache_read, cache_write = (tokens, 0) if seen else (0, tokens)
        return _anthropic(body, system_text, cache_read, cache_write)


def _handler_class(server: FakeProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send_json(400, _openai_error(400, "the body is not JSON"))
                return
            headers = {key.lower(): value for key, value in self.headers.items()}
            server.requests.append(RecordedRequest(self.path, body, headers))
            forced = headers.get(FAIL_HEADER)
            if forced:
                self._send_error(int(forced))
                return
            status, answer = server.answer(self.path, body)
            if isinstance(answer, list):
                self._send_stream(answer)
            else:
                self._send_json(status, answer)

        def _send_error(self, status: int) -> None:
            if self.path.rstrip("/").endswith("/messages"):
                error = {"type": "error", "error": {"type": "api_error", "message": "fake failure"}}
                self._send_json(status, error)
            else:
                self._send_json(status, _openai_error(status, "fake failure"))

        def _send_json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-request-id", "req_fake")
            self.end_headers()
            self.wfile.write(data)

        def _send_stream(self, chunks: list[bytes]) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for chunk in chunks:
                if server.chunk_delay_s:
                    time.sleep(server.chunk_delay_s)
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


# --- OpenAI chat completions ----------------------------------------------------------------------

_GATEWAY_PRICES = {"openai/gpt-4o-mini": (Decimal("0.15"), Decimal("0.60"))}
"""What the fake gateway charges per 1M input and output tokens (OpenRouter's list price)."""


def _with_gateway_cost(answer: dict[str, Any] | list[bytes]) -> dict[str, Any] | list[bytes]:
    """A chat completion as OpenRouter returns it: the upstream provider's name and the call's cost
    in credits (one credit, one USD) in ``usage.cost`` (openrouter.ai/docs/use-cases/usage-accounting)."""
    if not isinstance(answer, dict):
        return answer
    usage = answer["usage"]
    prices = _GATEWAY_PRICES.get(answer["model"], (Decimal(1), Decimal(4)))
    cost = (usage["prompt_tokens"] * prices[0] + usage["completion_tokens"] * prices[1]) / 1_000_000
    usage.update({"cost": float(cost), "is_byok": False, "cost_details": {"upstream_inference_cost": None}})
    return {**answer, "provider": "OpenAI"}


def _chat(body: dict[str, Any]) -> dict[str, Any] | list[bytes]:
    model = str(body.get("model") or "gpt-4o-mini")
    messages = body.get("messages") or []
    tools = body.get("tools") or []
    prompt_tokens = _prompt_tokens(messages, tools)
    tool_call = _tool_call(tools) if tools and _last_role(messages) != "tool" else None
    text = None if tool_call else _reply_text(messages)
    output_text = json.dumps(tool_call) if tool_call else text or ""
    completion_tokens = count_tokens(output_text) + _reasoning(model)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": _reasoning(model), "audio_tokens": 0},
    }
    base = {
        "id": "chatcmpl-fake",
        "created": 1_700_000_000,
        "model": _SNAPSHOTS.get(model, model),
        "system_fingerprint": "fp_fake",
        "service_tier": "default",
    }
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return _chat_stream(base, text, tool_call, usage if include_usage else None)
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if tool_call:
        message["tool_calls"] = [tool_call]
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": "tool_calls" if tool_call else "stop",
    }
    return {**base, "object": "chat.completion", "choices": [choice], "usage": usage}


def _chat_stream(
    base: dict[str, Any], text: str | None, tool_call: dict[str, Any] | None, usage: dict[str, Any] | None
) -> list[bytes]:
    base = {**base, "object": "chat.completion.chunk"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    events: list[Any] = [chunk({"role": "assistant", "content": ""})]
    if tool_call:
        events.append(chunk({"tool_calls": [{"index": 0, **tool_call}]}))
    for word in _words(text or ""):
        events.append(chunk({"content": word}))
    events.append(chunk({}, "tool_calls" if tool_call else "stop"))
    if usage is not None:
        events.append({**base, "choices": [], "usage": usage})
    events.append("[DONE]")
    return _sse((None, event) for event in events)


def _tool_call(tools: list[dict[str, Any]]) -> dict[str, Any]:
    function = tools[0].get("function") or {}
    parameters = function.get("parameters") or {}
    properties = parameters.get("properties") or {}
    arguments = {name: _example_value(name, spec) for name, spec in properties.items()}
    return {
        "id": "call_fake_1",
        "type": "function",
        "function": {"name": function.get("name", "tool"), "arguments": json.dumps(arguments)},
    }


def _example_value(name: str, spec: dict[str, Any]) -> Any:
    kind = spec.get("type")
    if spec.get("enum"):
        return spec["enum"][0]
    if kind in ("number", "integer"):
        return 1
    if kind == "boolean":
        return True
    return "Paris" if name in ("city", "location", "place") else "example"


# --- OpenAI responses and embeddings --------------------------------------------------------------


def _responses(body: dict[str, Any]) -> dict[str, Any] | list[bytes]:
    model = str(body.get("model") or "gpt-5.4")
    prompt = _text_of(body.get("instructions")) + _text_of(body.get("input"))
    text = _reply_for(prompt)
    reasoning = _reasoning(model)
    input_tokens = count_tokens(prompt) + _MESSAGE_OVERHEAD
    output_tokens = count_tokens(text) + reasoning
    final = {
        "id": "resp_fake",
        "object": "response",
        "created_at": 1_700_000_000,
        "status": "completed",
        "model": _SNAPSHOTS.get(model, model),
        "output": [
            {
                "type": "message",
                "id": "msg_fake",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "service_tier": "default",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": input_tokens + output_tokens,
        },
    }
    if not body.get("stream"):
        return final
    created = {**final, "status": "in_progress", "output": [], "usage": None}
    events: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"type": "response.created", "response": created})
    ]
    for word in _words(text):
        delta = {"type": "response.output_text.delta", "item_id": "msg_fake", "output_index": 0}
        events.append(
            ("response.output_text.delta", {**delta, "content_index": 0, "delta": word, "logprobs": []})
        )
    events.append(("response.completed", {"type": "response.completed", "response": final}))
    return _sse((name, {**data, "sequence_number": i}) for i, (name, data) in enumerate(events))


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else [str(item) for item in inputs or []]
    model = str(body.get("model") or "text-embedding-3-small")
    tokens = sum(count_tokens(text) for text in texts)
    data = [{"object": "embedding", "index": i, "embedding": _vector(text)} for i, text in enumerate(texts)]
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# Image output tokens by quality for a 1024x1024 image (larger sizes cost half as much again), as
# the GPT Image models report them.
_IMAGE_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
_TINY_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _image_generation(body: dict[str, Any]) -> dict[str, Any]:
    prompt = str(body.get("prompt") or "")
    quality = str(body.get("quality") or "medium")
    size = str(body.get("size") or "1024x1024")
    count = body.get("n")
    images = count if isinstance(count, int) and 0 < count <= 10 else 1
    per_image = _IMAGE_TOKENS.get(quality, _IMAGE_TOKENS["medium"])
    if size != "1024x1024":
        per_image += per_image // 2
    text = count_tokens(prompt)
    output = per_image * images
    return {
        "created": 1_700_000_000,
        "data": [{"b64_json": _TINY_PNG} for _ in range(images)],
        "quality": quality,
        "size": size,
        "output_format": "png",
        "usage": {
            "input_tokens": text,
            "input_tokens_details": {"text_tokens": text, "image_tokens": 0},
            "output_tokens": output,
            "total_tokens": text + output,
        },
    }


def _vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round(byte / 255 - 0.5, 4) for byte in digest[:_EMBEDDING_DIMENSIONS]]


# --- Anthropic messages ---------------------------------------------------------------------------


def _anthropic(
    body: dict[str, Any], system_text: str, cache_read: int, cache_write: int
) -> dict[str, Any] | list[bytes]:
    model = str(body.get("model") or "claude-sonnet-4-5")
    messages = body.get("messages") or []
    text = _reply_text(messages)
    uncached_system = 0 if cache_read or cache_write else count_tokens(system_text) if system_text else 0
    input_tokens = _prompt_tokens(messages, body.get("tools") or []) + uncached_system
    output_tokens = count_tokens(text)
    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write,
    }
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": _SNAPSHOTS.get(model, model),
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    if not body.get("stream"):
        return message
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    for word in _words(text):
        delta = {"type": "text_delta", "text": word}
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}))
    events += [
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
    return _sse(events)


def _anthropic_system(system: Any) -> tuple[str, bool]:
    """The system prompt's text, and whether it asks to be cached."""
    if isinstance(system, str):
        return system, False
    if isinstance(system, list):
        cacheable = any(isinstance(block, dict) and block.get("cache_control") for block in system)
        return _text_of(system), cacheable
    return "", False


# --- shared ---------------------------------------------------------------------------------------


def _prompt_tokens(messages: list[Any], tools: list[Any]) -> int:
    tokens = sum(count_tokens(_text_of(message)) + _MESSAGE_OVERHEAD for message in messages)
    if tools:
        tokens += count_tokens(json.dumps(tools, sort_keys=True))
    return tokens


def _text_of(value: Any) -> str:
    """All the text in a message, a content list or an input, concatenated."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(_text_of(item) for item in value)
    if isinstance(value, dict):
        parts = [value.get(key) for key in ("content", "text", "arguments", "input", "output")]
        calls = value.get("tool_calls") or []
        return "".join(_text_of(part) for part in parts) + "".join(
            _text_of(call.get("function")) for call in calls if isinstance(call, dict)
        )
    return str(value)


def _last_role(messages: list[Any]) -> str | None:
    if messages and isinstance(messages[-1], dict):
        role = messages[-1].get("role")
        return str(role) if role else None
    return None


def _reply_text(messages: list[Any]) -> str:
    if _last_role(messages) == "tool":
        return f"The tool says: {_text_of(messages[-1])[:120]}"
    user_text = next(
        (_text_of(m) for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), ""
    )
    return _reply_for(user_text)


_REPLIES = (
    "Metering every call keeps the bill free of surprises.",
    "Tokens in, tokens out, and a price for each of them.",
    "Cost is just another signal, next to latency and errors.",
    "Every span carries the cost of the call it describes.",
)


def _reply_for(prompt: str) -> str:
    digest = hashlib.sha256(prompt.encode()).digest()
    return _REPLIES[digest[0] % len(_REPLIES)]


def _reasoning(model: str) -> int:
    return _REASONING_TOKENS if model.startswith(_REASONING_PREFIXES) else 0


def _words(text: str) -> Iterator[str]:
    words = text.split(" ")
    for i, word in enumerate(words):
        yield word if i == len(words) - 1 else word + " "


def _sse(events: Iterable[tuple[str | None, Any]]) -> list[bytes]:
    chunks = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        prefix = f"event: {name}\n" if name else ""
        chunks.append(f"{prefix}data: {payload}\n\n".encode())
    return chunks


def _openai_error(status: int, message: str) -> dict[str, Any]:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}
