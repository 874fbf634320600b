"""Property tests for the binary and line framings: Bedrock's event-stream and Ollama's NDJSON.

However the body is cut, and whatever corruption it meets, a BodyMeter records the call exactly once,
never raises, and a valid body cut anywhere gives the record of the body in one piece.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llmmeter._capture._body import BodyMeter
from llmmeter._providers._base import Adapter, RequestInfo
from llmmeter._providers._bedrock_invoke import BEDROCK_INVOKE
from llmmeter._providers._decoding import make_decoder
from llmmeter._providers._eventstream import EventStreamParser
from llmmeter._providers._framing import Framing
from llmmeter._providers._ndjson import NDJSONParser
from llmmeter._providers._ollama import OLLAMA_CHAT
from llmmeter._telemetry._call import Call, Telemetry
from llmmeter.testing import CallRecord, record_calls
from tests.providers import wire
from tests.reliability.wire import ENCODERS, essence, split

BEDROCK = b"".join(wire.bedrock_stream(model="claude-sonnet-4-5-20250929", input_tokens=90, output_tokens=15))
BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
OLLAMA = b"".join(
    wire.ollama_lines(model="llama3.2", prompt_eval_count=31, eval_count=9, words=("a", "b", "c"))
)
STREAMS = {
    "bedrock": (BEDROCK_INVOKE, EventStreamParser, "aws.bedrock", BEDROCK_MODEL, BEDROCK),
    "ollama": (OLLAMA_CHAT, NDJSONParser, "ollama", "llama3.2", OLLAMA),
}
cuts = st.one_of(st.lists(st.integers(0, 3000), max_size=40), st.just(list(range(3000))))


def meter(kind: str, pieces: list[bytes], providers: dict, encoding: str = "identity") -> CallRecord:
    """The record of a body that reached a BodyMeter in ``pieces``."""
    adapter, framing, provider, model, _ = STREAMS[kind]
    return _meter(adapter, framing, provider, model, pieces, providers, encoding)


def _meter(
    adapter: Adapter,
    framing: Framing,
    provider: str,
    model: str,
    pieces: list[bytes],
    providers: dict,
    encoding: str,
) -> CallRecord:
    billed = "anthropic.claude-sonnet-4-5-20250929-v1:0" if provider == "aws.bedrock" else None
    request = RequestInfo(provider=provider, operation="chat", model=model, billed_model=billed, stream=True)
    with record_calls() as calls:
        body = BodyMeter(Call(Telemetry(**providers), request), adapter, make_decoder(encoding), framing)
        for piece in pieces:
            body.chunk(piece)
        body.end("complete")
    (record,) = calls
    return record


def test_reference_records_carry_the_streams_usage(quiet):
    """Each stream in one piece is complete and reports its counts; Bedrock's is priced."""
    bedrock = meter("bedrock", [BEDROCK], quiet)
    ollama = meter("ollama", [OLLAMA], quiet)

    assert (bedrock.cost.status, bedrock.usage.input_tokens, bedrock.usage.output_tokens) == ("ok", 90, 15)
    assert (ollama.cost.status, ollama.usage.input_tokens, ollama.usage.output_tokens) == (
        "unknown_model",
        31,
        9,
    )


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(sorted(STREAMS)), cut=cuts)
def test_any_chunking_gives_the_same_record(quiet, kind, cut):
    """A stream cut anywhere (inside a prelude, a header, a CRC, a line) gives the reference record."""
    body = STREAMS[kind][4]

    assert essence(meter(kind, split(body, cut), quiet)) == essence(meter(kind, [body], quiet))


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(STREAMS)), encoding=st.sampled_from(sorted(ENCODERS)), cut=cuts)
def test_any_chunking_of_a_compressed_stream_gives_the_same_record(quiet, kind, encoding, cut):
    """Compressed, then cut anywhere: decoded and read whole."""
    body = STREAMS[kind][4]

    record = meter(kind, split(ENCODERS[encoding](body), cut), quiet, encoding)

    assert essence(record) == essence(meter(kind, [body], quiet))


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(STREAMS)),
    flips=st.lists(st.tuples(st.integers(0, len(BEDROCK) - 1), st.integers(1, 255)), max_size=4),
    keep=st.integers(0, len(BEDROCK)),
    cut=cuts,
)
def test_corrupt_or_truncated_streams_never_raise_and_record_once(quiet, kind, flips, keep, cut):
    """Flipped bytes (bad CRCs, lengths, headers, JSON) and truncation: one record, no exception."""
    body = bytearray(STREAMS[kind][4])
    for position, mask in flips:
        body[position % len(body)] ^= mask

    record = meter(kind, split(bytes(body[:keep]), cut), quiet)

    assert record.ending == "complete"
    assert record.counted


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(sorted(STREAMS)), body=st.binary(max_size=600), cut=cuts)
def test_arbitrary_bytes_never_raise(quiet, kind, body, cut):
    """Any bytes at all, cut anywhere: one record, no exception, no usage invented."""
    record = meter(kind, split(body, cut), quiet)

    assert (record.usage, record.cost.status) == (None, "no_usage")
