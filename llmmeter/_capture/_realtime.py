"""The Realtime capture point: OpenAI Realtime sessions over WebSocket, through ``websockets``.

``instrument()`` replaces the opening handshake of the ``websockets`` client connections, sync
(``websockets.sync.client.ClientConnection``) and asyncio
(``websockets.asyncio.client.ClientConnection``). Every ``connect()`` of that library performs it,
so this covers connections opened after ``instrument()``:

* by the openai SDK's ``client.realtime.connect(...)``, on ``OpenAI`` and ``AsyncOpenAI`` (and Azure);
* by a raw ``websockets`` client, sync or asyncio, however ``connect`` was imported, before
  ``instrument()`` or after it, and through subclasses of ``connect`` or of ``ClientConnection``
  (``create_connection=``) that keep the base handshake.

A connection whose URL path ends in ``/realtime`` (any host) becomes a session: at the handshake
its own ``recv``, ``send`` and ``close`` are wrapped (instance attributes, so other WebSocket
connections in the process are not touched at all). Not covered: connections opened before
``instrument()``, messages read with ``recv_streaming()`` (fragment by fragment), websockets'
deprecated legacy API, and other WebSocket libraries.

What the application reads (``recv``, iteration, the SDK's events) is metered as it reads it, on its
path; an event it never reads is not seen. A spent ``budget()`` refuses a new connection and every
``response.create`` the application sends, raising :class:`llmmeter.BudgetExceeded` before the
message leaves; responses the server starts on its own (voice activity detection) cannot be refused
from the client, but are counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus

from llmmeter._budgets._estimate import stated_output_limit
from llmmeter._budgets._reserve import areserve, reserve
from llmmeter._capture._patching import Patch
from llmmeter._capture._refusal import UNKNOWN_SIZE, areserve_or_refuse, refusal_for, reserve_or_refuse
from llmmeter._errors import BudgetExceeded
from llmmeter._guard import internal_error
from llmmeter._providers import _realtime as protocol
from llmmeter._providers._base import RequestInfo
from llmmeter._settings import settings
from llmmeter._telemetry import _names as n
from llmmeter._telemetry._call import Telemetry
from llmmeter._telemetry._record import Ending
from llmmeter._telemetry._scrub import CREDENTIAL_HEADERS
from llmmeter._telemetry._session import Session
from llmmeter._tracking import enclosing_budgets

__all__ = ["patches"]

_CLASSES = ("websockets.sync.client", "websockets.asyncio.client")
_CLIENT_EVENTS = frozenset({protocol.RESPONSE_CREATE})


def patches(telemetry: Telemetry) -> list[Patch]:
    """Replace the handshake of websockets' sync and asyncio client connections."""
    from websockets.asyncio.client import ClientConnection as AsyncClientConnection
    from websockets.sync.client import ClientConnection

    return [
        _HandshakePatch(ClientConnection, "handshake", telemetry, asynchronous=False),
        _HandshakePatch(AsyncClientConnection, "handshake", telemetry, asynchronous=True),
    ]


class _HandshakePatch(Patch):
    """A client connection's ``handshake``, replaced by one that meters Realtime sessions."""

    __slots__ = ()

    def _sync_wrapper(self, telemetry: Telemetry) -> Callable[..., Any]:
        def handshake(connection: Any, *args: Any, **kwargs: Any) -> Any:
            original = self.original_for(connection)
            found = _target(connection) if self.active else None
            if found is not None:
                reserve_or_refuse(found.provider, None, UNKNOWN_SIZE)
            session = _open(found, connection, telemetry)
            if session is None:
                return original(*args, **kwargs)
            try:
                result = original(*args, **kwargs)
            except BaseException as exc:
                _failed(session, connection, exc)
                raise
            _meter_sync(connection, session)
            return result

        return handshake

    def _async_wrapper(self, telemetry: Telemetry) -> Callable[..., Any]:
        async def handshake(connection: Any, *args: Any, **kwargs: Any) -> Any:
            original = self.original_for(connection)
            found = _target(connection) if self.active else None
            if found is not None:
                await areserve_or_refuse(found.provider, None, UNKNOWN_SIZE)
            session = _open(found, connection, telemetry)
            if session is None:
                return await original(*args, **kwargs)
            try:
                result = await original(*args, **kwargs)
            except BaseException as exc:
                _failed(session, connection, exc)
                raise
            _meter_async(connection, session)
            return result

        return handshake


