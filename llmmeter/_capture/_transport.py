"""The HTTP capture point: one implementation for httpx and httpx2, sync and async.

:func:`meter_sync` and :func:`meter_async` take a request and the function that sends it; the
wrapper transports and the patched default transports (``instrument()``) both use them. The request,
response, stream and exceptions pass through unchanged; only a copy of the body is read.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from contextvars import Token
from functools import cache, partial
from types import ModuleType
from typing import Any

from opentelemetry import context as otel_context

from llmmeter._capture._body import BodyMeter
from llmmeter._capture._forms import form_fields
from llmmeter._capture._refusal import refusal_for
from llmmeter._capture._streams import async_stream_class, sync_stream_class
from llmmeter._context import sending as _sending
from llmmeter._errors import BudgetExceeded
from llmmeter._exit import end_at_exit
from llmmeter._guard import internal_error
from llmmeter._providers._base import RequestInfo, is_object, loads_or_none
from llmmeter._providers._decoding import make_decoder
from llmmeter._providers._openai import CHAT
from llmmeter._providers._routing import Route, route
from llmmeter._reported import from_headers
from llmmeter._settings import settings
from llmmeter._telemetry._call import Call, Telemetry
from llmmeter._telemetry._scrub import CREDENTIAL_HEADERS
from llmmeter._tracking import check_budgets

__all__ = ["library_of", "meter_async", "meter_sync"]

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


def _llm_endpoint(request: Any) -> Route | None:
    """The route of an LLM call that no enclosing metered transport is already metering."""
    if _sending.get():
        return None
    url = request.url
    return route(request.method, url.host, url.path, url.port)


def meter_sync(request: Any, send: Callable[[Any], Any], telemetry: Telemetry) -> Any:
    """Send ``request`` with ``send``, metering it when it is an LLM call.

    The call's span is the current span while the request is sent, so what happens below (an
    httpx instrumentation's span, a log record) nests under it.
    """
    endpoint = _llm_endpoint(request)
    if endpoint is None:
        return send(request)
    _check_budgets(endpoint)
    call, request, stream = _start(endpoint, request, telemetry)
    tokens = _enter(call)
    try:
        response = send(request)
    except BaseException as exc:
        if call is not None:
            call.finish(ending="error", exception=exc)
        raise
    finally:
        _leave(tokens)
    if call is not None:
        _watch(call, endpoint, response, async_body=False, stream=stream)
    return response


async def meter_async(request: Any, send: Callable[[Any], Awaitable[Any]], telemetry: Telemetry) -> Any:
    """Async twin of :func:`meter_sync`; a cancelled request is recorded as cancelled."""
    endpoint = _llm_endpoint(request)
    if endpoint is None:
        return await send(request)
    _check_budgets(endpoint)
    call, request, stream = _start(endpoint, request, telemetry)
    tokens = _enter(call)
    try:
        response = await send(request)
    except asyncio.CancelledError as exc:
        if call is not None:
            call.finish(ending="cancelled", exception=exc)
        raise
    except BaseException as exc:
        if call is not None:
            call.finish(ending="error", exception=exc)
        raise
    finally:
        _leave(tokens)
    if call is not None:
        _watch(call, endpoint, response, async_body=True, stream=stream)
    return response


def _check_budgets(endpoint: Route) -> None:
    try:
        check_budgets()
    except BudgetExceeded as refusal:
        raise refusal_for(endpoint.provider, refusal) from None


_Tokens = tuple[Token[bool], Token[otel_context.Context] | None]


def _enter(call: Call | None) -> _Tokens:
    """Mark the context as sending and make the call's span current; undone by :func:`_leave`."""
    sending = _sending.set(True)
    return sending, None if call is None else otel_context.attach(call.context)


def _leave(tokens: _Tokens) -> None:
    sending, attached = tokens
    if attached is not None:
        otel_context.detach(attached)
    _sending.reset(sending)


