"""Hypothesis strategies for what a broken or hostile provider may send."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from hypothesis import strategies as st

# Field names the adapters and converters look for, so that random structures reach their code.
KNOWN_KEYS = (
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "prompt_tokens_details",
    "completion_tokens_details",
    "cached_tokens",
    "cached_tokens_details",
    "audio_tokens",
    "image_tokens",
    "reasoning_tokens",
    "input_tokens",
    "output_tokens",
    "input_tokens_details",
    "output_tokens_details",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "cache_creation",
    "ephemeral_5m_input_tokens",
    "ephemeral_1h_input_tokens",
    "input_token_details",
    "output_token_details",
    "cache_read",
    "priority_cache_read",
    "reasoning",
    "model",
    "id",
    "choices",
    "index",
    "delta",
    "content",
    "text",
    "message",
    "finish_reason",
    "stop_reason",
    "service_tier",
    "error",
    "type",
    "code",
    "status",
    "output",
    "response",
    "incomplete_details",
    "reason",
    "stream",
    "stream_options",
    "include_usage",
    "messages",
    "input",
    "prompt",
    "temperature",
    "max_tokens",
    "stop",
    "stop_sequences",
    "n",
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["[DONE]", "message_start", "response.completed", "stop", "gpt-4o", ""]),
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=6)),
    max_leaves=25,
)
json_objects = st.dictionaries(keys, json_values, max_size=8)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def mutated(draw: st.DrawFn, value: Any, max_changes: int = 3) -> Any:
    """``value`` with up to ``max_changes`` of its parts replaced by any JSON (a wrong type, mostly)."""
    for _ in range(draw(st.integers(1, max_changes))):
        path = draw(st.sampled_from(_paths(value)))
        value = _replace(value, path, draw(json_values))
    return value


@st.composite
def truncated_json(draw: st.DrawFn, value: Any) -> str:
    """The JSON text of ``value`` cut short somewhere."""
    text = json.dumps(value)
    return text[: draw(st.integers(0, max(len(text) - 1, 0)))]


def namespaces(value: Any) -> Any:
    """An SDK-like object tree: mappings with identifier keys become attribute objects."""
    if isinstance(value, dict):
        fields = {k: namespaces(v) for k, v in value.items() if isinstance(k, str) and k.isidentifier()}
        return SimpleNamespace(**fields)
    if isinstance(value, list):
        return [namespaces(item) for item in value]
    return value