def _open(found: protocol.Target | None, connection: Any, telemetry: Telemetry) -> Session | None:
    """A session for a connection to a Realtime endpoint, else None."""
    if found is None:
        return None
    try:
        request = RequestInfo(
            provider=found.provider,
            operation=n.OP_CHAT,
            model=found.model,
            server_address=found.host,
            server_port=found.port,
        )
        session = Session(telemetry, request)
        session.end_when_collected(connection)
        return session
    except Exception as exc:
        internal_error("starting a realtime session", exc)
        return None


def _target(connection: Any) -> protocol.Target | None:
    try:
        uri = connection.protocol.uri
        return protocol.target(uri.host, uri.port, uri.path, uri.query)
    except Exception as exc:
        internal_error("reading a WebSocket URL", exc)
        return None


def _response_request(session: Session, message: str | bytes) -> tuple[RequestInfo, int | None] | None:
    """What a budget reserves for a ``response.create`` (None when it is not one): the session's
    model, and the output limit the event states. Its input is the conversation the server holds,
    which the client cannot see: it reserves the stated output only."""
    event = protocol.parse_event(message, _CLIENT_EVENTS)
    if event is None:
        return None
    response = event.get("response")
    limit = stated_output_limit(response) if isinstance(response, dict) else None
    info = RequestInfo(
        provider=session.request.provider,
        operation=session.request.operation,
        model=session.model or session.request.model,
    )
    return info, limit


def _failed(session: Session, connection: Any, exc: BaseException) -> None:
    """End the session of a handshake that failed (refused, redirected, timed out, cancelled)."""
    session.credentials = _credentials(connection)
    if isinstance(exc, asyncio.CancelledError):
        session.end("cancelled", exception=exc)
        return
    response = getattr(exc, "response", None) if isinstance(exc, InvalidStatus) else None
    status = getattr(response, "status_code", None)
    session.end("error", str(status) if status else None, exc)


def _credentials(connection: Any) -> Callable[[], list[str]]:
    """The credential header values the handshake sent, read now (holding no reference to it)."""
    headers = getattr(getattr(connection, "request", None), "headers", None)
    values = [] if headers is None else [v for name in CREDENTIAL_HEADERS for v in headers.get_all(name)]
    return lambda: values


class _Events:
    """Reads the messages of one session as the application receives and sends them."""

    __slots__ = ("session",)

    def __init__(self, session: Session) -> None:
        self.session = session

    def received(self, message: Any) -> None:
        """Take one received message: most are skipped by a look at their first bytes."""
        kind = protocol.event_type(message)
        if kind is not None and kind not in protocol.SERVER_EVENTS:
            return
        session = self.session
        if not session.open:
            return
        try:
            event = protocol.parse_event(message, protocol.SERVER_EVENTS)
            if event is not None:
                _dispatch(session, event)
        except Exception as exc:
            internal_error("reading a realtime event", exc)

    def _response_create(self, message: Any) -> tuple[RequestInfo, int | None] | None:
        if not isinstance(message, str | bytes) or not enclosing_budgets():
            return None
        kind = protocol.event_type(message)
        if kind is not None and kind != protocol.RESPONSE_CREATE:
            return None
        return _response_request(self.session, message)

    def sending(self, message: Any) -> None:
        """Reserve for a ``response.create`` (refused when it could pass a budget); let everything
        else through."""
        request = self._response_create(message)
        if request is not None:
            try:
                reservation = reserve(request[0], 0, request[1])
            except BudgetExceeded as refusal:
                self.session.refused(refusal)
                raise refusal_for(self.session.request.provider, refusal) from None
            self.session.reservations.append(reservation)

    async def asending(self, message: Any) -> None:
        """:meth:`sending` in async code."""
        request = self._response_create(message)
        if request is not None:
            try:
                reservation = await areserve(request[0], 0, request[1])
            except BudgetExceeded as refusal:
                self.session.refused(refusal)
                raise refusal_for(self.session.request.provider, refusal) from None
            self.session.reservations.append(reservation)

    def closed(self, exc: ConnectionClosed) -> None:
        """The connection is closed: normally (``ConnectionClosedOK``), or not."""
        if isinstance(exc, ConnectionClosedOK):
            _end(self.session)
        else:
            _end(self.session, "error", exc)


