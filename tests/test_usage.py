"""Usage converters: what each provider reports, in llmmeter's one convention."""

from __future__ import annotations

import math
from typing import Any

import pytest
from anthropic.types import Usage as AnthropicUsage
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types import CompletionUsage
from openai.types.responses import ResponseUsage

from llmmeter import Usage
from llmmeter._usage import (
    _checked_anthropic,
    _checked_responses,
    _openai_chat,
    from_anthropic,
    from_langchain,
    from_openai_chat,
    from_openai_responses,
)


def test_openai_chat_details() -> None:
    """Chat Completions: cached and audio inside prompt_tokens, reasoning and audio inside completion."""
    usage = from_openai_chat(
        {
            "prompt_tokens": 1_000,
            "completion_tokens": 300,
            "total_tokens": 1_300,
            "prompt_tokens_details": {"cached_tokens": 600, "audio_tokens": 100},
            "completion_tokens_details": {"reasoning_tokens": 200, "audio_tokens": 50},
        }
    )
    assert usage == Usage(
        input_tokens=1_000,
        output_tokens=300,
        cache_read_tokens=600,
        input_audio_tokens=100,
        reasoning_tokens=200,
        output_audio_tokens=50,
    )


def test_openai_chat_sdk_object() -> None:
    """The openai SDK's CompletionUsage converts like its JSON."""
    sdk = CompletionUsage.model_validate(
        {
            "prompt_tokens": 50,
            "completion_tokens": 20,
            "total_tokens": 70,
            "prompt_tokens_details": {"cached_tokens": 10},
            "completion_tokens_details": {"reasoning_tokens": 5},
        }
    )
    assert from_openai_chat(sdk) == Usage(
        input_tokens=50, output_tokens=20, cache_read_tokens=10, reasoning_tokens=5
    )


def test_openai_chat_without_details() -> None:
    """Missing or null detail objects count as zero (older models, embeddings)."""
    usage = from_openai_chat({"prompt_tokens": 8, "total_tokens": 8, "prompt_tokens_details": None})
    assert usage == Usage(input_tokens=8)


def test_openai_responses_details() -> None:
    """Responses: cached inside input_tokens, reasoning inside output_tokens."""
    usage = from_openai_responses(
        {
            "input_tokens": 2_000,
            "input_tokens_details": {"cached_tokens": 1_500},
            "output_tokens": 400,
            "output_tokens_details": {"reasoning_tokens": 300},
            "total_tokens": 2_400,
        }
    )
    assert usage == Usage(
        input_tokens=2_000, output_tokens=400, cache_read_tokens=1_500, reasoning_tokens=300
    )


def test_openai_responses_sdk_object() -> None:
    """The openai SDK's ResponseUsage converts like its JSON."""
    sdk = ResponseUsage.model_validate(
        {
            "input_tokens": 30,
            "input_tokens_details": {"cached_tokens": 20, "cache_write_tokens": 0},
            "output_tokens": 9,
            "output_tokens_details": {"reasoning_tokens": 4},
            "total_tokens": 39,
        }
    )
    assert from_openai_responses(sdk) == Usage(
        input_tokens=30, output_tokens=9, cache_read_tokens=20, reasoning_tokens=4
    )


def test_openai_realtime_audio_details() -> None:
    """Realtime usage keeps the audio part of the cached tokens."""
    usage = from_openai_responses(
        {
            "input_tokens": 1_000,
            "input_tokens_details": {
                "cached_tokens": 400,
                "audio_tokens": 700,
                "cached_tokens_details": {"audio_tokens": 300, "text_tokens": 100},
            },
            "output_tokens": 200,
            "output_tokens_details": {"audio_tokens": 150},
        }
    )
    assert usage.cache_read_audio_tokens == 300
    assert usage.input_audio_tokens == 700
    assert usage.output_audio_tokens == 150


def test_anthropic_input_excludes_cache() -> None:
    """Anthropic's input_tokens excludes cache reads and writes: they are added to the total."""
    usage = from_anthropic(
        {
            "input_tokens": 100,
            "cache_read_input_tokens": 2_000,
            "cache_creation_input_tokens": 500,
            "output_tokens": 70,
        }
    )
    assert usage == Usage(
        input_tokens=2_600, output_tokens=70, cache_read_tokens=2_000, cache_write_tokens=500
    )


