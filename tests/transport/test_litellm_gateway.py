"""litellm's SDK pointed at OpenRouter, under ``instrument()``: OpenRouter's stated cost is the call's.

litellm is not in requirements-dev.txt (it pulls boto3, aiohttp, tokenizers and huggingface_hub, and
takes seconds to import): these tests run where it is installed (``pip install litellm``).
OpenRouter's ``usage.cost``: openrouter.ai/docs/use-cases/usage-accounting.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch its price map from the network
litellm = pytest.importorskip("litellm")

import llmmeter  # noqa: E402
from llmmeter.testing import record_calls  # noqa: E402
from tests import fakes  # noqa: E402
from tests.transport.test_reported_cost import openrouter_body, openrouter_stream, openrouter_usage  # noqa: E402

# litellm's own code trips pydantic warnings (types it builds lazily, inside the call; its stream
# wrapper's use of a deprecated attribute): they are litellm's, not llmmeter's.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*the `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore:Accessing the 'model_.*' attribute on the instance is deprecated"),
]

LOCAL = (194 * Decimal("0.15") + 2 * Decimal("0.60")) / Decimal(1_000_000)


@pytest.fixture
def openrouter(tracer_provider, meter_provider) -> Iterator[fakes.LoopbackServer]:
    """A loopback OpenRouter, named as such, with every client instrumented."""

    def answer(method: str, path: str, body: bytes) -> fakes.Reply:
        if b'"stream": true' in body or b'"stream":true' in body:
            return fakes.Reply(chunks=openrouter_stream(openrouter_usage(0.0000305)))
        return fakes.Reply(openrouter_body(openrouter_usage(0.0000305)))

    with fakes.LoopbackServer(answer) as server:
        llmmeter.configure(provider_hosts={server.url.removeprefix("http://"): "openrouter"})
        llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        try:
            yield server
        finally:
            llmmeter.uninstrument()


def test_litellm_completion_through_openrouter_is_counted_once_at_its_reported_cost(openrouter):
    """One litellm.completion() is one record, priced at OpenRouter's ``usage.cost``."""
    with record_calls() as calls, llmmeter.track() as spend:
        litellm.completion(
            model="openrouter/openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            api_base=openrouter.url + "/api/v1",
            api_key="sk-or-test",
        )

    (record,) = calls
    assert record.provider == "openrouter"
    assert record.cost.total == Decimal("0.0000305")
    assert record.cost.origin == "provider"
    assert record.cost.local_total == LOCAL
    assert spend.cost_usd == Decimal("0.0000305")


def test_litellm_stream_through_openrouter_reads_the_last_chunk(openrouter):
    """A litellm stream's cost is read from OpenRouter's last chunk."""
    with record_calls() as calls:
        for _ in litellm.completion(
            model="openrouter/openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            api_base=openrouter.url + "/api/v1",
            api_key="sk-or-test",
            stream=True,
            stream_options={"include_usage": True},
        ):
            pass

    (record,) = calls
    assert record.cost.total == Decimal("0.0000305")
    assert record.cost.origin == "provider"
