"""A local stand-in for the OpenAI Realtime API over WebSocket, for the demo: no key, no network.

Speaks the event protocol on ``ws://127.0.0.1:PORT/v1/realtime``: ``session.created`` first, then
``input_audio_buffer.committed`` for a commit and, for each ``response.create``, ``response.created``,
audio and transcript deltas, and ``response.done`` with usage. The usage is a pure function of the
session: one audio input token per 100 ms of the PCM16 24 kHz audio appended, text tokens for the
instructions (about four characters per token), and a fixed spoken reply; later responses read the
earlier turns from the cache, as the real API reports.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from typing import Any

__all__ = ["FakeRealtimeServer"]

_REPLY = "Every response of this session is priced as it finishes."
_REPLY_AUDIO_TOKENS = 60
"""About three seconds of spoken reply (one output audio token per 50 ms)."""
_AUDIO_BYTES_PER_TOKEN = 4800
"""100 ms of PCM16 mono audio at 24 kHz."""
_SESSION_MODEL = "gpt-realtime-2025-08-28"


def _tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


class FakeRealtimeServer:
    """A Realtime API server on a free loopback port, serving in a thread (a context manager)."""

    def __init__(self) -> None:
        from websockets.sync.server import serve

        self._server = serve(self._handle, "127.0.0.1", 0, compression=None)
        self.port: int = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="llmmeter-fake-realtime", daemon=True
        )

    @property
    def websocket_base_url(self) -> str:
        """What an openai client takes as ``websocket_base_url``."""
        return f"ws://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeRealtimeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _handle(self, connection: Any) -> None:
        state = _Session()
        connection.send(
            _event(
                "session.created", session={"id": "sess_demo", "type": "realtime", "model": _SESSION_MODEL}
            )
        )
        for message in connection:
            try:
                event = json.loads(message)
            except ValueError:
                continue
            for reply in state.answer(event if isinstance(event, dict) else {}):
                connection.send(reply)


class _Session:
    """What one connection has said so far, and what the server answers."""

    def __init__(self) -> None:
        self.instructions = ""
        self.audio_bytes = 0
        self.committed_audio_tokens = 0
        self.context_tokens = 0
        """Tokens of the earlier turns: the next response reads them from the cache."""
        self.responses = 0

    def answer(self, event: dict[str, Any]) -> list[str]:
        kind = event.get("type")
        if kind == "session.update":
            session = event.get("session") or {}
            self.instructions = str(session.get("instructions") or "")
            return [
                _event(
                    "session.updated",
                    session={"id": "sess_demo", "type": "realtime", "model": _SESSION_MODEL},
                )
            ]
        if kind == "input_audio_buffer.append":
            try:
                self.audio_bytes += len(base64.b64decode(str(event.get("audio", "")), validate=True))
            except (binascii.Error, ValueError):
                return [_error("invalid_request_error", "invalid_audio")]
            return []
        if kind == "input_audio_buffer.commit":
            self.committed_audio_tokens += max(1, self.audio_bytes // _AUDIO_BYTES_PER_TOKEN)
            self.audio_bytes = 0
            return [_event("input_audio_buffer.committed", item_id=f"item_in_{self.responses}")]
        if kind == "response.create":
            return self._response()
        return [_error("invalid_request_error", "unknown_event")]

    def _response(self) -> list[str]:
        self.responses += 1
        response_id = f"resp_demo_{self.responses}"
        text_in = _tokens(self.instructions) + 4
        audio_in = self.committed_audio_tokens
        cached = min(self.context_tokens, text_in + audio_in) // 64 * 64  # the cache works in 64-token blocks
        cached_audio = min(cached, audio_in)
        text_out = _tokens(_REPLY)
        usage = {
            "total_tokens": text_in + audio_in + text_out + _REPLY_AUDIO_TOKENS,
            "input_tokens": text_in + audio_in,
            "output_tokens": text_out + _REPLY_AUDIO_TOKENS,
            "input_token_details": {
                "text_tokens": text_in,
                "audio_tokens": audio_in,
                "image_tokens": 0,
                "cached_tokens": cached,
                "cached_tokens_details": {
                    "text_tokens": cached - cached_audio,
                    "audio_tokens": cached_audio,
                    "image_tokens": 0,
                },
            },
            "output_token_details": {"text_tokens": text_out, "audio_tokens": _REPLY_AUDIO_TOKENS},
        }
        self.context_tokens = text_in + audio_in + text_out + _REPLY_AUDIO_TOKENS
        base = {"object": "realtime.response", "id": response_id, "conversation_id": "conv_demo"}
        audio = base64.b64encode(bytes(4800)).decode()
        events = [_event("response.created", response={**base, "status": "in_progress", "output": []})]
        events += [
            _event(
                "response.output_audio.delta",
                response_id=response_id,
                item_id="item_out",
                output_index=0,
                content_index=0,
                delta=audio,
            )
            for _ in range(3)
        ]
        events += [
            _event(
                "response.output_audio_transcript.delta",
                response_id=response_id,
                item_id="item_out",
                output_index=0,
                content_index=0,
                delta=word + " ",
            )
            for word in _REPLY.split()
        ]
        events.append(
            _event(
                "response.output_audio_transcript.done",
                response_id=response_id,
                item_id="item_out",
                transcript=_REPLY,
            )
        )
        events.append(
            _event("response.done", response={**base, "status": "completed", "output": [], "usage": usage})
        )
        return events


def _event(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "event_id": "event_demo", **fields}, separators=(",", ":"))


def _error(kind: str, code: str) -> str:
    return _event("error", error={"type": kind, "code": code, "message": f"{code} (fake realtime server)"})