def _start(endpoint: Route, request: Any, telemetry: Telemetry) -> tuple[Call | None, Any, bool | None]:
    """Open the call for ``request``; returns it, the request to send (rewritten only when asked) and
    whether the request asked for a streamed response (None when its body could not be read)."""
    try:
        url = request.url
        info = RequestInfo(
            provider=endpoint.provider,
            operation=endpoint.operation,
            model=endpoint.deployment or endpoint.model,
            server_address=url.host or None,
            server_port=url.port or (443 if url.scheme == "https" else 80),
        )
        adapter = endpoint.adapter
        content = _json_content(request)
        body: Any = None if content is None else loads_or_none(content)
        if content is None and getattr(adapter, "reads_forms", False):
            body = form_fields(request)  # an upload: its text fields, never its files' bytes
        stream = None
        if is_object(body):
            adapter.parse_request(info, body, settings.capture_content)
            if settings.include_stream_usage and adapter is CHAT and content and _wants_usage_option(body):
                request = _with_stream_usage(request, json.loads(content))  # exact, as it will be sent
            stream = info.stream
        if endpoint.stream is not None:
            stream = info.stream = endpoint.stream
        call = Call(telemetry, info)
        call.credentials = partial(_credentials, request.headers)
        return call, request, stream
    except Exception as exc:
        internal_error("starting a call", exc)
        return None, request, None


def _credentials(headers: Any) -> list[str]:
    """The values of the credential headers a request carries."""
    return [value for name in CREDENTIAL_HEADERS for value in headers.get_list(name)]


def _json_content(request: Any) -> bytes | None:
    """The request body when it looks like a JSON object, else None (nothing is parsed here)."""
    try:
        content = request.content
    except Exception:  # a streaming request body that was not read: leave it alone
        return None
    if not content or content[:1] not in (b"{", b" ", b"\n"):
        return None
    return bytes(content)


def _wants_usage_option(body: Mapping[str, Any]) -> bool:
    if body.get("stream") is not True:
        return False
    options = body.get("stream_options")
    return not (is_object(options) and "include_usage" in options)


def _with_stream_usage(request: Any, body: Mapping[str, Any]) -> Any:
    options = body.get("stream_options")
    new_body = {
        **body,
        "stream_options": {**(options if is_object(options) else {}), "include_usage": True},
    }
    content = json.dumps(new_body, separators=(",", ":")).encode()
    headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
    library = library_of(request)
    return library.Request(
        request.method, request.url, headers=headers, content=content, extensions=request.extensions
    )


def _watch(call: Call, endpoint: Route, response: Any, *, async_body: bool, stream: bool | None) -> None:
    """Finish the call now (an error status) or when the caller is done with the body."""
    try:
        status = response.status_code
        if status >= 400:
            call.finish(error_type=str(status), ending="error")
            return
        headers = response.headers
        # The SDKs read the answer to a streamed request as events and any other answer as JSON,
        # whatever its content-type says; the content-type decides only for an unreadable request.
        if stream is None:
            stream = "text/event-stream" in headers.get("content-type", "")
        call.reported = from_headers(headers.get, settings.reported_cost_header, stream)
        if getattr(response, "is_stream_consumed", False):
            # Built from in-memory content (a mock, a cache): read, and decoded, before we saw it.
            meter = BodyMeter(call, endpoint.adapter, make_decoder(None), stream)
            meter.chunk(response.content)
            meter.end("complete")
            return
        library = library_of(response)
        decoder = make_decoder(headers.get("content-encoding"), _decoded_by(library))
        meter = BodyMeter(call, endpoint.adapter, decoder, stream)
        if stream:
            end_at_exit(meter)
        wrapper = async_stream_class(library) if async_body else sync_stream_class(library)
        response.stream = wrapper(response.stream, meter)
    except Exception as exc:
        internal_error("watching a response", exc)
        call.finish(ending="error", error_type="llmmeter_internal")
