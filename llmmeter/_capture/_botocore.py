"""The botocore capture point: Amazon Bedrock Runtime calls made by boto3 and botocore clients.

``instrument()`` replaces ``botocore.client.BaseClient._make_request``, which sends the request of
every operation of every client (clients made before ``instrument()`` too), retries included, and
returns the parsed answer. A call to another service, or to another operation, costs a set lookup
and goes straight through. The four inference operations of ``bedrock-runtime`` are metered:

* ``Converse``: finished from the parsed response before the SDK call returns;
* ``ConverseStream`` and ``InvokeModelWithResponseStream``: the returned ``EventStream`` is wrapped,
  and the call finished when the application is done with it (exhausted, closed, broken, collected);
* ``InvokeModel``: a Claude model's body is read as the application reads it (Anthropic's format);
  any other family's call is finished at once from the token-count response headers.

The call's span is the current span while botocore signs, sends and retries the request, so what
happens below (a log record, a urllib3 instrumentation's span) nests under it. An error answer is
recorded with its AWS error code (``ThrottlingException``) before botocore raises the caller's
``ClientError``. Every enclosing ``budget()`` reserves the request's worst case (its input, and
``inferenceConfig.maxTokens`` or the body's ``max_tokens`` of output) before it is signed and sent,
and refuses it when that would pass the limit. Requests answered by
a ``before-call`` handler (botocore's Stubber) are never sent, so never metered; aiobotocore's
clients are not covered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache, partial
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.eventstream import EventStream
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from opentelemetry import context as otel_context

from llmmeter._capture._patching import Patch
from llmmeter._capture._refusal import UNKNOWN_SIZE, RequestSize, request_size, reserve_or_refuse
from llmmeter._exit import end_at_exit
from llmmeter._guard import internal_error
from llmmeter._pricing._names import bedrock_pricing_name
from llmmeter._providers._base import Adapter, RequestInfo, ResponseInfo, is_object
from llmmeter._providers._bedrock import CONVERSE, INVOKE, InvokeStream, header_usage, speaks_anthropic
from llmmeter._providers._large import BodyWindow
from llmmeter._providers._request_body import decode_request
from llmmeter._settings import settings
from llmmeter._telemetry import _names as n
from llmmeter._telemetry._call import Call, Telemetry
from llmmeter._telemetry._record import Ending

__all__ = ["patches"]

_SERVICE = "bedrock-runtime"
_CONVERSE = "Converse"
_CONVERSE_STREAM = "ConverseStream"
_INVOKE = "InvokeModel"
_INVOKE_STREAM = "InvokeModelWithResponseStream"
_OPERATIONS = frozenset({_CONVERSE, _CONVERSE_STREAM, _INVOKE, _INVOKE_STREAM})
_INVOKE_OPERATIONS = frozenset({_INVOKE, _INVOKE_STREAM})
_STREAM_OPERATIONS = frozenset({_CONVERSE_STREAM, _INVOKE_STREAM})
_INTERNAL = "llmmeter_internal"


def patches(telemetry: Telemetry) -> list[Patch]:
    """Replace ``BaseClient._make_request``, which every botocore client's operations go through."""
    from botocore.client import BaseClient

    return [_RequestPatch(BaseClient, "_make_request", telemetry, asynchronous=False)]


class _RequestPatch(Patch):
    """``BaseClient._make_request``, replaced by one that meters Bedrock Runtime inference calls.

    Not ``_make_api_call``, which OpenTelemetry's botocore instrumentation wraps: its uninstrument
    can only take its wrapper out when it is the outermost one.
    """

    __slots__ = ()

    def _sync_wrapper(self, telemetry: Telemetry) -> Callable[..., Any]:
        def _make_request(client: Any, operation_model: Any, request_dict: Any, request_context: Any) -> Any:
            original = self.original_for(client)
            operation = operation_model.name
            if (
                operation not in _OPERATIONS
                or not self.active
                or client._service_model.service_name != _SERVICE
            ):
                return original(operation_model, request_dict, request_context)
            return _meter(client, operation_model, request_dict, request_context, original, telemetry)

        return _make_request


