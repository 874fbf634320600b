"""One normalized usage type, and converters from what providers report.

Every count follows one convention, whatever the provider:

* ``input_tokens`` is ALL input: uncached, cache reads, cache writes, audio and image included.
* ``output_tokens`` is ALL output: reasoning, audio and image included.
* every other token count is a part of one of those two, never an addition to them.

Converters accept what a provider sends (a mapping decoded from JSON, or an SDK object with the
same attributes) and never raise on a malformed value: a field of the wrong type (text, a bool)
is treated as absent, and a number that cannot be a count (negative, NaN, infinite, fractional, or
beyond a signed 64-bit integer, which no metric exporter can encode) makes the whole usage
invalid: :attr:`Usage.invalid` names the field, and every count is zero.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "Usage",
    "checked_usage",
    "count",
    "from_anthropic",
    "from_bedrock",
    "from_bedrock_metrics",
    "from_langchain",
    "from_ollama",
    "from_openai_chat",
    "from_openai_embeddings",
    "from_openai_realtime",
    "from_openai_responses",
    "get",
]


@dataclass(slots=True)
class Usage:
    """What one LLM call consumed, in the convention described in this module's docstring.

    A value object: llmmeter never changes one after making it, and neither should its readers.
    (It is not frozen because frozen dataclasses are several times slower to build, and one is
    built for every call.)
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    """Cache writes at the default (5-minute) duration."""
    cache_write_1h_tokens: int = 0
    """Cache writes at the 1-hour duration (Anthropic)."""
    reasoning_tokens: int = 0
    input_audio_tokens: int = 0
    cache_read_audio_tokens: int = 0
    """The audio part of ``cache_read_tokens``."""
    cache_read_image_tokens: int = 0
    """The image part of ``cache_read_tokens`` (OpenAI Realtime and image models)."""
    output_audio_tokens: int = 0
    input_image_tokens: int = 0
    output_image_tokens: int = 0
    training_tokens: int = 0
    seconds: float = 0.0
    """Seconds of generated video or processed audio, for models billed by time."""
    images: int = 0
    requests: int = 0
    characters: int = 0
    """Characters of input text, for models billed by the character (text to speech: tts-1)."""
    invalid: str | None = None
    """Set when the provider reported a count that cannot be one: the field at fault. Such usage is
    never priced nor written to a metric; its counts are all zero."""

    @property
    def cache_write_total(self) -> int:
        """Cache writes of every duration."""
        return self.cache_write_tokens + self.cache_write_1h_tokens

    @property
    def is_empty(self) -> bool:
        """True when nothing at all was reported."""
        return not (
            self.input_tokens
            or self.output_tokens
            or self.training_tokens
            or self.seconds
            or self.images
            or self.requests
            or self.characters
        )

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(**{name: getattr(self, name) + getattr(other, name) for name in _FIELD_NAMES})

    def as_dict(self) -> dict[str, int | float]:
        """The non-zero counts, by field name."""
        return {name: value for name in _FIELD_NAMES if (value := getattr(self, name))}


_FIELD_NAMES = tuple(f.name for f in fields(Usage) if f.name != "invalid")
_INT64_MAX = 2**63 - 1
_NO_DETAILS: dict[str, Any] = {}
"""Read in place of a details object the provider left out (never written to)."""


class _InvalidCount(Exception):
    """A reported count that cannot be one; caught by the converter that met it."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _checked(convert: Callable[[Any], Usage]) -> Callable[[Any], Usage]:
    """Turn a converter's invalid count, or a total beyond int64, into an invalid Usage."""

    @functools.wraps(convert)
    def checked(usage: Any) -> Usage:
        try:
            result = convert(usage)
        except _InvalidCount as invalid:
            return Usage(invalid=invalid.key)
        if result.input_tokens > _INT64_MAX:
            return Usage(invalid="input_tokens")
        return result

    return checked


def _get(source: Any, key: str) -> Any:
    if type(source) is dict:
        return source.get(key)
    if source is None:
        return None
    if isinstance(source, Mapping):
        return source.get(key)
    return getattr(source, key, None)


