"""The aiohttp capture point: requests made by ``aiohttp.ClientSession``.

``instrument()`` replaces ``ClientSession._request``, which every request of every session passes
through (``session.post(...)``, ``session.request(...)``, with or without ``async with``), also
sessions created before ``instrument()`` and subclasses such as google-genai's. An LLM request (see
``_providers._routing``) is metered there: a spent budget refuses it before it is sent, its call's
span is the current span while it is sent (redirects and a middleware's retries included: they are
one call), and its response body is shown to the meter as the caller reads it (see
:class:`~llmmeter._capture._aiohttp_content.MeteredContent`). Any other request costs a URL parse
and a few string comparisons. The request, response, body and exceptions pass through unchanged;
when llmmeter asks an OpenAI chat stream to report its usage, the request's JSON body is rebuilt
with ``stream_options.include_usage`` set, as the httpx capture point does.

Request bodies are read when they are JSON: ``json=`` objects, and ``data=`` given as bytes or
text. Other bodies (forms, files, streams) are sent untouched and the call is still recorded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Mapping
from functools import partial
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from llmmeter._capture._aiohttp_content import MeteredContent
from llmmeter._capture._http import (
    body_meter,
    credential_values,
    default_port,
    endpoint,
    enter,
    finished_by_status,
    leave,
    open_call,
    wants_stream_usage,
    with_stream_usage,
)
from llmmeter._capture._patching import Patch
from llmmeter._capture._refusal import (
    UNKNOWN_SIZE,
    RequestSize,
    areserve_or_refuse,
    request_size,
    settled,
)
from llmmeter._guard import internal_error
from llmmeter._providers._decoding import IDENTITY, Decoder, make_decoder
from llmmeter._providers._request_body import decode_request
from llmmeter._providers._routing import Route
from llmmeter._settings import settings
from llmmeter._telemetry._call import Call, Telemetry

__all__ = ["patches"]

_DECOMPRESSED = frozenset({"gzip", "deflate", "br", "zstd"})
"""The single ``Content-Encoding`` values aiohttp decodes for its caller (when it decompresses)."""

_Send = Callable[..., Coroutine[Any, Any, aiohttp.ClientResponse]]


def patches(telemetry: Telemetry) -> list[Patch]:
    """Replace ``aiohttp.ClientSession._request``."""
    return [_RequestPatch(aiohttp.ClientSession, "_request", telemetry, asynchronous=True)]


class _RequestPatch(Patch):
    """A session's ``_request``, replaced by one that meters LLM calls."""

    __slots__ = ()

    def _async_wrapper(self, telemetry: Telemetry) -> Callable[..., Any]:
        async def _request(session: Any, method: str, str_or_url: Any, **options: Any) -> Any:
            original = self.original_for(session)
            if not self.active:
                return await original(method, str_or_url, **options)
            return await _meter(session, method, str_or_url, options, original, telemetry)

        return _request


async def _meter(
    session: aiohttp.ClientSession,
    method: str,
    str_or_url: Any,
    options: dict[str, Any],
    send: _Send,
    telemetry: Telemetry,
) -> aiohttp.ClientResponse:
    """Send the request with ``send``, metering it when it is an LLM call."""
    url = _url(session, str_or_url)
    found = None if url is None else endpoint(method.upper(), url.host, url.path, url.explicit_port)
    if found is None or url is None:
        return await send(method, str_or_url, **options)
    call, stream, size = _start(found, session, url, options, telemetry)
    if size is not None:  # a budget encloses the call (no coroutine made for none)
        await areserve_or_refuse(found.provider, call, size)
    tokens = enter(call)
    try:
        response = await send(method, str_or_url, **options)
    except asyncio.CancelledError as exc:
        if call is not None:
            call.finish(ending="cancelled", exception=exc)
        raise
    except BaseException as exc:
        if call is not None:
            call.finish(ending="error", exception=exc, error_type=_status_error(exc))
            if call.reservation is not None:
                await settled(call)
        raise
    finally:
        leave(tokens)
    if call is not None:
        _watch(call, found, response, stream, _decompresses(session, options))
        if call.reservation is not None:  # what settled() looks at first: no coroutine without one
            await settled(call)
    return response


def _url(session: aiohttp.ClientSession, str_or_url: Any) -> URL | None:
    """The URL the session will request (joined to its ``base_url``), or None when it is invalid."""
    try:
        build = getattr(session, "_build_url", None)
        url = URL(str_or_url) if build is None else build(str_or_url)
    except Exception:  # aiohttp raises its own error for it
        return None
    return url if url.absolute else None


