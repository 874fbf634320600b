"""Helpers for testing code that uses llmmeter: assert what your own calls cost, without network.

:func:`record_calls` collects the calls finished inside it; :func:`fake_provider` starts the local
OpenAI- and Anthropic-compatible server the demo uses (real wire formats, deterministic usage, no
key), so a test can make real SDK calls::

    import openai
    from llmmeter.testing import fake_provider, record_calls

    def test_summary_is_cheap():
        with fake_provider() as provider, record_calls() as calls:
            client = openai.OpenAI(api_key="test", base_url=provider.openai_base_url)
            summarize(client, text)
        assert calls.total_cost < Decimal("0.01")
        assert calls[0].usage.output_tokens <= 200
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from llmmeter._demo._server import FakeProviderServer as FakeProvider
from llmmeter._demo._server import RecordedRequest
from llmmeter._telemetry._call import add_observer, remove_observer
from llmmeter._telemetry._record import CallRecord

__all__ = ["CallRecord", "FakeProvider", "RecordedCalls", "RecordedRequest", "fake_provider", "record_calls"]


class RecordedCalls(list[CallRecord]):
    """The calls finished inside a :func:`record_calls` block, in the order they finished."""

    @property
    def counted(self) -> list[CallRecord]:
        """The records that count toward cost (a LangChain run metered over HTTP counts once)."""
        return [record for record in self if record.counted]

    @property
    def total_cost(self) -> Decimal:
        """The summed cost of the counted, priced calls."""
        return sum((r.cost.total for r in self.counted if r.cost.total is not None), Decimal(0))


@contextmanager
def record_calls() -> Iterator[RecordedCalls]:
    """Collect every call that finishes, anywhere in the process, while the block is open.

    A call is recorded the moment it finishes: when it returns, or when its stream ends.
    """
    calls = RecordedCalls()
    add_observer(calls.append)
    try:
        yield calls
    finally:
        remove_observer(calls.append)


@contextmanager
def fake_provider(*, chunk_delay_s: float = 0.0) -> Iterator[FakeProvider]:
    """Serve a fake OpenAI and Anthropic API on a free loopback port while the block is open.

    Point the SDKs at it with ``provider.openai_base_url`` (openai, LangChain's ChatOpenAI) and
    ``provider.anthropic_base_url`` (anthropic); any API key is accepted. It answers chat
    completions (plain, streamed, tool calls), responses, embeddings and Anthropic messages with
    usage that is a pure function of the request (about four characters per token), so a test's
    expected cost is stable. ``provider.requests`` lists what it received; a request with the header
    ``x-fake-status: 500`` gets that error. ``chunk_delay_s`` spaces out streamed chunks.
    """
    with FakeProvider(chunk_delay_s=chunk_delay_s) as provider:
        yield provider