def _as_count(value: Any, key: str = "count") -> int:
    """A count: 0 when absent or of another type (text, bool); raises :class:`_InvalidCount` for a
    number that cannot be a count (negative, NaN, infinite, fractional, beyond int64)."""
    if type(value) is int:
        if 0 <= value <= _INT64_MAX:
            return value
        raise _InvalidCount(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if value != value or not 0 <= value <= _INT64_MAX or value != int(value):
        raise _InvalidCount(key)
    return int(value)


def _count(source: Any, key: str, *path: str) -> int:
    """The count at ``key`` (then ``path``) in ``source``, or 0 when it is absent or of another type."""
    if type(source) is dict:
        value = source.get(key)
    elif source is None:
        return 0
    else:
        value = _get(source, key)
    if path:
        for key in path:  # the last key names the count
            value = value.get(key) if type(value) is dict else _get(value, key)
    if type(value) is int and 0 <= value <= _INT64_MAX:
        return value
    if value is None:
        return 0
    return _as_count(value, key)


def from_openai_chat(usage: Any) -> Usage:
    """Convert an OpenAI Chat Completions (or legacy Completions) ``usage`` object, as OpenAI and
    the servers compatible with it report it.

    ``prompt_tokens`` already includes cached and audio tokens; ``completion_tokens`` already
    includes reasoning and audio tokens, except where ``total_tokens`` shows the reasoning was
    counted beside it (xAI), and is then added to it.
    """
    return _wire_openai_chat(usage) or _openai_chat(usage)


def _wire_openai_chat(usage: Any) -> Usage | None:
    """The chat shape read directly, as decoded from the wire; None when it is not a dict or a
    count is not a count as the wire usually sends it (then read by :func:`_openai_chat`)."""
    if type(usage) is not dict:
        return None
    get = usage.get
    prompt = get("prompt_tokens_details") or _NO_DETAILS
    completion = get("completion_tokens_details") or _NO_DETAILS
    if type(prompt) is not dict or type(completion) is not dict:
        return None
    input_tokens, output_tokens = get("prompt_tokens", 0), get("completion_tokens", 0)
    cached, input_audio = prompt.get("cached_tokens", 0), prompt.get("audio_tokens", 0)
    input_image = prompt.get("image_tokens", 0)
    reasoning, output_audio = completion.get("reasoning_tokens", 0), completion.get("audio_tokens", 0)
    output_image = completion.get("image_tokens", 0)
    if not (
        type(input_tokens) is type(output_tokens) is type(cached) is type(input_audio) is int
        and type(input_image) is type(reasoning) is type(output_audio) is type(output_image) is int
    ):
        return None
    bits = input_tokens | output_tokens | cached | input_audio | input_image | reasoning
    if (bits | output_audio | output_image) >> 63:  # a count negative, or beyond int64
        return None
    if not cached and not _CACHE_HIT_KEYS.isdisjoint(usage):
        return None  # cache hits a compatible server reports outside the details
    if reasoning and get("total_tokens") == input_tokens + output_tokens + reasoning:
        output_tokens += reasoning  # reported beside the completion, not inside it (xAI)
    # Positional, in the order of Usage's fields: CPython builds a dict for a class called with
    # keywords, some 450 instructions a keyword (this usage: 7,300 instructions against 3,600).
    # The usages read on every call are built so; the property tests in tests/test_usage.py hold
    # each to its checked twin, built with keywords.
    return Usage(
        input_tokens,
        output_tokens,
        cached,
        0,  # cache write
        0,  # cache write 1h
        reasoning,
        input_audio,
        0,  # cache read audio
        0,  # cache read image
        output_audio,
        input_image,
        output_image,
    )


@_checked
def _openai_chat(usage: Any) -> Usage:
    """:func:`from_openai_chat` for any shape: an SDK object, a count of another type."""
    prompt = _get(usage, "prompt_tokens_details")
    completion = _get(usage, "completion_tokens_details")
    input_tokens = _count(usage, "prompt_tokens")
    output_tokens = _count(usage, "completion_tokens")
    reasoning = _count(completion, "reasoning_tokens")
    if reasoning and _get(usage, "total_tokens") == input_tokens + output_tokens + reasoning:
        output_tokens += reasoning
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=_count(prompt, "cached_tokens") or _cache_hits(usage),
        input_audio_tokens=_count(prompt, "audio_tokens"),
        input_image_tokens=_count(prompt, "image_tokens"),
        reasoning_tokens=reasoning,
        output_audio_tokens=_count(completion, "audio_tokens"),
        output_image_tokens=_count(completion, "image_tokens"),
    )