def _meter(
    client: Any,
    operation_model: Any,
    request: Any,
    context: Any,
    send: Callable[[Any, Any, Any], Any],
    telemetry: Telemetry,
) -> Any:
    """Send one Bedrock Runtime request, metered; what the caller gets back or raised is unchanged.

    ``send(operation_model, request, context)`` is botocore's ``_make_request``: it returns
    ``(http_response, parsed)``, and botocore turns an error status into the caller's ``ClientError``
    after it.
    """
    operation = operation_model.name
    call, body, size = _start(client, operation, request, telemetry)
    reserve_or_refuse(n.PROVIDER_AWS_BEDROCK, call, size)
    if call is None:
        return send(operation_model, request, context)
    attached = otel_context.attach(call.context)
    try:
        http, parsed = answer = send(operation_model, request, context)
    except BaseException as exc:
        call.finish(ending="error", error_type=_error_code(exc), exception=exc)
        raise
    finally:
        otel_context.detach(attached)
    if http.status_code >= 300:
        call.finish(ending="error", error_type=_response_error(parsed, context, http.status_code))
    else:
        _watch(call, operation, body, parsed)
    return answer


def _aws_code(code: Any) -> str | None:
    """An AWS error code as its exception is named (stream exceptions are spelled ``throttlingException``)."""
    if isinstance(code, str) and code:
        return code[:1].upper() + code[1:]
    return None


