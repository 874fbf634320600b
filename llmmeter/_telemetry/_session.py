"""One Realtime session: a span from the connection's handshake to its end, and a call per response.

OpenAI bills a Realtime session per response (each ``response.done`` reports the usage of one
response), so each response is a :class:`~llmmeter._telemetry._call.Call` of its own: a ``chat``
span under the session's span, priced, counted by the enclosing ``track()``/``budget()`` blocks and
recorded in the metrics exactly like an HTTP call. Cost and usage therefore sit on the response
spans; the session's span says ``llmmeter.counted_by="responses"`` and carries a summary under
``llmmeter.realtime.*`` names (responses, tokens, cost), which a sum of ``gen_ai.usage.*`` over the
trace does not count twice.

Names: the GenAI conventions (v1.41.1, and semantic-conventions-genai since) define no Realtime
operation; a Realtime response is the model's turn in a multi-turn conversation, so both spans are
``chat`` (as a Responses API call is), named ``"chat {model}"``, and the session id is
``gen_ai.conversation.id``, which the conventions define as the id of a "conversation (session,
thread)".

The session ends exactly once, whichever comes first: the connection is closed, the server drops
it, the handshake fails, or the connection is garbage collected unclosed (``abandoned``). A
response still open then ends with the session (``closed_early`` or ``error``), unpriced.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import suppress
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from llmmeter._context import active_attributes, active_sinks
from llmmeter._errors import BudgetExceeded
from llmmeter._exit import end_at_exit
from llmmeter._locks import new_lock
from llmmeter._providers._base import RequestInfo, ResponseInfo
from llmmeter._telemetry import _names as n
from llmmeter._telemetry._attributes import refusal_attributes, request_attributes
from llmmeter._telemetry._call import Call, Telemetry
from llmmeter._telemetry._record import CallRecord, Ending
from llmmeter._telemetry._scrub import exception_attributes, secret_forms

if TYPE_CHECKING:
    from llmmeter._budgets._reserve import Reservation

__all__ = ["Session"]


class Session:
    """A Realtime session being metered. Create it when the connection opens; end it once."""

    __slots__ = (
        "__weakref__",
        "_conversation_id",
        "_cost",
        "_errors",
        "_finalizer",
        "_input_tokens",
        "_lock",
        "_model",
        "_output_tokens",
        "_priced",
        "_responses",
        "_telemetry",
        "calls",
        "context",
        "credentials",
        "open",
        "request",
        "reservations",
        "span",
    )

    def __init__(self, telemetry: Telemetry, request: RequestInfo) -> None:
        """Start the session's span now, as a child of the current span."""
        self._telemetry = telemetry
        self.request = request
        self.open = True
        self._lock = new_lock()
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._model: str | None = None
        self._conversation_id: str | None = None
        self._responses = 0
        self._errors = 0
        self._priced = False
        self._cost = Decimal(0)
        self._input_tokens = 0
        self._output_tokens = 0
        self.calls: dict[str | None, Call] = {}
        """The responses in progress, by response id."""
        self.reservations: deque[Reservation | None] = deque()
        """What budgets reserved for each ``response.create`` sent whose response has not started,
        in order: each response started takes the oldest."""
        self.credentials: Callable[[], Iterable[str]] | None = None
        """The credential header values the connection sent, kept out of recorded exceptions."""
        name = f"{request.operation} {request.model}" if request.model else request.operation
        self.span = telemetry.tracer.start_span(
            name,
            kind=SpanKind.CLIENT,
            attributes=request_attributes(request, n.CAPTURE_REALTIME, active_attributes.get()),
        )
        self.context = trace.set_span_in_context(self.span)

    def end_when_collected(self, connection: object) -> None:
        """End the session as ``abandoned`` if ``connection`` is garbage collected before it ends,
        or if the interpreter exits first."""
        finalizer = weakref.finalize(connection, self.end, "abandoned")
        finalizer.atexit = False  # ended by our own exit hook, in its place among the hooks
        self._finalizer = finalizer
        end_at_exit(self)

    def created(self, session_id: str | None, model: str | None) -> None:
        """Take what ``session.created`` (or ``session.updated``) says: the session id and model."""
        if session_id and self._conversation_id is None:
            self._conversation_id = session_id
            if self.span.is_recording():
                self.span.set_attribute(n.CONVERSATION_ID, session_id)
        if model:
            self._model = model

    @property
    def model(self) -> str | None:
        """The model the server said the session runs, once it said so."""
        return self._model

    def response_started(self, response_id: str | None) -> None:
        """A response began (``response.created``): its call and span start now."""
        if self.open and response_id not in self.calls:
            self.calls[response_id] = self._new_call()

    def response_done(self, response_id: str | None, response: ResponseInfo) -> None:
        """A response ended (``response.done``): price it and record it."""
        if not self.open:
            return
        call = self.calls.pop(response_id, None) or self._new_call()
        conversation = self._conversation_id
        call.finish(response, attributes={n.CONVERSATION_ID: conversation} if conversation else None)

    def error(self, error_type: str, code: str | None) -> None:
        """The server sent an ``error`` event: an event on the session's span."""
        self._errors += 1
        if self.span.is_recording():
            attributes = {n.ERROR_TYPE: error_type}
            if code:
                attributes[n.REALTIME_ERROR_CODE] = code
            self.span.add_event(n.REALTIME_ERROR_EVENT, attributes)

    def add(self, record: CallRecord) -> None:
        """Count one finished response in the session's summary (a ``track()``-like sink)."""
        total = record.cost.total
        usage = record.usage
        with self._lock:
            self._responses += 1
            if total is not None:
                self._priced = True
                self._cost += total
            if usage is not None and usage.invalid is None:
                self._input_tokens += usage.input_tokens
                self._output_tokens += usage.output_tokens

    def end(
        self,
        ending: Ending = "complete",
        error_type: str | None = None,
        exception: BaseException | None = None,
    ) -> None:
        """End the session and any response still open; later calls do nothing."""
        with self._lock:
            if not self.open:
                return
            self.open = False
        if self._finalizer is not None:
            self._finalizer.detach()
        if error_type is None and exception is not None:
            error_type = type(exception).__name__
        unfinished: Ending = "closed_early" if ending == "complete" else ending
        unfinished_calls = list(self.calls.values())  # one step: the reading thread may still add one
        self.calls.clear()
        for call in unfinished_calls:
            call.finish(ending=unfinished)
        while self.reservations:  # responses asked for that never started
            reservation = self.reservations.popleft()
            if reservation is not None:
                reservation.release()
        span = self.span
        if span.is_recording():
            span.set_attributes(self._summary(ending, error_type))
            if error_type is not None:
                span.set_status(Status(StatusCode.ERROR, error_type))
                if exception is not None:
                    secrets = () if self.credentials is None else secret_forms(self.credentials())
                    span.record_exception(exception, attributes=exception_attributes(exception, secrets))
        span.end()

    def _new_call(self) -> Call:
        # The session counts its responses as a track() block does: it is one more sink of the call.
        token = active_sinks.set((*active_sinks.get(), self))
        try:
            call = Call(self._telemetry, self.request, capture=n.CAPTURE_REALTIME, parent=self.context)
        finally:
            active_sinks.reset(token)
        reservations = self.reservations
        if reservations:
            with suppress(IndexError):  # taken by another thread meanwhile
                call.reservation = reservations.popleft()
        return call

    def refused(self, refusal: BudgetExceeded) -> None:
        """A budget refused a ``response.create``: an event on the session's span."""
        if self.span.is_recording():
            self.span.add_event(n.BUDGET_REFUSED_EVENT, refusal_attributes(refusal))

    def _summary(self, ending: Ending, error_type: str | None) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            n.COUNTED_BY: n.COUNTED_BY_RESPONSES,
            n.REALTIME_RESPONSES: self._responses,
            n.REALTIME_INPUT_TOKENS: self._input_tokens,
            n.REALTIME_OUTPUT_TOKENS: self._output_tokens,
        }
        if self._priced:
            attributes[n.REALTIME_COST] = float(self._cost)
        if self._model:
            attributes[n.RESPONSE_MODEL] = self._model
        if self._errors:
            attributes[n.REALTIME_ERRORS] = self._errors
        if ending != "complete":
            attributes[n.STREAM_ENDING] = ending
        if error_type is not None:
            attributes[n.ERROR_TYPE] = error_type
        return attributes
