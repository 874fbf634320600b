"""A loopback WebSocket server speaking the OpenAI Realtime event protocol, for the tests.

It answers as the Realtime API does: ``session.created`` first; ``input_audio_buffer.committed``
for a commit; for each ``response.create``, ``response.created``, audio and text deltas (base64
audio of a few kilobytes, as the real API sends) and ``response.done`` with the next scripted usage.
Client events of its own (``test.error``, ``test.drop``, ``test.close``, ``test.garbage``) make it
send an ``error`` event, drop the TCP connection without a close frame, close normally, or send a
message that is not JSON.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

AUDIO_DELTA = base64.b64encode(bytes(range(256)) * 24).decode()
"""About 8 KB of base64 audio per delta, like a real ``response.output_audio.delta``."""


@dataclass
class Turn:
    """What the server answers to one ``response.create``."""

    usage: dict[str, Any] | None
    status: str = "completed"
    audio_deltas: int = 3
    text_deltas: int = 2


@dataclass
class Seen:
    """One connection as the server saw it."""

    path: str
    headers: dict[str, str]
    received: list[dict[str, Any]] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)
    """Set once the server is done with the connection: ``received`` is then complete."""


class RealtimeServer:
    """A Realtime API stand-in on a free 127.0.0.1 port, serving in a thread."""

    def __init__(
        self,
        turns: list[Turn] | None = None,
        session_model: str = "gpt-realtime-2025-08-28",
        reject_status: int | None = None,
    ) -> None:
        self.turns = list(turns or [])
        self.session_model = session_model
        self.reject_status = reject_status
        self.connections: list[Seen] = []
        self._server: Server = serve(self._handle, "127.0.0.1", 0, process_request=self._process_request)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def http_url(self) -> str:
        """The base URL an openai client is given (the SDK turns it into ``ws://.../realtime``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def ws_url(self, model: str = "gpt-realtime", query: str = "") -> str:
        """A raw client's URL for a session with ``model``."""
        extra = f"&{query}" if query else ""
        return f"ws://127.0.0.1:{self.port}/v1/realtime?model={model}{extra}"

    def __enter__(self) -> RealtimeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.reject_status is None:
            return None
        return connection.respond(self.reject_status, "Incorrect API key provided\n")

    def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None
        seen = Seen(request.path, {k.lower(): v for k, v in request.headers.raw_items()})
        self.connections.append(seen)
        try:
            query = parse_qs(urlsplit(request.path).query)
            model = query.get("model", ["gpt-realtime"])[0]
            send = connection.send
            send(
                _event(
                    "session.created",
                    session={
                        "id": "sess_test1",
                        "object": "realtime.session",
                        "type": "realtime",
                        "model": self.session_model if model == "gpt-realtime" else model,
                    },
                )
            )
            responses = 0
            for message in connection:
                event = json.loads(message)
                seen.received.append({k: v for k, v in event.items() if k != "audio"})
                kind = event.get("type")
                if kind == "input_audio_buffer.commit":
                    send(_event("input_audio_buffer.committed", item_id="item_in", previous_item_id=None))
                elif kind == "session.update":
                    send(
                        _event(
                            "session.updated",
                            session={"id": "sess_test1", "type": "realtime", "model": model},
                        )
                    )
                elif kind == "response.create":
                    responses += 1
                    turn = self.turns.pop(0) if self.turns else Turn(usage=None)
                    for out in _response(f"resp_{responses}", turn):
                        send(out)
                elif kind == "test.error":
                    send(
                        _event(
                            "error",
                            error={
                                "type": "invalid_request_error",
                                "code": "unknown_parameter",
                                "message": "Unknown parameter: 'secret user text'",
                                "event_id": None,
                            },
                        )
                    )
                elif kind == "test.garbage":
                    send("this is {not json")
                    send(_event("response.done", response="not an object"))
                elif kind == "test.drop":
                    connection.socket.shutdown(socket.SHUT_RDWR)
                    connection.socket.close()
                    return
                elif kind == "test.close":
                    connection.close()
                    return

        finally:
            seen.ended.set()


def _event(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "event_id": "event_x", **fields}, separators=(",", ":"))


def _response(response_id: str, turn: Turn) -> Iterator[str]:
    base = {"object": "realtime.response", "id": response_id, "conversation_id": "conv_1"}
    yield _event("response.created", response={**base, "status": "in_progress", "output": []})
    yield _event(
        "response.output_item.added", response_id=response_id, output_index=0, item={"id": "item_out"}
    )
    for _ in range(turn.audio_deltas):
        yield _event(
            "response.output_audio.delta",
            response_id=response_id,
            item_id="item_out",
            output_index=0,
            content_index=0,
            delta=AUDIO_DELTA,
        )
    for _ in range(turn.text_deltas):
        yield _event(
            "response.output_audio_transcript.delta",
            response_id=response_id,
            item_id="item_out",
            output_index=0,
            content_index=0,
            delta="Hello ",
        )
    yield _event("response.output_audio.done", response_id=response_id, item_id="item_out")
    transcript = {"type": "output_audio", "transcript": "Hello " * turn.text_deltas}
    item = {"id": "item_out", "type": "message", "role": "assistant", "content": [transcript]}
    done: dict[str, Any] = {**base, "status": turn.status, "output": [item]}
    if turn.usage is not None:
        done["usage"] = turn.usage
    if turn.status == "failed":
        done["status_details"] = {"type": "failed", "error": {"type": "server_error", "code": "overloaded"}}
    yield _event("response.done", response=done)
