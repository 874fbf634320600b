"""Which generation of the GenAI conventions llmmeter writes, chosen once, when metering is first set up.

The default is semantic-conventions v1.41.1. ``OTEL_SEMCONV_STABILITY_OPT_IN`` is a comma-separated
list, as in every OpenTelemetry instrumentation; when it contains ``gen_ai_latest_experimental``
llmmeter writes the names of semantic-conventions-genai instead (see ``_names``), and the proposed
cost histogram. The variable is read when this module is imported, which ``import llmmeter`` does
not do: the first ``instrument()``, wrapper transport or LangChain handler does. A call pays
nothing for the choice: the attribute builders and the instruments read the fields of
:data:`conventions`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from llmmeter._telemetry import _names as n

__all__ = ["Conventions", "conventions", "from_environment"]


@dataclass(frozen=True, slots=True)
class Conventions:
    """The names that differ between the two generations."""

    latest: bool
    """True for semantic-conventions-genai, False for semantic-conventions v1.41.1."""
    schema_url: str
    cache_write_attribute: str
    time_to_first_chunk_attribute: str
    duration_metric: str
    time_to_first_chunk_metric: str


DEFAULT = Conventions(
    latest=False,
    schema_url=n.SCHEMA_URL_V1_41_1,
    cache_write_attribute=n.USAGE_CACHE_CREATION_INPUT_TOKENS,
    time_to_first_chunk_attribute=n.TIME_TO_FIRST_CHUNK,
    duration_metric=n.METRIC_OPERATION_DURATION,
    time_to_first_chunk_metric=n.METRIC_TIME_TO_FIRST_CHUNK,
)
LATEST = Conventions(
    latest=True,
    schema_url=n.SCHEMA_URL_GENAI_LATEST,
    cache_write_attribute=n.USAGE_CACHE_WRITE_INPUT_TOKENS,
    time_to_first_chunk_attribute=n.RESPONSE_TIME_TO_FIRST_CHUNK,
    duration_metric=n.METRIC_INFERENCE_DURATION,
    time_to_first_chunk_metric=n.METRIC_INFERENCE_TIME_TO_FIRST_CHUNK,
)


def from_environment() -> Conventions:
    """The conventions ``OTEL_SEMCONV_STABILITY_OPT_IN`` asks for."""
    values = {value.strip() for value in os.environ.get(n.SEMCONV_OPT_IN_ENV, "").split(",")}
    return LATEST if n.SEMCONV_OPT_IN_GENAI_LATEST in values else DEFAULT


conventions = from_environment()