def _end(session: Session, ending: Ending = "complete", exception: BaseException | None = None) -> None:
    """End ``session``; an llmmeter bug there never replaces what the application is raising."""
    try:
        session.end(ending, exception=exception)
    except Exception as exc:
        internal_error("ending a realtime session", exc)


def _dispatch(session: Session, event: dict[str, Any]) -> None:
    kind = event["type"]
    if kind == protocol.RESPONSE_DONE:
        info = protocol.response_info(event, session.model, settings.capture_content)
        session.response_done(protocol.response_id(event), info)
    elif kind == protocol.RESPONSE_CREATED:
        session.response_started(protocol.response_id(event))
    elif kind == protocol.ERROR:
        session.error(*protocol.error_details(event))
    else:
        session.created(protocol.session_id(event), protocol.session_model(event))


def _meter_sync(connection: Any, session: Session) -> None:
    """Wrap a sync connection's ``recv``, ``send`` and ``close`` for its session."""
    try:
        session.credentials = _credentials(connection)
        events = _Events(session)
        recv, send, close = connection.recv, connection.send, connection.close
        deltas = protocol.DELTA_HEADS  # most events: skipped here, without a call of ours

        def metered_recv(*args: Any, **kwargs: Any) -> Any:
            try:
                message = recv(*args, **kwargs)
            except ConnectionClosed as exc:
                events.closed(exc)
                raise
            if type(message) is not str or not message.startswith(deltas):
                events.received(message)
            return message

        def metered_send(message: Any, *args: Any, **kwargs: Any) -> Any:
            events.sending(message)
            try:
                return send(message, *args, **kwargs)
            except ConnectionClosed as exc:
                events.closed(exc)
                raise

        def metered_close(*args: Any, **kwargs: Any) -> Any:
            try:
                return close(*args, **kwargs)
            finally:
                _end(session)

        connection.recv, connection.send, connection.close = metered_recv, metered_send, metered_close
    except Exception as exc:
        internal_error("metering a realtime connection", exc)
        session.end("error", "llmmeter_internal")


def _meter_async(connection: Any, session: Session) -> None:
    """Wrap an asyncio connection's ``recv``, ``send`` and ``close`` for its session."""
    try:
        session.credentials = _credentials(connection)
        events = _Events(session)
        recv, send, close = connection.recv, connection.send, connection.close
        deltas = protocol.DELTA_HEADS

        async def metered_recv(*args: Any, **kwargs: Any) -> Any:
            try:
                message = await recv(*args, **kwargs)
            except ConnectionClosed as exc:
                events.closed(exc)
                raise
            if type(message) is not str or not message.startswith(deltas):
                events.received(message)
            return message

        async def metered_send(message: Any, *args: Any, **kwargs: Any) -> Any:
            await events.asending(message)
            try:
                return await send(message, *args, **kwargs)
            except ConnectionClosed as exc:
                events.closed(exc)
                raise

        async def metered_close(*args: Any, **kwargs: Any) -> Any:
            try:
                return await close(*args, **kwargs)
            finally:
                _end(session)

        connection.recv, connection.send, connection.close = metered_recv, metered_send, metered_close
    except Exception as exc:
        internal_error("metering a realtime connection", exc)
        session.end("error", "llmmeter_internal")
