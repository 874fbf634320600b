"""Google's Gemini wire format, spoken by the Gemini API and by Vertex AI alike.

``:generateContent`` and ``:streamGenerateContent`` (``?alt=sse``: each event a whole
``GenerateContentResponse``) answer with ``candidates`` and ``usageMetadata``; ``:embedContent``,
``:batchEmbedContents`` and Vertex's ``:predict`` for embedding models answer with embeddings.
The model is named by the URL (routing puts it on the request), not by the body.

Usage (``usageMetadata``): ``promptTokenCount`` INCLUDES ``cachedContentTokenCount``;
``toolUsePromptTokenCount`` is input too, outside the prompt count; ``thoughtsTokenCount`` is
reasoning, billed as output and NOT inside ``candidatesTokenCount``; ``promptTokensDetails`` and
``cacheTokensDetails`` split input by modality (audio has its own rate on Flash models).
Streamed chunks repeat the usage so far: the last one is the call's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmmeter._providers._base import (
    RequestInfo,
    ResponseInfo,
    copy_params,
    get_str,
    is_object,
    loads_or_none,
)
from llmmeter._providers._gemini_content import gemini_input, gemini_output
from llmmeter._providers._messages import output_message, text_part
from llmmeter._providers._sse import SSEParser
from llmmeter._telemetry import _names as n
from llmmeter._usage import Usage, checked_usage, count, get

__all__ = ["EMBED_CONTENT", "GENERATE_CONTENT", "from_gemini"]

_PARAMS = {
    "temperature": n.REQUEST_TEMPERATURE,
    "topP": n.REQUEST_TOP_P,
    "topK": n.REQUEST_TOP_K,
    "maxOutputTokens": n.REQUEST_MAX_TOKENS,
    "stopSequences": n.REQUEST_STOP_SEQUENCES,
    "candidateCount": n.REQUEST_CHOICE_COUNT,
    "seed": n.REQUEST_SEED,
    "presencePenalty": n.REQUEST_PRESENCE_PENALTY,
    "frequencyPenalty": n.REQUEST_FREQUENCY_PENALTY,
}
# The REST API also accepts the protobuf field names.
_PARAMS.update(
    {
        "top_p": n.REQUEST_TOP_P,
        "top_k": n.REQUEST_TOP_K,
        "max_output_tokens": n.REQUEST_MAX_TOKENS,
        "stop_sequences": n.REQUEST_STOP_SEQUENCES,
        "candidate_count": n.REQUEST_CHOICE_COUNT,
        "presence_penalty": n.REQUEST_PRESENCE_PENALTY,
        "frequency_penalty": n.REQUEST_FREQUENCY_PENALTY,
    }
)


def _modality_count(details: Any, modality: str) -> int:
    """The tokens of ``modality`` (``AUDIO``, ``IMAGE``...) in a ``*TokensDetails`` list."""
    total = 0
    if isinstance(details, list):
        for entry in details:
            if get(entry, "modality") == modality:
                total += count(entry, "tokenCount") or count(entry, "token_count")
    return total


def _field(usage: Any, camel: str, snake: str) -> Any:
    value = get(usage, camel)
    return get(usage, snake) if value is None else value


def _count(usage: Any, camel: str, snake: str) -> int:
    return count(usage, camel) or count(usage, snake)


@checked_usage
def _any_usage(usage: Any) -> Usage:
    """:func:`from_gemini` for any form of ``usageMetadata``: camelCase or snake_case keys, a mapping
    or an object, counts of any type (checked as ``_usage`` checks them)."""
    prompt = _count(usage, "promptTokenCount", "prompt_token_count")
    tool_prompt = _count(usage, "toolUsePromptTokenCount", "tool_use_prompt_token_count")
    cached = _count(usage, "cachedContentTokenCount", "cached_content_token_count")
    candidates = _count(usage, "candidatesTokenCount", "candidates_token_count")
    thoughts = _count(usage, "thoughtsTokenCount", "thoughts_token_count")
    prompt_details = _field(usage, "promptTokensDetails", "prompt_tokens_details")
    cache_details = _field(usage, "cacheTokensDetails", "cache_tokens_details")
    output_details = _field(usage, "candidatesTokensDetails", "candidates_tokens_details")
    return Usage(
        input_tokens=prompt + tool_prompt,
        output_tokens=candidates + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
        input_audio_tokens=_modality_count(prompt_details, "AUDIO"),
        cache_read_audio_tokens=_modality_count(cache_details, "AUDIO"),
        output_audio_tokens=_modality_count(output_details, "AUDIO"),
        output_image_tokens=_modality_count(output_details, "IMAGE"),
    )


_SNAKE_KEYS = frozenset(
    {
        "prompt_token_count",
        "tool_use_prompt_token_count",
        "cached_content_token_count",
        "candidates_token_count",
        "thoughts_token_count",
        "prompt_tokens_details",
        "cache_tokens_details",
        "candidates_tokens_details",
        "candidatesTokensDetails",
    }
)
"""Keys that send a ``usageMetadata`` to the general reader: google-genai's snake_case names, and
the output details (audio and image output, rare)."""
_INT64_MAX = 2**63 - 1


def _wire_audio(details: Any) -> int:
    """The ``AUDIO`` tokens of a ``*TokensDetails`` value as the wire sends it (absent, or a list of
    objects with positive integer counts); -1 for anything else (read by :func:`_modality_count`)."""
    if details is None:
        return 0
    if type(details) is not list:
        return -1
    total = 0
    for entry in details:
        if type(entry) is not dict:
            return -1
        if entry.get("modality") == "AUDIO":
            tokens = entry.get("tokenCount")
            if type(tokens) is not int or not 0 < tokens <= _INT64_MAX:
                return -1  # zero or absent, the general reader looks at token_count too; or invalid
            total += tokens
    return total


def from_gemini(usage: Any) -> Usage:
    """Convert a Gemini ``usageMetadata`` object (camelCase as on the wire, or snake_case as in
    google-genai's types) into a :class:`Usage`; see the module docstring for what counts mean.

    A decoded wire object (camelCase keys, integer counts within int64, input details of plain
    objects) is read directly; anything else by :func:`_any_usage`, which gives the same result
    for what both read.
    """
    if type(usage) is not dict or not usage.keys().isdisjoint(_SNAKE_KEYS):
        return _any_usage(usage)
    get = usage.get
    prompt = get("promptTokenCount", 0)
    tool_prompt = get("toolUsePromptTokenCount", 0)
    cached = get("cachedContentTokenCount", 0)
    candidates = get("candidatesTokenCount", 0)
    thoughts = get("thoughtsTokenCount", 0)
    if not (type(prompt) is type(tool_prompt) is type(cached) is type(candidates) is type(thoughts) is int):
        return _any_usage(usage)
    if (prompt | tool_prompt | cached | candidates | thoughts) >> 63:  # a negative count, or beyond int64
        return _any_usage(usage)
    input_audio = _wire_audio(get("promptTokensDetails"))
    cache_audio = _wire_audio(get("cacheTokensDetails"))
    if input_audio < 0 or cache_audio < 0:
        return _any_usage(usage)
    input_tokens = prompt + tool_prompt
    if input_tokens > _INT64_MAX:
        return Usage(invalid="input_tokens")
    return Usage(
        input_tokens=input_tokens,
        output_tokens=candidates + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
        input_audio_tokens=input_audio,
        cache_read_audio_tokens=cache_audio,
    )


def _error_type(error: Any) -> str:
    """A body's ``error`` object as an ``error.type``: its status (``RESOURCE_EXHAUSTED``), else code."""
    status = get_str(error, "status")
    if status is not None:
        return status
    code = error.get("code") if is_object(error) else None
    return str(code) if isinstance(code, int) and not isinstance(code, bool) else n.ERROR_TYPE_OTHER


def _read_response(result: ResponseInfo, body: Any, capture_content: bool) -> None:
    """Fill what ``result`` lacks from one ``GenerateContentResponse`` (a whole answer, or a stream
    chunk). Chunks are read last to first: each field comes from the last chunk that has it."""
    if type(body) is not dict and not is_object(body):
        return
    if result.model is None:
        model = body.get("modelVersion")
        if isinstance(model, str) and model:
            result.model = model
    if result.response_id is None:
        response_id = body.get("responseId")
        if isinstance(response_id, str) and response_id:
            result.response_id = response_id
    if result.usage is None:
        usage = body.get("usageMetadata")
        if usage is not None and is_object(usage):
            result.usage = from_gemini(usage)
    if result.error_type is None:
        error = body.get("error")
        if error is not None:
            result.error_type = _error_type(error)
    candidates = body.get("candidates")
    if isinstance(candidates, list):
        if not result.finish_reasons:
            reasons = result.finish_reasons
            for candidate in candidates:  # the reasons of those that state one, in order
                if type(candidate) is dict:
                    reason = candidate.get("finishReason")
                else:
                    reason = get_str(candidate, "finishReason")
                if isinstance(reason, str) and reason:
                    reasons.append(reason)
        if capture_content:
            result.output_messages = gemini_output(candidates)


_Kept = tuple[int, str | bytes]
"""A chunk kept for the end: its arrival number, and its data (one event's) or raw bytes (whole events)."""


class _GenerateStream:
    """The chunks of ``:streamGenerateContent?alt=sse``.

    Every chunk may repeat the id, the model and the usage so far, so none is parsed as it arrives:
    three are kept as they came (an event's data, or the raw bytes of whole events) and parsed at
    the end: the first, the last that carried usage and the last that reported finish reasons, each
    field read from the last of them that has it. A stream is complete once a finish reason came.
    """

    __slots__ = ("_capture", "_count", "_finishing", "_first", "_last_usage", "_text")

    def __init__(self, capture_content: bool) -> None:
        self._capture = capture_content
        self._count = 0
        self._first: _Kept | None = None
        self._last_usage: _Kept | None = None
        self._finishing: _Kept | None = None
        self._text: dict[int, list[str]] = {}

    def skips(self, events: bytes) -> bool:
        """Keep a chunk of whole events unparsed (unless its text is captured)."""
        if self._capture:
            return False
        self._count += 1
        kept = (self._count, events)
        if self._first is None:
            self._first = kept
        if events.find(b'"usageMetadata"') != -1:
            self._last_usage = kept
        if events.find(b'"finishReason"') != -1:
            self._finishing = kept
        return True

    def record_event(self, event: str, data: str) -> None:
        self._count += 1
        kept = (self._count, data)
        if self._first is None:
            self._first = kept
        if '"usageMetadata"' in data:
            self._last_usage = kept
        if '"finishReason"' in data:
            self._finishing = kept
        if self._capture:
            self._collect_text(data)

    def _collect_text(self, data: str) -> None:
        chunk = loads_or_none(data)
        candidates = chunk.get("candidates") if is_object(chunk) else None
        if not isinstance(candidates, list):
            return
        for position, candidate in enumerate(candidates):
            index = candidate.get("index", position) if is_object(candidate) else position
            content = candidate.get("content") if is_object(candidate) else None
            parts = content.get("parts") if is_object(content) else None
            if isinstance(parts, list):
                texts = self._text.setdefault(index if isinstance(index, int) else position, [])
                texts.extend(text for part in parts if (text := get_str(part, "text")))

    def result(self) -> ResponseInfo:
        result = ResponseInfo(complete=False)
        kept = {item[0]: item[1] for item in (self._first, self._last_usage, self._finishing) if item}
        events: list[str | bytes] = []
        for number in sorted(kept):
            data = kept[number]
            if isinstance(data, bytes):
                parser = SSEParser(lambda event, text: events.append(text))
                parser.feed(data)
                parser.close()
            else:
                events.append(data)
        for data in reversed(events):
            _read_response(result, loads_or_none(data), capture_content=False)
        if result.finish_reasons:
            result.complete = True
        if self._capture and self._text:
            reasons = result.finish_reasons
            result.output_messages = [
                output_message([text_part("".join(texts))], reasons[i] if i < len(reasons) else None)
                for i, texts in sorted(self._text.items())
            ]
        return result


class GenerateContentAdapter:
    """``:generateContent`` and ``:streamGenerateContent`` (the model and the stream come from the URL)."""

    content_keys = frozenset({"contents", "systemInstruction", "system_instruction", "tools"})

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        config = body.get("generationConfig", body.get("generation_config"))
        if config is not None and is_object(config):
            copy_params(config, _PARAMS, request.params)
        if capture_content:
            request.system_instructions, request.input_messages = gemini_input(body)

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = ResponseInfo()
        if isinstance(body, list):  # :streamGenerateContent without alt=sse: a JSON array of chunks
            for chunk in reversed(body):
                _read_response(result, chunk, capture_content=False)
            return result
        _read_response(result, body, capture_content)
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _GenerateStream:
        return _GenerateStream(capture_content)


def _embedding_usage(body: Mapping[str, Any]) -> Usage | None:
    """``usageMetadata`` (Vertex ``:embedContent``), else the token counts of Vertex ``:predict``'s
    ``predictions[].embeddings.statistics``; the Gemini API's embeddings report none."""
    usage = body.get("usageMetadata")
    if is_object(usage):
        return from_gemini(usage)
    predictions = body.get("predictions")
    if not isinstance(predictions, list):
        return None
    statistics = [get(get(p, "embeddings"), "statistics") for p in predictions if is_object(p)]
    counts = [s for s in statistics if is_object(s) and "token_count" in s]
    if not counts:
        return None
    return _summed_tokens(counts)


@checked_usage
def _summed_tokens(statistics: list[Any]) -> Usage:
    return Usage(input_tokens=sum(count(s, "token_count") for s in statistics))


class EmbedContentAdapter:
    """``:embedContent``, ``:batchEmbedContents`` and Vertex's ``:predict`` for embedding models."""

    content_keys = frozenset({"content", "requests", "instances"})

    def parse_request(self, request: RequestInfo, body: Mapping[str, Any], capture_content: bool) -> None:
        return None

    def parse_response(self, request: RequestInfo, body: Any, capture_content: bool) -> ResponseInfo:
        result = ResponseInfo()
        if is_object(body):
            result.usage = _embedding_usage(body)
            if body.get("error") is not None:
                result.error_type = _error_type(body["error"])
        return result

    def new_stream(self, request: RequestInfo, capture_content: bool) -> _GenerateStream:
        return _GenerateStream(capture_content)  # embeddings are never streamed


GENERATE_CONTENT = GenerateContentAdapter()
EMBED_CONTENT = EmbedContentAdapter()