def _start(
    found: Route, session: aiohttp.ClientSession, url: URL, options: dict[str, Any], telemetry: Telemetry
) -> tuple[Call | None, bool | None, RequestSize]:
    """Open the call; ``options`` get the rewritten body when the stream should report its usage.
    Returns the call, whether a stream was asked for, and what a budget reserves for the request."""
    try:
        body, content = _request_body(options, found.adapter)
        call, stream = open_call(
            found,
            telemetry,
            host=url.host,
            port=url.port or default_port(url.scheme),
            body=body,
            credentials=partial(_credentials, session, url, options),
        )
        if wants_stream_usage(found, body) and not _states_length(options.get("headers")):
            if content is None:
                options["json"] = with_stream_usage(body)
            else:  # exact, as it will be sent, and of the type the caller gave (str or bytes)
                rebuilt = json.dumps(with_stream_usage(json.loads(content)), separators=(",", ":"))
                options["data"] = rebuilt if isinstance(options["data"], str) else rebuilt.encode()
        return call, stream, request_size(content, body)
    except Exception as exc:
        internal_error("starting a call", exc)
        return None, None, UNKNOWN_SIZE


def _request_body(options: Mapping[str, Any], adapter: object) -> tuple[Any, bytes | None]:
    """The request's JSON body decoded as ``adapter`` reads it, and its bytes when it was given as
    bytes or text."""
    body = options.get("json")
    if body is not None:
        return body, None
    data = options.get("data")
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, bytes | bytearray | memoryview):
        return None, None
    content = bytes(data)
    if content[:1] not in (b"{", b" ", b"\n"):
        return None, None
    return decode_request(content, adapter, settings.capture_content), content


def _states_length(headers: Any) -> bool:
    """Whether the caller set Content-Length itself (then the body is sent as given)."""
    return bool(headers) and "content-length" in CIMultiDict(headers)


def _credentials(session: aiohttp.ClientSession, url: URL, options: Mapping[str, Any]) -> list[str]:
    """The credentials the request carries: headers (the session's and its own), a ``key`` query
    parameter, a basic-auth password."""
    headers = CIMultiDict(session.headers)
    if options.get("headers"):
        headers.extend(CIMultiDict(options["headers"]))
    values = credential_values(lambda name: headers.getall(name, ()))
    query = url.extend_query(options["params"]) if options.get("params") else url
    values.extend(query.query.getall("key", ()))
    for auth in (options.get("auth"), getattr(session, "auth", None)):
        password = getattr(auth, "password", None)
        if password:
            values.append(password)
    return values


def _status_error(exc: BaseException) -> str | None:
    """The status of an error response that aiohttp raised for (``raise_for_status``)."""
    status = getattr(exc, "status", None) if isinstance(exc, aiohttp.ClientResponseError) else None
    return str(status) if isinstance(status, int) and status >= 400 else None


def _decompresses(session: aiohttp.ClientSession, options: Mapping[str, Any]) -> bool:
    """Whether aiohttp decodes the response's Content-Encoding for this request."""
    chosen = options.get("auto_decompress")
    return bool(getattr(session, "auto_decompress", True) if chosen is None else chosen)


def _decoder(content_encoding: str | None, decompressed: bool) -> Decoder | None:
    """A decoder for the bytes the caller reads: aiohttp has decoded one known encoding already."""
    if decompressed and content_encoding and content_encoding.strip().lower() in _DECOMPRESSED:
        content_encoding = None
    return make_decoder(content_encoding)


def _watch(
    call: Call, found: Route, response: aiohttp.ClientResponse, stream: bool | None, decompressed: bool
) -> None:
    """Finish the call now (an error status) or when the caller is done with the body."""
    try:
        if finished_by_status(call, response.status):
            return
        headers = response.headers
        decoder = _decoder(headers.get("Content-Encoding"), decompressed)
        meter = body_meter(call, found, stream, headers.get, decoder)
        read = getattr(response, "_body", None)
        if read is not None:  # a client middleware read the body already: the caller gets that copy
            meter.chunk(read)
            meter.end("complete")
            return
        response.content = MeteredContent(response.content, meter, plain=decoder is IDENTITY)
    except Exception as exc:
        internal_error("watching a response", exc)
        call.finish(ending="error", error_type="llmmeter_internal")
