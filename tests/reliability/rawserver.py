"""A loopback HTTP/1.1 server on bare sockets that misbehaves on purpose.

``http.server`` cannot reset a connection, stop halfway through a body, or lie about its length;
this one answers each request with a scripted :class:`Play`: status, headers, body parts, pauses,
and how the connection ends. The n-th request gets the n-th play (the last one repeats), so SDK
retries meet a different answer on each attempt.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

End = Literal["finish", "close", "reset"]


@dataclass
class Play:
    """One scripted answer. ``parts`` go out one by one (one HTTP chunk each when ``chunked``)."""

    status: int | None = 200
    """None: send nothing at all, only end the connection as ``end`` says."""
    headers: dict[str, str] = field(default_factory=dict)
    parts: Sequence[bytes] = ()
    chunked: bool = False
    content_length: int | None = None
    """The declared length when not chunked; the real length when None."""
    delay_s: float = 0.0
    """Seconds to wait before the status line (the server is slow to answer)."""
    hold_after: int | None = None
    """After this many parts, wait until :meth:`RawServer.release` (or shutdown) before going on."""
    end: End = "finish"
    """``finish``: complete the body; ``close``: stop where the parts stop (FIN); ``reset``: RST."""


_REASONS = {200: "OK", 400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error"}


class RawServer:
    """Serves scripted plays on 127.0.0.1; use as a context manager. ``requests`` counts attempts."""

    def __init__(self, plays: Sequence[Play]) -> None:
        self._plays = list(plays)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self.requests = 0
        self.bodies: list[bytes] = []

    @property
    def url(self) -> str:
        """The server's base URL."""
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def release(self) -> None:
        """Let plays waiting at ``hold_after`` go on."""
        self._release.set()

    def __enter__(self) -> RawServer:
        self._accepter.start()
        return self

    def __exit__(self, *args: object) -> None:
        self._stop.set()
        self._release.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        self._listener.close()
        self._accepter.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            body = _read_request(conn)
            if body is None:
                return
            with self._lock:
                play = self._plays[min(self.requests, len(self._plays) - 1)]
                self.requests += 1
                self.bodies.append(body)
            self._play(conn, play)
        except OSError:
            pass  # the client gave up (a timeout, a cancelled task): nothing more to send
        finally:
            conn.close()

    def _play(self, conn: socket.socket, play: Play) -> None:
        if play.delay_s and self._stop.wait(play.delay_s):
            return
        if play.status is not None:
            self._send(conn, play)
        if play.end == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _send(self, conn: socket.socket, play: Play) -> None:
        data = b"".join(play.parts)
        headers = {"content-type": "application/json", "connection": "close", **play.headers}
        if play.chunked:
            headers["transfer-encoding"] = "chunked"
        else:
            headers["content-length"] = str(len(data) if play.content_length is None else play.content_length)
        head = f"HTTP/1.1 {play.status} {_REASONS.get(play.status, 'Status')}\r\n"
        head += "".join(f"{key}: {value}\r\n" for key, value in headers.items()) + "\r\n"
        conn.sendall(head.encode("latin-1"))
        for index, part in enumerate(play.parts):
            if index == play.hold_after:
                self._release.wait(10)
            conn.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n" if play.chunked else part)
        if play.hold_after is not None and play.hold_after >= len(play.parts):
            self._release.wait(10)
        if play.end == "finish" and play.chunked:
            conn.sendall(b"0\r\n\r\n")


def _read_request(conn: socket.socket) -> bytes | None:
    """Read one request; returns its body, or None when the client went away first."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            return None
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            return None
        body += piece
    return body
