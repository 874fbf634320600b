"""The httpx capture point: one implementation for httpx and httpx2, sync and async.

:func:`meter_sync` and :func:`meter_async` take a request and the function that sends it; the
wrapper transports and the patched ``Client.send`` / ``AsyncClient.send`` (``instrument()``, see
:func:`patches`) both use them. The send path every client passes through, whatever its transport
(a custom one, aiohttp-backed, a mock), is replaced by one that meters and then calls the original;
a metered transport under it passes the call through, so it is counted once. The request,
response, stream and exceptions pass through unchanged; only a copy of the body is read.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from functools import cache, partial
from operator import itemgetter
from types import ModuleType
from typing import Any

from llmmeter._capture._forms import form_fields
from llmmeter._capture._http import (
    body_meter,
    credential_values,
    default_port,
    endpoint,
    enter,
    finished_by_status,
    leave,
    open_call,
    read_whole,
    wants_stream_usage,
    with_stream_usage,
)
from llmmeter._capture._patching import Patch
from llmmeter._capture._refusal import (
    UNKNOWN_SIZE,
    RequestSize,
    areserve_or_refuse,
    request_size,
    reserve_or_refuse,
    settled,
)
from llmmeter._capture._streams import async_stream_class, sync_stream_class
from llmmeter._guard import internal_error
from llmmeter._providers._decoding import make_decoder
from llmmeter._providers._request_body import decode_request
from llmmeter._providers._routing import Route
from llmmeter._settings import settings
from llmmeter._telemetry._call import Call, Telemetry

__all__ = ["library_of", "meter_async", "meter_sync", "patches"]

_LIBRARY_NAMES = ("httpx2", "httpx")
_libraries: dict[type, ModuleType] = {}


def library_of(obj: Any) -> ModuleType:
    """The HTTP library (``httpx`` or ``httpx2``) that a transport, request or response belongs to.

    Decided by isinstance, not ``__module__``: SDKs re-export these classes under their own name.
    """
    cls = type(obj)
    library = _libraries.get(cls)
    if library is None:
        for name in _LIBRARY_NAMES:
            module = sys.modules.get(name)
            if module is not None and issubclass(
                cls, (module.BaseTransport, module.AsyncBaseTransport, module.Request, module.Response)
            ):
                library = _libraries[cls] = module
                break
        else:
            raise TypeError(f"{cls.__qualname__} is neither an httpx nor an httpx2 object")
    return library


@cache
def _decoded_by(library: ModuleType) -> frozenset[str] | None:
    """The content encodings ``library`` decodes for its callers (None when it does not say)."""
    supported = getattr(getattr(library, "_decoders", None), "SUPPORTED_DECODERS", None)
    return None if supported is None else frozenset(supported)


def meter_sync(request: Any, send: Callable[[Any], Any], telemetry: Telemetry) -> Any:
    """Send ``request`` with ``send``, metering it when it is an LLM call.

    The call's span is the current span while the request is sent, so what happens below (an
    httpx instrumentation's span, a log record) nests under it.
    """
    url = request.url
    host, port = url.host, url.port
    found = endpoint(request.method, host, url.path, port)
    if found is None:
        return send(request)
    call, request, stream, size = _start(found, request, telemetry, host, port or default_port(url.scheme))
    reserve_or_refuse(found.provider, call, size)
    tokens = enter(call)
    try:
        response = send(request)
    except BaseException as exc:
        if call is not None:
            call.finish(ending="error", exception=exc)
        raise
    finally:
        leave(tokens)
    if call is not None:
        _watch(call, found, response, async_body=False, stream=stream)
    return response


async def meter_async(request: Any, send: Callable[[Any], Awaitable[Any]], telemetry: Telemetry) -> Any:
    """Async twin of :func:`meter_sync`; a cancelled request is recorded as cancelled."""
    url = request.url
    host, port = url.host, url.port
    found = endpoint(request.method, host, url.path, port)
    if found is None:
        return await send(request)
    call, request, stream, size = _start(found, request, telemetry, host, port or default_port(url.scheme))
    if size is not None:  # a budget encloses the call (no coroutine made for none)
        await areserve_or_refuse(found.provider, call, size)
    tokens = enter(call)
    try:
        response = await send(request)
    except asyncio.CancelledError as exc:
        if call is not None:
            call.finish(ending="cancelled", exception=exc)
        raise
    except BaseException as exc:
        if call is not None:
            call.finish(ending="error", exception=exc)
            await settled(call)
        raise
    finally:
        leave(tokens)
    if call is not None:
        _watch(call, found, response, async_body=True, stream=stream)
        if call.reservation is not None:
            await settled(call)
    return response


def _start(
    found: Route, request: Any, telemetry: Telemetry, host: str, port: int
) -> tuple[Call | None, Any, bool | None, RequestSize]:
    """Open the call for ``request`` to ``host`` and ``port``; returns it, the request to send
    (rewritten only when asked), whether the request asked for a streamed response (None when its
    body could not be read) and what a budget reserves for it."""
    try:
        content = _json_content(request)
        body: Any = None
        if content is not None:
            body = decode_request(content, found.adapter, settings.capture_content)
        elif getattr(found.adapter, "reads_forms", False):
            body = form_fields(request)  # an upload: its text fields, never its files' bytes
        call, stream = open_call(
            found,
            telemetry,
            host=host,
            port=port,
            body=body,
            credentials=partial(credential_values, request.headers.get_list),
        )
        if content and wants_stream_usage(found, body):
            request = _with_body(request, with_stream_usage(json.loads(content)))  # exact, as it will be sent
        return call, request, stream, request_size(content, body)
    except Exception as exc:
        internal_error("starting a call", exc)
        return None, request, None, UNKNOWN_SIZE


def _json_content(request: Any) -> bytes | None:
    """The request body when it looks like a JSON object, else None (nothing is parsed here)."""
    try:
        content = request.content
    except Exception:  # a streaming request body that was not read: leave it alone
        return None
    if not content or content[:1] not in (b"{", b" ", b"\n"):
        return None
    return bytes(content)


def _with_body(request: Any, body: Mapping[str, Any]) -> Any:
    content = json.dumps(body, separators=(",", ":")).encode()
    headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
    library = library_of(request)
    return library.Request(
        request.method, request.url, headers=headers, content=content, extensions=request.extensions
    )


def _watch(call: Call, found: Route, response: Any, *, async_body: bool, stream: bool | None) -> None:
    """Finish the call now (an error status) or when the caller is done with the body."""
    try:
        if finished_by_status(call, response.status_code):
            return
        if getattr(response, "is_stream_consumed", False):
            # Built from in-memory content (a mock, a cache): read, and decoded, before we saw it.
            read_whole(call, found, stream, response.headers.get, response.content)
            return
        header = _header_reader(response.headers)
        library = library_of(response)
        decoder = make_decoder(header("content-encoding"), _decoded_by(library))
        meter = body_meter(call, found, stream, header, decoder)
        wrapper = async_stream_class(library) if async_body else sync_stream_class(library)
        response.stream = wrapper(response.stream, meter)
    except Exception as exc:
        internal_error("watching a response", exc)
        call.finish(ending="error", error_type="llmmeter_internal")


def _header_reader(headers: Any) -> Callable[[str], str | None]:
    """Case-insensitive reads of an httpx response's headers, cheap for a name that is absent.

    ``Headers.get`` scans every header in Python and raises, then catches, a KeyError for a name
    that is not there (16,000 instructions with the two dozen headers of an OpenAI answer), and
    most names llmmeter asks about are not. httpx and httpx2 keep each header as (name, lower-case
    name, value) in ``Headers._list``: the lower-case names are searched in C, and ``get`` reads
    the value of a name that is there. Headers kept otherwise are read with ``get`` alone.
    """
    get: Callable[[str], str | None] = headers.get
    listed = getattr(headers, "_list", None)
    if type(listed) is not list or (listed and not (type(listed[0]) is tuple and len(listed[0]) == 3)):
        return get
    return lambda name: get(name) if name.lower().encode("latin-1") in map(_LOWER_NAME, listed) else None


_LOWER_NAME = itemgetter(1)


def patches(telemetry: Telemetry) -> list[Patch]:
    """Replace ``send`` of the ``Client`` and ``AsyncClient`` of httpx and of httpx2 (when installed)."""
    found: list[Patch] = []
    for name in _LIBRARY_NAMES:
        try:
            library = importlib.import_module(name)
        except ImportError:
            continue
        found.append(_SendPatch(library.Client, "send", telemetry, asynchronous=False))
        found.append(_SendPatch(library.AsyncClient, "send", telemetry, asynchronous=True))
    return found


class _SendPatch(Patch):
    """A client's ``send``, replaced by one that meters LLM calls."""

    __slots__ = ()

    def _sync_wrapper(self, telemetry: Telemetry) -> Callable[..., Any]:
        def send(client: Any, request: Any, *, stream: bool = False, **options: Any) -> Any:
            original = self.original_for(client)
            if not self.active:
                return original(request, stream=stream, **options)
            # Sent as a stream, so the body passes through llmmeter's stream wrapper; then read
            # here when the caller asked for a read body, exactly as Client.send itself does.
            response = meter_sync(request, lambda r: original(r, stream=True, **options), telemetry)
            if not stream:
                try:
                    response.read()
                except BaseException:
                    response.close()
                    raise
            return response

        return send

    def _async_wrapper(self, telemetry: Telemetry) -> Callable[..., Any]:
        async def send(client: Any, request: Any, *, stream: bool = False, **options: Any) -> Any:
            original = self.original_for(client)
            if not self.active:
                return await original(request, stream=stream, **options)
            response = await meter_async(request, lambda r: original(r, stream=True, **options), telemetry)
            if not stream:
                try:
                    await response.aread()
                except BaseException:
                    await response.aclose()
                    raise
            return response

        return send