_CACHE_HIT_KEYS = frozenset({"prompt_cache_hit_tokens", "cached_tokens"})


def _cache_hits(usage: Any) -> int:
    """Cached input tokens where a compatible server puts them outside ``prompt_tokens_details``:
    DeepSeek's ``prompt_cache_hit_tokens``, Together's ``cached_tokens`` (both inside
    ``prompt_tokens``)."""
    return _count(usage, "prompt_cache_hit_tokens") or _count(usage, "cached_tokens")


@_checked
def from_openai_embeddings(usage: Any) -> Usage:
    """Convert an embeddings ``usage`` object: ``prompt_tokens``, or, from servers that report only
    ``total_tokens`` (Voyage), that total, which for an embedding is all input."""
    input_tokens = _count(usage, "prompt_tokens")
    if not input_tokens and _get(usage, "prompt_tokens") is None:
        input_tokens = _count(usage, "total_tokens")
    return Usage(input_tokens=input_tokens)


def from_openai_responses(usage: Any) -> Usage:
    """Convert an OpenAI Responses API ``usage`` object.

    ``input_tokens`` includes cached tokens; ``output_tokens`` includes reasoning tokens.
    """
    return _wire_input_output(usage, _RESPONSES_DETAILS) or _checked_responses(usage)


def from_openai_realtime(usage: Any) -> Usage:
    """Convert the ``usage`` of an OpenAI Realtime ``response.done`` event.

    The Responses API's shape under other detail keys (``input_token_details``): ``input_tokens``
    includes cached tokens, and each modality's count (``audio_tokens``, ``image_tokens``) includes
    its cached part (``cached_tokens_details``).
    """
    return _wire_input_output(usage, _REALTIME_DETAILS) or _checked_realtime(usage)


_RESPONSES_DETAILS = ("input_tokens_details", "output_tokens_details")
_REALTIME_DETAILS = ("input_token_details", "output_token_details")


def _wire_input_output(usage: Any, detail_keys: tuple[str, str]) -> Usage | None:
    """The Responses shape read directly, as decoded from the wire; None when it is not a dict or
    a count is not a count as the wire usually sends it (then read by :func:`_input_output_usage`)."""
    if type(usage) is not dict:
        return None
    input_details = usage.get(detail_keys[0]) or _NO_DETAILS
    output_details = usage.get(detail_keys[1]) or _NO_DETAILS
    if type(input_details) is not dict or type(output_details) is not dict:
        return None
    cached_details = input_details.get("cached_tokens_details") or _NO_DETAILS
    if type(cached_details) is not dict:
        return None
    input_tokens, output_tokens = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
    cached, input_audio = input_details.get("cached_tokens", 0), input_details.get("audio_tokens", 0)
    input_image = input_details.get("image_tokens", 0)
    cached_audio, cached_image = cached_details.get("audio_tokens", 0), cached_details.get("image_tokens", 0)
    reasoning, output_audio = output_details.get("reasoning_tokens", 0), output_details.get("audio_tokens", 0)
    output_image = output_details.get("image_tokens", 0)
    if not (
        type(input_tokens) is type(output_tokens) is type(cached) is type(input_audio) is int
        and type(input_image) is type(cached_audio) is type(cached_image) is type(reasoning) is int
        and type(output_audio) is type(output_image) is int
    ):
        return None
    bits = input_tokens | output_tokens | cached | input_audio | input_image | cached_audio | cached_image
    if (bits | reasoning | output_audio | output_image) >> 63:  # a count negative, or beyond int64
        return None
    # Positional, in the order of Usage's fields (see _wire_openai_chat).
    return Usage(
        input_tokens,
        output_tokens,
        cached,
        0,  # cache write
        0,  # cache write 1h
        reasoning,
        input_audio,
        cached_audio,
        cached_image,
        output_audio,
        input_image,
        output_image,
    )


@_checked
def _checked_responses(usage: Any) -> Usage:
    return _input_output_usage(usage, *_RESPONSES_DETAILS)


@_checked
def _checked_realtime(usage: Any) -> Usage:
    return _input_output_usage(usage, *_REALTIME_DETAILS)