def _error_code(exc: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (``ThrottlingException``), else the exception's type."""
    if isinstance(exc, ClientError):
        code = _aws_code(exc.response.get("Error", {}).get("Code"))
        if code is not None:
            return code
    return type(exc).__name__


def _response_error(parsed: Any, request_context: Any, status: int) -> str:
    """The error code botocore will raise the caller's ``ClientError`` with, else the status."""
    override = request_context.get("error_code_override") if is_object(request_context) else None
    error = parsed.get("Error") if is_object(parsed) else None
    code = override or (error.get("Code") if is_object(error) else None)
    return _aws_code(code) or str(status)


@lru_cache(maxsize=64)
def _address(url: str) -> tuple[str | None, int | None, str | None, str | None]:
    """Host, port, the model id a request URL names (``/model/{modelId}/converse``) and the name
    the call is priced by (see ``bedrock_pricing_name``)."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    model = unquote(segments[-2]) if len(segments) >= 3 and segments[-3] == "model" else ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname, port, model or None, bedrock_pricing_name(model) if model else None


def _start(
    client: Any, operation: str, request: Any, telemetry: Telemetry
) -> tuple[Call | None, Any, RequestSize]:
    """Open the call; returns it (None after an llmmeter error), the request body, decoded, and what
    a budget reserves for it."""
    try:
        host, port, model, billed_model = _address(request["url"])
        info = RequestInfo(
            provider=n.PROVIDER_AWS_BEDROCK,
            operation=n.OP_CHAT,
            model=model,
            billed_model=billed_model,
            server_address=host,
            server_port=port,
        )
        content = request.get("body")
        if type(content) is str:
            content = content.encode()
        adapter: Adapter = INVOKE if operation in _INVOKE_OPERATIONS else CONVERSE
        body = _json_body(content, adapter)
        if is_object(body):
            adapter.parse_request(info, body, settings.capture_content)
        info.stream = operation in _STREAM_OPERATIONS
        call = Call(telemetry, info, capture=n.CAPTURE_BOTOCORE)
        call.credentials = partial(_credentials, client)
        size = request_size(bytes(content) if isinstance(content, bytes | bytearray) else None, body)
        return call, body, size
    except Exception as exc:
        internal_error("starting a Bedrock call", exc)
        return None, None, UNKNOWN_SIZE


def _json_body(body: Any, adapter: Adapter) -> Any:
    """A request's JSON body (text already encoded), decoded as ``adapter`` reads it; None when it
    is not bytes (a file is never read)."""
    if isinstance(body, bytes | bytearray):
        return decode_request(bytes(body), adapter, settings.capture_content)
    return None


def _credentials(client: Any) -> list[str]:
    """The secrets the client signs with (secret key, session token, bearer token), to keep them out
    of recorded exceptions; read only when an exception is recorded."""
    signer = getattr(client, "_request_signer", None)
    values: list[str] = []
    credentials = getattr(signer, "_credentials", None)
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        values += [value for value in (frozen.secret_key, frozen.token) if value]
    token = getattr(signer, "_auth_token", None)
    if token is not None:
        frozen_token = token.get_frozen_token() if hasattr(token, "get_frozen_token") else token
        value = getattr(frozen_token, "token", None)
        if value:
            values.append(value)
    return values


def _watch(call: Call, operation: str, body: Any, result: Any) -> None:
    """Finish the call now, or when the application is done with the answer's body or stream."""
    try:
        capture = settings.capture_content
        if operation == _CONVERSE:
            call.finish(CONVERSE.parse_response(call.request, result, capture))
        elif operation == _CONVERSE_STREAM:
            meter = _StreamMeter(call, _converse_events(CONVERSE.new_stream(call.request, capture)))
            result["stream"] = _MeteredEventStream(result["stream"], meter)
        elif operation == _INVOKE_STREAM:
            meter = _StreamMeter(call, _invoke_events(INVOKE.new_stream(call.request, capture)))
            result["body"] = _MeteredEventStream(result["body"], meter)
        else:
            _watch_invoke(call, body, result)
    except Exception as exc:
        internal_error("watching a Bedrock response", exc)
        call.finish(ending="error", error_type=_INTERNAL)


def _watch_invoke(call: Call, body: Any, result: Any) -> None:
    headers = result.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    usage = header_usage(headers)
    tier = result.get("serviceTier")
    tier = tier if isinstance(tier, str) and tier != "default" else None
    if speaks_anthropic(call.request.model, body):
        result["body"] = _MeteredBody(
            result["body"], _BodyMeter(call, ResponseInfo(usage=usage, service_tier=tier))
        )
    else:
        call.finish(ResponseInfo(usage=usage, service_tier=tier))


class _BodyMeter:
    """Collects an InvokeModel body as the application reads it; finishes the call at its end."""

    __slots__ = ("__weakref__", "_call", "_chunks", "_fallback", "done")

    def __init__(self, call: Call, fallback: ResponseInfo) -> None:
        self._call = call
        self._fallback = fallback
        self._chunks = BodyWindow(whole=settings.capture_content)
        self.done = False
        end_at_exit(self)

    def chunk(self, data: bytes) -> None:
        if data:
            self._chunks.add(bytes(data))

    def end(self, ending: Ending, exception: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        response = self._fallback
        if ending == "complete":
            try:
                parsed = INVOKE.parse_response(
                    self._call.request, self._chunks.value(), settings.capture_content
                )
            except Exception as exc:
                internal_error("reading a Bedrock response body", exc)
                parsed = response
            if parsed.usage is None:
                parsed.usage = response.usage
            parsed.service_tier = parsed.service_tier or response.service_tier
            response = parsed
        else:
            response.complete = False
        self._call.finish(response, ending=ending, exception=exception)


class _MeteredBody(StreamingBody):  # type: ignore[misc]
    """An InvokeModel ``StreamingBody`` whose reads are seen by a :class:`_BodyMeter`.

    Every reading method of ``StreamingBody`` (``iter_chunks``, ``iter_lines``, iteration) reads
    through :meth:`read`; the rest is passed to the body it wraps.
    """

    def __init__(self, inner: StreamingBody, meter: _BodyMeter) -> None:
        self._inner = inner
        self._meter = meter

    def read(self, amt: int | None = None) -> bytes:
        meter = self._meter
        try:
            chunk: bytes = self._inner.read(amt)
        except BaseException as exc:
            meter.end("error", exc)
            raise
        meter.chunk(chunk)
        if amt is None or (not chunk and amt > 0):
            meter.end("complete")
        return chunk

    def readinto(self, b: Any) -> int:
        meter = self._meter
        try:
            count: int = self._inner.readinto(b)
        except BaseException as exc:
            meter.end("error", exc)
            raise
        meter.chunk(bytes(memoryview(b)[:count]))
        if count == 0 and len(b) > 0:
            meter.end("complete")
        return count

    def readlines(self) -> list[bytes]:
        lines: list[bytes] = self._inner.readlines()
        self._meter.chunk(b"".join(lines))
        self._meter.end("complete")
        return lines

    def readable(self) -> bool:
        return bool(self._inner.readable())

    def tell(self) -> int:
        return int(self._inner.tell())

    def set_socket_timeout(self, timeout: float) -> None:
        self._inner.set_socket_timeout(timeout)

    def __enter__(self) -> Any:
        return self._inner.__enter__()

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._inner.__exit__(*exc_info)
        finally:
            self._meter.end("closed_early")

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._meter.end("closed_early")

    def __del__(self) -> None:
        meter = self.__dict__.get("_meter")
        if meter is not None and not meter.done:
            meter.end("abandoned")


# --- event streams -------------------------------------------------------------------------------------

EventReader = Callable[[dict[str, Any]], None]


def _converse_events(state: Any) -> tuple[EventReader, Callable[[], ResponseInfo]]:
    def read(event: dict[str, Any]) -> None:
        for kind, payload in event.items():
            state.record(kind, payload)

    return read, state.result


def _invoke_events(state: InvokeStream) -> tuple[EventReader, Callable[[], ResponseInfo]]:
    def read(event: dict[str, Any]) -> None:
        for kind, payload in event.items():
            if kind == "chunk":
                data = payload.get("bytes") if is_object(payload) else None
                if isinstance(data, bytes):
                    state.record_chunk(data)
            else:
                state.record_exception(kind)

    return read, state.result


class _StreamMeter:
    """Sees each event of one stream as the application reads it; finishes the call once."""

    __slots__ = ("__weakref__", "_call", "_first", "_read", "_result", "done")

    def __init__(self, call: Call, reader: tuple[EventReader, Callable[[], ResponseInfo]]) -> None:
        self._call = call
        self._read, self._result = reader
        self._first = True
        self.done = False
        end_at_exit(self)

    def event(self, event: Any) -> None:
        if self._first:
            self._first = False
            self._call.first_chunk()
        if type(event) is dict:
            try:
                self._read(event)
            except Exception as exc:
                internal_error("reading a Bedrock stream event", exc)

    def end(self, ending: Ending, exception: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        try:
            result = self._result()
        except Exception as exc:
            internal_error("reading a finished Bedrock stream", exc)
            result = ResponseInfo(complete=False)
        error_type = _error_code(exception) if exception is not None else None
        self._call.finish(result, ending=ending, exception=exception, error_type=error_type)


class _MeteredEventStream(EventStream):  # type: ignore[misc]
    """A botocore ``EventStream`` whose events are seen by a :class:`_StreamMeter` as they are read."""

    def __init__(self, inner: EventStream, meter: _StreamMeter) -> None:
        self._inner = inner
        self._meter = meter

    def __iter__(self) -> Iterator[Any]:
        meter = self._meter
        try:
            for event in self._inner:
                meter.event(event)
                yield event
        except GeneratorExit:
            raise
        except BaseException as exc:
            meter.end("error", exc)
            raise
        meter.end("complete")

    def get_initial_response(self) -> Any:
        return self._inner.get_initial_response()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._meter.end("closed_early")

    def __getattr__(self, name: str) -> Any:
        inner = self.__dict__.get("_inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    def __del__(self) -> None:
        meter = self.__dict__.get("_meter")
        if meter is not None and not meter.done:
            meter.end("abandoned")
