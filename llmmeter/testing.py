"""Helpers for testing code that uses llmmeter: assert what your own calls cost.

from llmmeter.testing import record_calls

def test_summary_is_cheap(client):
    with record_calls() as calls:
        summarize(client, text)
    assert calls.total_cost < Decimal("0.01")
    assert calls[0].usage.output_tokens <= 200
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from llmmeter._telemetry._call import add_observer, remove_observer
from llmmeter._telemetry._record import CallRecord

__all__ = ["CallRecord", "RecordedCalls", "record_calls"]


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
