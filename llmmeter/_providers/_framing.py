"""Stream framings: how a streamed response body is cut into events, and which one a response uses.

A framing is an incremental parser class, made with a sink ``(name, data) -> None``, an optional
``ignores(name) -> bool`` and an optional ``skips(chunk) -> bool`` (asked, where the framing can
tell, about chunks made of whole events), that is fed the decoded body piece by piece:

* :class:`~llmmeter._providers._sse.SSEParser`, server-sent events (OpenAI, Anthropic, Gemini...);
* :class:`~llmmeter._providers._ndjson.NDJSONParser`, one JSON value per line (Ollama);
* :class:`~llmmeter._providers._eventstream.EventStreamParser`, AWS event-stream binary messages
  (Bedrock).

An adapter names its streams' framing with a ``stream_framing`` attribute (SSE when it has none).
"""

from __future__ import annotations

from typing import Any, Protocol

from llmmeter._providers._eventstream import EventStreamParser
from llmmeter._providers._ndjson import NDJSONParser
from llmmeter._providers._sse import ChunkFilter, EventFilter, EventSink, SSEParser

__all__ = ["Framing", "StreamParser", "framing_of_content_type", "stream_framing"]


class StreamParser(Protocol):
    """One stream's parser."""

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the decoded body."""

    def close(self) -> None:
        """The body is over: flush what a text framing may still hold."""


class Framing(Protocol):
    """A framing: makes one parser per stream."""

    def __call__(
        self, sink: EventSink, ignores: EventFilter | None = None, skips: ChunkFilter | None = None, /
    ) -> StreamParser: ...


_BY_CONTENT_TYPE: dict[str, Framing] = {
    "text/event-stream": SSEParser,
    "application/x-ndjson": NDJSONParser,
    "application/ndjson": NDJSONParser,
    "application/jsonl": NDJSONParser,
    "application/vnd.amazon.eventstream": EventStreamParser,
}


def framing_of_content_type(content_type: str | None) -> Framing | None:
    """The framing a ``Content-Type`` names, or None for a body that is not a stream."""
    if not content_type:
        return None
    media_type = content_type.partition(";")[0].strip().lower()
    return _BY_CONTENT_TYPE.get(media_type)


def stream_framing(adapter: Any, stream: bool | None, content_type: str | None) -> Framing | None:
    """The framing of a response body, or None when it is read whole.

    The SDKs read the answer to a streamed request as their API's events and any other answer as
    JSON, whatever its content-type says: ``stream`` (the request's choice) decides, and the
    adapter names the framing. The content-type decides only when the request could not be read
    (``stream`` is None).
    """
    if stream is None:
        return framing_of_content_type(content_type)
    if not stream:
        return None
    framing: Framing = getattr(adapter, "stream_framing", SSEParser)
    return framing
