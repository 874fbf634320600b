"""What every HTTP capture point does with an LLM request, whatever library carries it.

A capture point (httpx and httpx2 in ``_transport``, aiohttp in ``_aiohttp``) reads its library's
request and response objects and hands plain values to these functions: which requests are LLM
calls (:func:`endpoint`), the call opened for one (:func:`open_call`), the body to send instead
when a stream should report its usage (:func:`wants_stream_usage`, :func:`with_stream_usage`), the
span made current while it is sent (:func:`enter`, :func:`leave`), and how the response's status
and headers decide how its body is read (:func:`finished_by_status`, :func:`body_meter`). The
budget reservation made before a request leaves is :func:`llmmeter._capture._refusal.reserve_or_refuse`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextvars import Token
from typing import Any

from opentelemetry import context as otel_context

from llmmeter._capture._body import BodyMeter, finish_read, reads_at_once
from llmmeter._context import sending as _sending
from llmmeter._exit import end_at_exit
from llmmeter._providers._base import RequestInfo, is_object
from llmmeter._providers._decoding import IDENTITY, Decoder
from llmmeter._providers._framing import stream_framing
from llmmeter._providers._openai import CHAT
from llmmeter._providers._routing import Route, route
from llmmeter._reported import from_headers
from llmmeter._settings import settings
from llmmeter._telemetry._call import Call, Telemetry
from llmmeter._telemetry._scrub import CREDENTIAL_HEADERS

__all__ = [
    "Tokens",
    "body_meter",
    "credential_values",
    "default_port",
    "endpoint",
    "enter",
    "finished_by_status",
    "leave",
    "open_call",
    "read_whole",
    "wants_stream_usage",
    "with_stream_usage",
]


def endpoint(method: str, host: str | None, path: str, port: int | None = None) -> Route | None:
    """The route of an LLM call that no enclosing capture point is already metering, else None.

    ``port`` is the URL's explicit port, if any. An httpx transport built on aiohttp sends through
    both capture points: the outer one meters.
    """
    if _sending.get():
        return None
    return route(method, host or "", path, port)


def default_port(scheme: str) -> int:
    """The port a URL without one connects to."""
    return 443 if scheme in ("https", "wss") else 80


def credential_values(values_of: Callable[[str], Iterable[str]]) -> list[str]:
    """The values of the credential headers a request carries, given how to read a header's values."""
    return [value for name in CREDENTIAL_HEADERS for value in values_of(name)]


def open_call(
    found: Route,
    telemetry: Telemetry,
    *,
    host: str | None,
    port: int,
    body: Any,
    credentials: Callable[[], Iterable[str]],
) -> tuple[Call, bool | None]:
    """Start the call for a request to ``found``; returns it and whether the request asked for a
    streamed response (None when its body could not be read).

    ``body`` is the request body decoded (a JSON object, an upload's text fields) or None;
    ``credentials`` gives the credential values the request carries, read only if an exception is
    recorded.
    """
    # Positional, in the order of RequestInfo's fields (a class called with keywords costs CPython
    # a dict per call): provider, operation, model, billed model, stream, server address and port.
    info = RequestInfo(
        found.provider,
        found.operation,
        found.deployment or found.model,
        found.billed_model,
        False,
        host or None,
        port,
    )
    stream = None
    if is_object(body):
        found.adapter.parse_request(info, body, settings.capture_content)
        stream = info.stream
    if found.stream is not None:
        stream = info.stream = found.stream
    call = Call(telemetry, info)
    call.credentials = credentials
    return call, stream


def wants_stream_usage(found: Route, body: Any) -> bool:
    """Whether ``body`` asks OpenAI for a chat stream without saying whether to report its usage,
    and llmmeter is configured to ask for the usage."""
    if not (settings.include_stream_usage and found.adapter is CHAT and is_object(body)):
        return False
    if body.get("stream") is not True:
        return False
    options = body.get("stream_options")
    return not (is_object(options) and "include_usage" in options)


def with_stream_usage(body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a chat request ``body`` that asks for the stream's usage in its last chunk."""
    options = body.get("stream_options")
    return {**body, "stream_options": {**(options if is_object(options) else {}), "include_usage": True}}


Tokens = tuple[Token[bool], Token[otel_context.Context] | None]


def enter(call: Call | None) -> Tokens:
    """Mark the context as sending and make the call's span current; undone by :func:`leave`."""
    sending = _sending.set(True)
    return sending, None if call is None else otel_context.attach(call.context)


def leave(tokens: Tokens) -> None:
    """Undo :func:`enter`."""
    sending, attached = tokens
    if attached is not None:
        otel_context.detach(attached)
    _sending.reset(sending)


def finished_by_status(call: Call, status: int) -> bool:
    """Finish the call of an error response (its body is the provider's error, not the answer)."""
    if status < 400:
        return False
    call.finish(error_type=str(status), ending="error")
    return True


def body_meter(
    call: Call,
    found: Route,
    stream: bool | None,
    header: Callable[[str], str | None],
    decoder: Decoder | None,
) -> BodyMeter:
    """The meter of a response body, shown the bytes the caller reads, which ``decoder`` decodes;
    ``header(name)`` reads the response's headers (case-insensitively).

    A streamed body is cut into events by its framing (see ``_providers._framing``: the request
    decides whether it is a stream, the adapter names the framing, and the content-type only for
    an unreadable request). A stream the caller never finishes is ended at exit. A cost a gateway
    states in a header is handed to the call (see ``_reported``).
    """
    content_type = header("content-type") if stream is None else None  # read only when it decides
    framing = stream_framing(found.adapter, stream, content_type)
    call.reported = from_headers(
        header, settings.reported_cost_header, framing is not None, proxied=found.proxied
    )
    meter = BodyMeter(call, found.adapter, decoder, framing)
    if framing is not None:
        end_at_exit(meter)
    return meter


def read_whole(
    call: Call, found: Route, stream: bool | None, header: Callable[[str], str | None], data: bytes
) -> None:
    """Finish the call with a body the client read, and decoded, before llmmeter saw it (a response
    built in memory: a mock, a cache); see :func:`body_meter` for ``header``."""
    if stream is False and reads_at_once(found.adapter, data):  # a JSON answer: parsed now
        call.reported = from_headers(header, settings.reported_cost_header, False, proxied=found.proxied)
        finish_read(call, found.adapter, data)
    else:
        body_meter(call, found, stream, header, IDENTITY).whole(data)