def test_anthropic_cache_write_durations() -> None:
    """The cache_creation split keeps 5-minute and 1-hour writes apart."""
    usage = from_anthropic(
        {
            "input_tokens": 10,
            "cache_creation_input_tokens": 900,
            "cache_creation": {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 300},
            "output_tokens": 5,
        }
    )
    assert (usage.input_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (910, 600, 300)


def test_anthropic_sdk_object() -> None:
    """The anthropic SDK's Usage converts like its JSON."""
    sdk = AnthropicUsage.model_validate(
        {
            "input_tokens": 12,
            "output_tokens": 34,
            "cache_read_input_tokens": 56,
            "cache_creation_input_tokens": 0,
        }
    )
    assert from_anthropic(sdk) == Usage(input_tokens=68, output_tokens=34, cache_read_tokens=56)


def test_langchain_usage_metadata() -> None:
    """LangChain's input_tokens already includes cache reads and writes."""
    usage = from_langchain(
        {
            "input_tokens": 1_000,
            "output_tokens": 300,
            "total_tokens": 1_300,
            "input_token_details": {"cache_read": 600, "cache_creation": 100, "audio": 50},
            "output_token_details": {"reasoning": 200, "audio": 20},
        }
    )
    assert usage == Usage(
        input_tokens=1_000,
        output_tokens=300,
        cache_read_tokens=600,
        cache_write_tokens=100,
        input_audio_tokens=50,
        reasoning_tokens=200,
        output_audio_tokens=20,
    )


def test_langchain_tier_prefixed_keys() -> None:
    """Tier-prefixed detail keys (priority_cache_read, flex_reasoning) count like the plain ones."""
    usage = from_langchain(
        {
            "input_tokens": 500,
            "output_tokens": 90,
            "total_tokens": 590,
            "input_token_details": {"priority_cache_read": 400, "priority": 100},
            "output_token_details": {"priority_reasoning": 60, "priority": 30},
        }
    )
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (400, 60)


def test_langchain_one_hour_cache_writes() -> None:
    """Anthropic's ephemeral_1h_input_tokens inside input_token_details marks 1-hour writes."""
    usage = from_langchain(
        {
            "input_tokens": 1_000,
            "output_tokens": 1,
            "total_tokens": 1_001,
            "input_token_details": {"cache_creation": 800, "ephemeral_1h_input_tokens": 300},
        }
    )
    assert (usage.cache_write_tokens, usage.cache_write_1h_tokens) == (500, 300)


WRONG_TYPES: list[Any] = ["12", None, True, [3], {"x": 1}]


@pytest.mark.parametrize("value", WRONG_TYPES, ids=repr)
def test_counts_of_the_wrong_type_are_ignored(value: Any) -> None:
    """A count that is not a number counts as absent, and nothing raises."""
    usage = from_openai_chat(
        {"prompt_tokens": value, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": value}}
    )
    assert usage == Usage(output_tokens=7)


IMPOSSIBLE: list[Any] = [-5, math.nan, math.inf, 2.5, 2**63, 2**70, 10**400]


@pytest.mark.parametrize("value", IMPOSSIBLE, ids=repr)
@pytest.mark.parametrize(
    ("convert", "key"),
    [
        (from_openai_chat, "prompt_tokens"),
        (from_openai_responses, "input_tokens"),
        (from_anthropic, "input_tokens"),
        (from_langchain, "input_tokens"),
    ],
    ids=lambda item: getattr(item, "__name__", item),
)
def test_impossible_counts_make_the_usage_invalid(convert: Any, key: str, value: Any) -> None:
    """A number no count can be (negative, NaN, infinite, fractional, beyond int64) makes the usage
    invalid, naming the field, with every count zero: it is never priced nor written to a metric."""
    usage = convert({key: value, "output_tokens": 7, "completion_tokens": 7})
    assert usage == Usage(invalid=key)


def test_a_total_beyond_int64_is_invalid() -> None:
    """Anthropic's input is a sum of parts: parts that fit but add up beyond int64 are invalid too."""
    usage = from_anthropic({"input_tokens": 2**62, "cache_read_input_tokens": 2**62})
    assert usage.invalid == "input_tokens"


def test_integral_floats_are_counts() -> None:
    """A count sent as an integral float (100.0) is that count."""
    assert from_openai_chat({"prompt_tokens": 100.0}).input_tokens == 100


@pytest.mark.parametrize(
    "convert",
    [from_openai_chat, from_openai_responses, from_anthropic, from_langchain],
    ids=lambda f: f.__name__,
)
@pytest.mark.parametrize("payload", [None, "usage", 42, [], {"input_token_details": "x"}], ids=repr)
def test_converters_never_raise(convert: Any, payload: Any) -> None:
    """A usage payload of the wrong shape gives an empty usage."""
    assert convert(payload).is_empty


def test_usages_add_up() -> None:
    """Adding usages adds every count (for totals over calls)."""
    total = Usage(input_tokens=10, cache_read_tokens=4, seconds=1.5) + Usage(input_tokens=5, seconds=2)
    assert total == Usage(input_tokens=15, cache_read_tokens=4, seconds=3.5)


def test_cache_write_total() -> None:
    """cache_write_total counts writes of both durations."""
    assert Usage(cache_write_tokens=3, cache_write_1h_tokens=4).cache_write_total == 7


# --- The converters' wire fast paths read exactly what their checked paths read -------------------

_COUNT_VALUES = st.one_of(
    st.integers(min_value=-5, max_value=5),
    st.integers(min_value=0, max_value=2**64),
    st.sampled_from([None, True, False, 1.0, 2.5, float("nan"), -1.0, "7", 2**63 - 1, 2**63]),
)


def _usage_dicts(keys: list[str], detail_keys: dict[str, list[str]]) -> st.SearchStrategy[dict[str, Any]]:
    """Usage objects as JSON decodes them: counts of any type or absent, details as objects or not."""
    details = {
        name: st.one_of(
            st.dictionaries(st.sampled_from(inner), _COUNT_VALUES),
            st.sampled_from([None, {}, [], "x", 0]),
            st.fixed_dictionaries(
                {"cached_tokens_details": st.dictionaries(st.sampled_from(inner), _COUNT_VALUES)}
            ),
        )
        for name, inner in detail_keys.items()
    }
    return st.builds(
        lambda counts, parts: {**counts, **parts},
        st.dictionaries(st.sampled_from(keys), _COUNT_VALUES),
        st.fixed_dictionaries({}, optional=details),
    )


_MODALITIES = ["cached_tokens", "audio_tokens", "image_tokens", "reasoning_tokens"]


@settings(max_examples=400, deadline=None)
@given(
    _usage_dicts(
        ["prompt_tokens", "completion_tokens", "total_tokens", "prompt_cache_hit_tokens", "cached_tokens"],
        {"prompt_tokens_details": _MODALITIES, "completion_tokens_details": _MODALITIES},
    )
)
def test_openai_chat_wire_path_reads_as_the_checked_path(usage: dict[str, Any]) -> None:
    assert from_openai_chat(usage) == _openai_chat(usage)


@settings(max_examples=400, deadline=None)
@given(
    _usage_dicts(
        ["input_tokens", "output_tokens"],
        {"input_tokens_details": _MODALITIES, "output_tokens_details": _MODALITIES},
    )
)
def test_openai_responses_wire_path_reads_as_the_checked_path(usage: dict[str, Any]) -> None:
    assert from_openai_responses(usage) == _checked_responses(usage)


@settings(max_examples=400, deadline=None)
@given(
    _usage_dicts(
        ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"],
        {
            "cache_creation": ["ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"],
            "output_tokens_details": ["thinking_tokens"],
        },
    )
)
def test_anthropic_wire_path_reads_as_the_checked_path(usage: dict[str, Any]) -> None:
    assert from_anthropic(usage) == _checked_anthropic(usage)
