"""Property tests: however a valid stream is cut, spelled or compressed, it yields the same record."""

from __future__ import annotations

import httpx
import httpx2
from hypothesis import given, settings
from hypothesis import strategies as st

import llmmeter
from llmmeter._capture._body import BodyMeter
from llmmeter._providers._base import RequestInfo
from llmmeter._providers._decoding import make_decoder
from llmmeter._providers._sse import SSEParser
from llmmeter._telemetry._call import Call, Telemetry
from llmmeter.testing import CallRecord, record_calls
from tests.reliability.wire import ENCODERS, KINDS, StreamKind, essence, render, split

kinds = st.sampled_from(KINDS)
newlines = st.sampled_from(["\n", "\r\n", "\r"])
cuts = st.one_of(st.lists(st.integers(0, 4000), max_size=40), st.just(list(range(4000))))
"""A few random cuts, or a cut after every byte."""


def meter(kind: StreamKind, pieces: list[bytes], encoding: str, providers: dict) -> CallRecord:
    """The record of a body that reached a BodyMeter in ``pieces``."""
    request = RequestInfo(provider=kind.provider, operation=kind.operation, model=kind.model, stream=True)
    call = Call(Telemetry(**providers), request)
    with record_calls() as calls:
        body = BodyMeter(call, kind.adapter, make_decoder(encoding), SSEParser)
        for piece in pieces:
            body.chunk(piece)
        body.end("complete")
    (record,) = calls
    return record


def reference(kind: StreamKind, providers: dict) -> CallRecord:
    """The record of the stream as the provider writes it, in one piece."""
    return meter(kind, [render(kind.events)], "identity", providers)


def test_reference_records_carry_the_streams_usage(quiet):
    """Each reference stream is complete, priced, and reports the usage its events hold."""
    for kind in KINDS:
        record = reference(kind, quiet)
        assert record.ending == "complete"
        assert record.cost.status == "ok"
        assert (record.usage.input_tokens, record.usage.output_tokens) == (
            kind.input_tokens,
            kind.output_tokens,
        )


@settings(max_examples=250, deadline=None)
@given(
    kind=kinds,
    newline=newlines,
    names=st.booleans(),
    compact=st.booleans(),
    space=st.sampled_from(["", " "]),
    cut=cuts,
)
def test_any_chunking_and_spelling_gives_the_same_record(quiet, kind, newline, names, compact, space, cut):
    """Cut anywhere; any line ending; with or without event lines; compact or spaced JSON and fields."""
    body = render(kind.events, newline=newline, names=names, compact=compact, space=space)

    record = meter(kind, split(body, cut), "identity", quiet)

    assert essence(record) == essence(reference(kind, quiet))


@settings(max_examples=120, deadline=None)
@given(kind=kinds, encoding=st.sampled_from(sorted(ENCODERS)), cut=cuts)
def test_any_chunking_of_a_compressed_stream_gives_the_same_record(quiet, kind, encoding, cut):
    """A compressed stream cut anywhere (even inside a compression header) is decoded and read whole."""
    wire = ENCODERS[encoding](render(kind.events))

    record = meter(kind, split(wire, cut), encoding, quiet)

    assert essence(record) == essence(reference(kind, quiet))


def _mock(library, pieces: list[bytes], encoding: str):
    headers = {"content-type": "text/event-stream", "content-encoding": encoding}

    class Pieces(library.SyncByteStream, library.AsyncByteStream):
        def __iter__(self):
            yield from pieces

        async def __aiter__(self):
            for piece in pieces:
                yield piece

    return library.MockTransport(lambda request: library.Response(200, headers=headers, stream=Pieces()))


@settings(max_examples=80, deadline=None)
@given(
    kind=kinds, encoding=st.sampled_from(["identity", "gzip", "br", "gzip, br"]), newline=newlines, cut=cuts
)
def test_sync_client_gets_the_same_bytes_and_one_record(quiet, kind, encoding, newline, cut):
    """Through an httpx2 client, the caller reads what it reads unmetered, and the record is the reference."""
    pieces = split(ENCODERS[encoding](render(kind.events, newline=newline)), cut)
    request = {"model": kind.model, "stream": True}
    url = "https://api.example.com" + kind.path

    with httpx2.Client(transport=_mock(httpx2, pieces, encoding)) as bare:
        expected = bare.post(url, json=request).content
    transport = llmmeter.MeteredTransport(_mock(httpx2, pieces, encoding), **quiet)
    with record_calls() as calls, httpx2.Client(transport=transport) as client:
        with client.stream("POST", url, json=request) as response:
            received = b"".join(response.iter_bytes())

    assert received == expected
    (record,) = calls
    assert essence(record) == essence(reference(kind, quiet))


@settings(max_examples=80, deadline=None)
@given(kind=kinds, encoding=st.sampled_from(["identity", "gzip", "deflate"]), cut=cuts)
async def test_async_legacy_client_gets_the_same_bytes_and_one_record(quiet, kind, encoding, cut):
    """Through a legacy httpx AsyncClient: the caller reads what it reads unmetered; the reference record."""
    pieces = split(ENCODERS[encoding](render(kind.events)), cut)
    request = {"model": kind.model, "stream": True}
    url = "https://api.example.com" + kind.path

    async with httpx.AsyncClient(transport=_mock(httpx, pieces, encoding)) as bare:
        expected = (await bare.post(url, json=request)).content
    transport = llmmeter.AsyncMeteredTransport(_mock(httpx, pieces, encoding), **quiet)
    with record_calls() as calls:
        async with (
            httpx.AsyncClient(transport=transport) as client,
            client.stream("POST", url, json=request) as response,
        ):
            received = b"".join([part async for part in response.aiter_bytes()])

    assert received == expected
    (record,) = calls
    assert essence(record) == essence(reference(kind, quiet))


names = st.text("abcdefghijklmnopqrstuvwxyz._", min_size=1, max_size=20)
lines = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30)
sse_events = st.lists(
    st.tuples(st.one_of(st.just(""), names), st.lists(lines, min_size=1, max_size=3)), max_size=8
)


def _write_event(name: str, data_lines: list[str], newline: str, comment: bool) -> str:
    out = [": keep-alive"] if comment else []
    if name:
        out.append(f"event:{name}")
    out.extend(f"data: {line}" for line in data_lines)
    return newline.join(out) + newline + newline


@settings(max_examples=250, deadline=None)
@given(events=sse_events, newline=newlines, comment=st.booleans(), cut=cuts)
def test_sse_parser_yields_each_event_once_however_the_bytes_arrive(events, newline, comment, cut):
    """Any events (multi-line data, comments, non-ASCII split mid-character) come out exactly as written."""
    body = "".join(_write_event(name, data, newline, comment) for name, data in events).encode()
    seen: list[tuple[str, str]] = []
    parser = SSEParser(lambda name, data: seen.append((name, data)))

    for piece in split(body, cut):
        parser.feed(piece)
    parser.close()

    assert seen == [(name, "\n".join(data)) for name, data in events]
