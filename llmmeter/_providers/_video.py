"""OpenAI's Videos API (Sora): the POSTs that create a generation job.

``POST /videos`` (multipart, with an optional reference upload), ``POST /videos/{id}/remix`` (JSON,
only a prompt), ``POST /videos/edits`` and ``POST /videos/extensions`` answer at once with a
``Video`` job whose ``status`` is ``queued``; the video is rendered later and fetched by polling
(``GET /videos/{id}``) and downloading (``GET /videos/{id}/content``), which are not calls to price.

The cost is committed when the job is created: what the invoice bills is the requested ``seconds``
at the per-second rate of the model and ``size`` (sora-2-pro costs more above 720p), so the create
call is priced then, from the request's seconds and size, else the job's (a remix names neither;
an extension's request gives the new segment's seconds, its job the stitched total). A job the
response reports ``failed`` is recorded with its error as ``error.type`` and no usage: the API does
not bill a failed generation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmmeter._providers._base import RequestInfo, ResponseInfo, get_str, is_object
from llmmeter._providers._media import error_type, field_int
from llmmeter._providers._messages import prompt_messages
from llmmeter._telemetry import _names as n
from llmmeter._usage import Usage

__all__ = ["VIDEOS"]


class _NoStream:
    """The Videos API does not stream; an event-stream body says nothing."""

    __slots__ = ()

    def record_event(self, event: str, data: str) -> None:
        pass

    def result(self) -> ResponseInfo:
        return ResponseInfo(complete=False)


class VideosAdapter:
    """``/videos``, ``/videos/{id}/remix``, ``/videos/edits``, ``/videos/extensions``."""

    content_keys = frozenset({"prompt"})

    reads_forms = True

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        request.model = get_str(body, "model") or request.model
        seconds = field_int(body, "seconds")
        size = get_str(body, "size")
        if seconds is not None:
            request.params[n.REQUEST_VIDEO_SECONDS] = seconds
            request.expected_usage = Usage(seconds=seconds)
        if size is not None:
            request.params[n.REQUEST_VIDEO_SIZE] = size
        if capture_content:
            request.input_messages = prompt_messages(get_str(body, "prompt"))

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = ResponseInfo()
        if not is_object(body):
            return result
        result.model = get_str(body, "model")
        result.response_id = get_str(body, "id")
        status = get_str(body, "status")
        if status == "failed":
            result.error_type = error_type(body.get("error")) if body.get("error") else "failed"
            result.finish_reasons = ["error"]
            return result
        usage = request.expected_usage
        if usage is None:
            seconds = field_int(body, "seconds")
            usage = Usage(seconds=seconds) if seconds else None
        result.usage = usage
        result.size = _request_size(request) or get_str(body, "size")
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _NoStream:
        return _NoStream()


def _request_size(request: RequestInfo) -> str | None:
    """The size the request asked for."""
    size = request.params.get(n.REQUEST_VIDEO_SIZE)
    return size if isinstance(size, str) else None


VIDEOS = VideosAdapter()
