"""Bedrock's usage as decoded from the wire is read directly, exactly as the general reader reads it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llmmeter._usage import from_bedrock
from tests.bedrock.server import converse_body
from tests.reliability.strategies import json_values, mutated, namespaces

COUNTS = st.one_of(
    st.integers(min_value=-3, max_value=2**64),
    st.sampled_from([None, True, 0, 1.0, 2.5, float("nan"), "7", 2**63 - 1, 2**63]),
)
KEYS = ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens")
WIRE = [
    converse_body()["usage"],
    converse_body(cache_read=40, cache_write=7)["usage"],
    {**converse_body(cache_write=9)["usage"], "cacheDetails": [{"ttl": "1h", "inputTokens": 4}]},
]


@settings(max_examples=300, deadline=None)
@given(counts=st.fixed_dictionaries(dict.fromkeys(KEYS, COUNTS)))
def test_wire_usage_reads_as_its_object_form(counts):
    """Counts of every type and range read from a dict as from the same usage as an SDK object."""
    assert from_bedrock(counts) == from_bedrock(namespaces(counts))


@settings(max_examples=300, deadline=None)
@given(usage=st.one_of(st.sampled_from(WIRE).flatmap(mutated), json_values))
def test_mutated_wire_usage_reads_as_its_object_form(usage):
    """A wire usage with parts replaced by any JSON, or any JSON, reads as its object form reads."""
    assert from_bedrock(usage) == from_bedrock(namespaces(usage))