def _input_output_usage(usage: Any, input_key: str, output_key: str) -> Usage:
    input_details = _get(usage, input_key)
    output_details = _get(usage, output_key)
    cached_details = _get(input_details, "cached_tokens_details")
    return Usage(
        input_tokens=_count(usage, "input_tokens"),
        output_tokens=_count(usage, "output_tokens"),
        cache_read_tokens=_count(input_details, "cached_tokens"),
        cache_read_audio_tokens=_count(cached_details, "audio_tokens"),
        cache_read_image_tokens=_count(cached_details, "image_tokens"),
        input_audio_tokens=_count(input_details, "audio_tokens"),
        input_image_tokens=_count(input_details, "image_tokens"),
        reasoning_tokens=_count(output_details, "reasoning_tokens"),
        output_audio_tokens=_count(output_details, "audio_tokens"),
        output_image_tokens=_count(output_details, "image_tokens"),
    )


def from_anthropic(usage: Any) -> Usage:
    """Convert an Anthropic Messages ``usage`` object.

    Anthropic's ``input_tokens`` EXCLUDES cache reads and writes, so they are added here to give
    the total input. When ``cache_creation`` splits writes by duration, the split is kept.
    """
    if type(usage) is dict:  # as decoded from the wire: read directly when every count is a count
        get = usage.get
        split = get("cache_creation") or _NO_DETAILS
        details = get("output_tokens_details") or _NO_DETAILS
        if type(split) is dict and type(details) is dict:
            uncached, output = get("input_tokens", 0), get("output_tokens", 0)
            cache_read, cache_write = get("cache_read_input_tokens", 0), get("cache_creation_input_tokens", 0)
            write_5m = split.get("ephemeral_5m_input_tokens", 0)
            write_1h = split.get("ephemeral_1h_input_tokens", 0)
            thinking = details.get("thinking_tokens", 0)
            if (
                type(uncached) is type(output) is type(cache_read) is type(cache_write) is int
                and type(write_5m) is type(write_1h) is type(thinking) is int
                and not (uncached | output | cache_read | cache_write | write_5m | write_1h | thinking)
                >> 63  # none negative, none beyond int64
            ):
                return _anthropic_usage(
                    uncached, output, cache_read, cache_write, write_5m, write_1h, thinking
                )
    return _checked_anthropic(usage)


@_checked
def _checked_anthropic(usage: Any) -> Usage:
    cache_read = _count(usage, "cache_read_input_tokens")
    cache_write = _count(usage, "cache_creation_input_tokens")
    write_5m = _count(usage, "cache_creation", "ephemeral_5m_input_tokens")
    write_1h = _count(usage, "cache_creation", "ephemeral_1h_input_tokens")
    uncached, output = _count(usage, "input_tokens"), _count(usage, "output_tokens")
    thinking = _count(usage, "output_tokens_details", "thinking_tokens")
    return _anthropic_usage(uncached, output, cache_read, cache_write, write_5m, write_1h, thinking)


def _anthropic_usage(
    uncached: int, output: int, cache_read: int, cache_write: int, write_5m: int, write_1h: int, thinking: int
) -> Usage:
    if write_5m + write_1h:
        cache_write = max(cache_write, write_5m + write_1h)
    input_tokens = uncached + cache_read + cache_write
    if input_tokens > _INT64_MAX:
        return Usage(invalid="input_tokens")
    # Positional, in the order of Usage's fields (see _wire_openai_chat).
    return Usage(input_tokens, output, cache_read, cache_write - write_1h, write_1h, thinking)


@_checked
def from_bedrock(usage: Any) -> Usage:
    """Convert an Amazon Bedrock Converse ``usage`` (``TokenUsage``) object.

    Like Anthropic's, Bedrock's ``inputTokens`` EXCLUDES ``cacheReadInputTokens`` and
    ``cacheWriteInputTokens``: they are added here to give the total input. ``cacheDetails`` splits
    the writes by time to live (``5m``, ``1h``); the 1-hour part is kept apart.
    """
    if type(usage) is dict and "cacheDetails" not in usage:  # as decoded from the wire: read directly
        get = usage.get
        uncached, output = get("inputTokens", 0), get("outputTokens", 0)
        cache_read, cache_write = get("cacheReadInputTokens", 0), get("cacheWriteInputTokens", 0)
        if (
            type(uncached) is type(output) is type(cache_read) is type(cache_write) is int
            and not (uncached | output | cache_read | cache_write) >> 63
        ):
            return Usage(
                input_tokens=uncached + cache_read + cache_write,
                output_tokens=output,
                cache_read_tokens=cache_read,
                cache_write_tokens=cache_write,
            )
    cache_read = _count(usage, "cacheReadInputTokens")
    cache_write = _count(usage, "cacheWriteInputTokens")
    write_1h = 0
    details = _get(usage, "cacheDetails")
    if isinstance(details, list):
        for detail in details:
            if _get(detail, "ttl") == "1h":
                write_1h += _count(detail, "inputTokens")
    cache_write = max(cache_write, write_1h)
    return Usage(
        input_tokens=_count(usage, "inputTokens") + cache_read + cache_write,
        output_tokens=_count(usage, "outputTokens"),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write - write_1h,
        cache_write_1h_tokens=write_1h,
    )


