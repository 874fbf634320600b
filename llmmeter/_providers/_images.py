"""OpenAI's Images API: ``/images/generations`` (JSON) and ``/images/edits`` (multipart uploads).

GPT Image models (gpt-image-1, -1.5, -1-mini) report token ``usage``: ``input_tokens`` with
``input_tokens_details`` {``text_tokens``, ``image_tokens``}, ``output_tokens``, and on newer
responses ``output_tokens_details`` {``image_tokens``, ``text_tokens``}. Each modality has its own
rate, so the image parts are kept apart; output tokens without details are all image tokens (the
image is the output). The response names no model: the request's is priced.

Streamed (``stream=true``), the body is server-sent events: ``image_generation.partial_image`` /
``image_edit.partial_image`` (a base64 preview, never parsed) and ``image_generation.completed`` /
``image_edit.completed``, which carries the usage. DALL-E models report no usage: they are billed
per image by the size and quality the request asked for (``n`` images, or as many as the response
returned), and so is a GPT Image response without usage (a proxy, an older server), as an estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmmeter._providers._base import RequestInfo, ResponseInfo, get_str, is_object
from llmmeter._providers._media import (
    event_error_type,
    event_type,
    field_bool,
    field_int,
    payload_of,
)
from llmmeter._providers._messages import Message, output_message, prompt_messages, text_part, uri_part
from llmmeter._telemetry import _names as n
from llmmeter._usage import Usage, checked_usage, count, get

__all__ = ["IMAGES", "from_openai_images"]

_COMPLETED = frozenset({"image_generation.completed", "image_edit.completed"})
_PARTIAL = frozenset({"image_generation.partial_image", "image_edit.partial_image"})
_PARTIAL_PREFIXES = tuple(f"event: {name}\n".encode() for name in sorted(_PARTIAL))


@checked_usage
def from_openai_images(usage: Any) -> Usage:
    """Convert an Images API ``usage`` object (also the Responses API's ``tool_usage.image_gen``).

    Cached text tokens are billed at the cache rate. Cached image tokens (``cached_image_tokens``)
    stay image input tokens, billed at the image input rate: the price table has no cached-image
    rate, and counting them as cache reads too would bill them twice.
    """
    inputs = get(usage, "input_tokens_details")
    outputs = get(usage, "output_tokens_details")
    output_tokens = count(usage, "output_tokens")
    cached_details = get(usage, "cached_tokens_details")
    if cached_details is not None:
        cached = count(cached_details, "cached_text_tokens")
    else:
        cached = count(usage, "cached_tokens") or count(inputs, "cached_tokens")
    return Usage(
        input_tokens=count(usage, "input_tokens"),
        input_image_tokens=count(inputs, "image_tokens"),
        cache_read_tokens=cached,
        output_tokens=output_tokens,
        output_image_tokens=output_tokens if outputs is None else count(outputs, "image_tokens"),
    )


def _usage_with_images(body: Mapping[str, Any], images: int) -> Usage | None:
    usage = body.get("usage")
    if is_object(usage):
        result = from_openai_images(usage)
        if result.invalid is None:
            result.images = images
        return result
    return Usage(images=images) if images else None


def _requested(request: RequestInfo, result: ResponseInfo) -> ResponseInfo:
    """``result`` with the size and quality the request asked for, which per-image prices depend on."""
    size = request.params.get(n.REQUEST_IMAGE_SIZE)
    quality = request.params.get(n.REQUEST_IMAGE_QUALITY)
    result.size = size if isinstance(size, str) else None
    result.quality = quality if isinstance(quality, str) else None
    return result


def _requested_count(request: RequestInfo) -> int:
    """The images a request asked for (``n``, 1 by default)."""
    count_ = request.params.get(n.REQUEST_CHOICE_COUNT)
    return count_ if isinstance(count_, int) and not isinstance(count_, bool) and count_ > 0 else 1


class _ImageStream:
    """Image events: the usage of the completed event; partial images are passed over unparsed."""

    __slots__ = ("_images", "_result")

    def __init__(self, request: RequestInfo) -> None:
        self._result = _requested(request, ResponseInfo(complete=False))
        self._images = 0

    def skips(self, events: bytes) -> bool:
        """Whether ``events`` holds partial images only."""
        return events.startswith(_PARTIAL_PREFIXES) and events.count(b"event: ") == 1

    def ignores(self, event: str) -> bool:
        """Partial images are never read."""
        return event in _PARTIAL

    def record_event(self, event: str, data: str) -> None:
        kind = event_type(event, data)
        if kind in _COMPLETED:
            payload = payload_of(data)
            if payload is None:
                return
            self._images += 1
            # The last completed event's usage is kept, never summed (as for chat choices).
            self._result.usage = _usage_with_images(payload, self._images)
            self._result.complete = True
        elif kind == "error":
            self._result.error_type = event_error_type(data)

    def result(self) -> ResponseInfo:
        return self._result


class ImagesAdapter:
    """``/images/generations`` and ``/images/edits``."""

    content_keys = frozenset({"prompt"})

    reads_forms = True

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        request.model = get_str(body, "model") or request.model
        request.stream = field_bool(body, "stream")
        params = request.params
        params[n.OUTPUT_TYPE] = n.OUTPUT_TYPE_IMAGE
        size = get_str(body, "size")
        if size is not None:
            params[n.REQUEST_IMAGE_SIZE] = size
        quality = get_str(body, "quality")
        if quality is not None:
            params[n.REQUEST_IMAGE_QUALITY] = quality
        count_ = field_int(body, "n")
        if count_ is not None:
            params[n.REQUEST_CHOICE_COUNT] = count_
        if capture_content:
            request.input_messages = prompt_messages(get_str(body, "prompt"))

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = _requested(request, ResponseInfo())
        if not is_object(body):
            return result
        data = body.get("data")
        images = len(data) if isinstance(data, list) else _requested_count(request)
        result.usage = _usage_with_images(body, images)
        if capture_content and isinstance(data, list):
            # The prompt the model used, never the image bytes.
            result.output_messages = [_image_message(item) for item in data if is_object(item)]
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _ImageStream:
        return _ImageStream(request)


IMAGES = ImagesAdapter()


def _image_message(item: Mapping[str, Any]) -> Message:
    """One returned image as an output message: its URL (never its bytes) and revised prompt."""
    parts = []
    url = get_str(item, "url")
    if url is not None:
        parts.append(uri_part(url, "image"))
    revised = get_str(item, "revised_prompt")
    if revised is not None:
        parts.append(text_part(revised))
    return output_message(parts, n.FINISH_STOP)
