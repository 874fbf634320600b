"""Media streams carry events of megabytes (base64 images and audio) read in many chunks: the SSE
parser collects such an event piece by piece and yields it exactly as written."""

from __future__ import annotations

import random

import pytest

from llmmeter._providers._sse import COLLECT_BYTES, SSEParser


def body_of(newline: str, sizes: list[int]) -> tuple[bytes, list[tuple[str, str]]]:
    events = [(f"e{i}", chr(65 + i % 26) * size) for i, size in enumerate(sizes)]
    text = "".join(f"event: {name}{newline}data: {data}{newline}{newline}" for name, data in events)
    return text.encode(), events


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("seed", range(6))
def test_large_events_come_out_whole_however_they_are_cut(newline, seed):
    """Events above COLLECT_BYTES, mixed with small ones, cut anywhere (inside a line ending too)."""
    sizes = [COLLECT_BYTES * 3, 10, COLLECT_BYTES + 1, 0, COLLECT_BYTES * 2]
    body, events = body_of(newline, sizes)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(body)), 60))
    seen: list[tuple[str, str]] = []
    parser = SSEParser(lambda name, data: seen.append((name, data)))

    for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True):
        parser.feed(body[start:end])
    parser.close()

    assert seen == events


def test_a_large_event_is_not_recopied_per_chunk():
    """Reading a 2 MB event in 4 KB chunks: the re-copied buffer never grows past COLLECT_BYTES plus
    a chunk; the rest is kept as pieces and joined once, so the cost is linear in the event's size."""
    body, events = body_of("\n", [2_000_000])
    seen: list[tuple[str, str]] = []
    parser = SSEParser(lambda name, data: seen.append((name, data)))
    largest = 0

    for start in range(0, len(body), 4096):
        parser.feed(body[start : start + 4096])
        largest = max(largest, len(parser._buffer))

    assert seen == events
    assert largest <= COLLECT_BYTES + 4096


def test_an_unterminated_large_event_is_flushed_at_close():
    """A body that ends inside a large event without its blank line still yields it at close."""
    seen: list[tuple[str, str]] = []
    parser = SSEParser(lambda name, data: seen.append((name, data)))
    data = "x" * (COLLECT_BYTES * 2)
    encoded = f"event: big\ndata: {data}".encode()

    for start in range(0, len(encoded), 1000):
        parser.feed(encoded[start : start + 1000])
    assert not parser.between_events
    parser.close()

    assert seen == [("big", data)]
    assert parser.between_events


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("seed", range(6))
def test_ignored_events_are_dropped_and_the_others_kept(newline, seed):
    """Events the state ignores by name never reach the sink, however large and however cut; a large
    one is not kept while it arrives; the others all come out whole."""
    body, events = body_of(newline, [10, COLLECT_BYTES * 3, 5, COLLECT_BYTES * 2, COLLECT_BYTES + 7, 1])
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(body)), 80))
    seen: list[tuple[str, str]] = []
    asked: list[str] = []

    def ignores(name: str) -> bool:
        asked.append(name)
        return name in ("e1", "e3")

    parser = SSEParser(lambda name, data: seen.append((name, data)), ignores)
    held = 0
    for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True):
        parser.feed(body[start:end])
        if parser._dropping:
            held = max(held, sum(map(len, parser._pieces or [])))
    parser.close()

    assert seen == [events[0], events[2], events[4], events[5]]
    assert {"e0", "e1", "e2", "e3", "e4", "e5"} <= set(asked)
    assert held <= 1


def test_an_ignored_event_cut_off_at_close_is_dropped():
    """A body ending inside a large ignored event yields nothing for it."""
    seen: list[tuple[str, str]] = []
    parser = SSEParser(lambda name, data: seen.append((name, data)), lambda name: name == "big")
    encoded = b"event: small\ndata: 1\n\nevent: big\ndata: " + b"x" * (COLLECT_BYTES * 2)

    for start in range(0, len(encoded), 1000):
        parser.feed(encoded[start : start + 1000])
    parser.close()

    assert seen == [("small", "1")]