def from_bedrock_metrics(metrics: Any) -> Usage:
    """Convert Bedrock's ``amazon-bedrock-invocationMetrics`` (the last event of an InvokeModel stream).

    As in Converse, ``inputTokenCount`` EXCLUDES cache reads and writes, which are added here.
    """
    cache_read = _count(metrics, "cacheReadInputTokenCount")
    cache_write = _count(metrics, "cacheWriteInputTokenCount")
    return Usage(
        input_tokens=_count(metrics, "inputTokenCount") + cache_read + cache_write,
        output_tokens=_count(metrics, "outputTokenCount"),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


@_checked
def from_ollama(body: Any) -> Usage:
    """Convert the counts of an Ollama response (its final ``done`` line, when streamed).

    ``prompt_eval_count`` is the prompt's tokens (those evaluated: a prompt cached from the previous
    call counts less), ``eval_count`` the generated tokens, thinking included.
    """
    return Usage(input_tokens=_count(body, "prompt_eval_count"), output_tokens=_count(body, "eval_count"))


_DETAIL_SUFFIXES = ("cache_creation", "cache_read", "audio", "image", "reasoning")


def _detail_sums(details: Any) -> dict[str, int]:
    """Per suffix of :data:`_DETAIL_SUFFIXES`, the sum of the detail keys equal to it or ending in
    ``_{suffix}`` (a tier prefix: ``priority_cache_read``), in one pass."""
    sums = dict.fromkeys(_DETAIL_SUFFIXES, 0)
    if not isinstance(details, Mapping):
        return sums
    for key, value in details.items():
        if not isinstance(key, str):
            continue
        suffix = key if key in sums else key.rpartition("_")[2]
        if suffix not in sums:
            # Two-word suffixes: ``priority_cache_read`` ends in ``cache_read``, not ``read``.
            suffix = next((s for s in ("cache_creation", "cache_read") if key.endswith("_" + s)), "")
        if suffix:
            sums[suffix] += _as_count(value, key)
    return sums


@_checked
def from_langchain(usage_metadata: Any) -> Usage:
    """Convert a LangChain ``UsageMetadata`` mapping (``AIMessage.usage_metadata``).

    LangChain's ``input_tokens`` includes cache reads and writes. Detail keys may carry a tier
    prefix (``priority_cache_read``, ``flex_reasoning``); they count like the unprefixed key.
    Anthropic's ``ephemeral_1h_input_tokens`` inside ``input_token_details`` marks 1-hour writes.
    """
    inputs = _get(usage_metadata, "input_token_details")
    ins = _detail_sums(inputs)
    outs = _detail_sums(_get(usage_metadata, "output_token_details"))
    cache_write = ins["cache_creation"]
    write_1h = _count(inputs, "ephemeral_1h_input_tokens")
    return Usage(
        input_tokens=_count(usage_metadata, "input_tokens"),
        output_tokens=_count(usage_metadata, "output_tokens"),
        cache_read_tokens=ins["cache_read"],
        cache_write_tokens=max(cache_write - write_1h, 0),
        cache_write_1h_tokens=min(write_1h, cache_write) if cache_write else write_1h,
        input_audio_tokens=ins["audio"],
        input_image_tokens=ins["image"],
        reasoning_tokens=outs["reasoning"],
        output_audio_tokens=outs["audio"],
        output_image_tokens=outs["image"],
    )


# For converters kept beside their adapters (media endpoints): the same checks as the ones above.
checked_usage = _checked
count = _count
get = _get
