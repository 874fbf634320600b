"""Valid provider streams in every legal spelling, and the parts of a record that must not vary.

A stream from ``tests.fakes`` is taken apart into its events and written out again with another
line ending, with or without ``event:`` lines, with compact or spaced JSON, and compressed: each
spelling is the same stream to a correct parser.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import brotli
import zstandard

from llmmeter._providers._anthropic import MESSAGES
from llmmeter._providers._base import Adapter
from llmmeter._providers._cohere import COHERE_CHAT
from llmmeter._providers._gemini import GENERATE_CONTENT
from llmmeter._providers._openai import CHAT, RESPONSES
from llmmeter.testing import CallRecord
from tests import fakes
from tests.providers import wire as native

Event = tuple[str, Any]
"""An event name (possibly empty) and its payload (a JSON value, or a plain string like [DONE])."""


@dataclass(frozen=True)
class StreamKind:
    """One provider stream: its adapter, route and the usage its events report."""

    name: str
    adapter: Adapter
    provider: str
    path: str
    model: str
    events: tuple[Event, ...]
    input_tokens: int
    output_tokens: int
    operation: str = "chat"


def events_of(chunks: list[bytes]) -> tuple[Event, ...]:
    """The (name, payload) events of an SSE body written with ``\\n`` line endings."""
    events: list[Event] = []
    for block in b"".join(chunks).decode().split("\n\n"):
        if not block:
            continue
        name, data = "", ""
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data = value
        events.append((name, data if data == "[DONE]" else json.loads(data)))
    return tuple(events)


KINDS = (
    StreamKind(
        "chat",
        CHAT,
        "openai",
        "/v1/chat/completions",
        "gpt-4o",
        events_of(fakes.chat_stream(words=4, prompt_tokens=300, completion_tokens=40, cached_tokens=120)),
        300,
        40,
    ),
    StreamKind(
        "responses",
        RESPONSES,
        "openai",
        "/v1/responses",
        "gpt-5.4",
        events_of(fakes.responses_stream(input_tokens=2000, output_tokens=600, cached_tokens=500)),
        2000,
        600,
    ),
    StreamKind(
        "anthropic",
        MESSAGES,
        "anthropic",
        "/v1/messages",
        "claude-sonnet-4-6",
        events_of(fakes.anthropic_stream(input_tokens=100, output_tokens=70, cache_read=30, cache_write=20)),
        150,
        70,
    ),
    StreamKind(
        "gemini",
        GENERATE_CONTENT,
        "gcp.gemini",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        "gemini-2.5-flash",
        events_of(
            [
                b"".join(native.gemini_stream(prompt=300, cached=100, candidates=9, thoughts=40)).replace(
                    b"\r\n", b"\n"
                )
            ]
        ),
        300,
        49,
        "generate_content",
    ),
    StreamKind(
        "cohere",
        COHERE_CHAT,
        "cohere",
        "/v2/chat",
        "command-a-03-2025",
        events_of(native.cohere_stream(("Hel", "lo", "!"), billed_in=30, billed_out=4)),
        30,
        4,
    ),
)


def render(
    events: tuple[Event, ...],
    *,
    newline: str = "\n",
    names: bool = True,
    compact: bool = True,
    space: str = " ",
) -> bytes:
    """Write events as an SSE body; ``names=False`` drops the ``event:`` lines (the type is in the data),
    ``space`` follows each field's colon (SSE makes it optional)."""
    separators = (",", ":") if compact else (", ", ": ")
    out = []
    for name, payload in events:
        data = payload if isinstance(payload, str) else json.dumps(payload, separators=separators)
        lines = [f"event:{space}{name}"] if name and names else []
        lines.append(f"data:{space}{data}")
        out.append(newline.join(lines) + newline + newline)
    return "".join(out).encode()


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "identity": lambda data: data,
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "gzip, br": lambda data: brotli.compress(gzip.compress(data)),
}
"""Content-Encoding value -> encoder; ``gzip, br`` was gzipped first, then brotli-compressed."""


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (any order, repeats allowed); no empty pieces."""
    points = sorted({cut for cut in cuts if 0 < cut < len(data)})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in pairwise(edges) if b > a]


def essence(record: CallRecord) -> tuple[Any, ...]:
    """Everything in a record that depends on the body (not on timing)."""
    return (
        record.provider,
        record.operation,
        record.request_model,
        record.response_model,
        record.usage,
        record.cost,
        record.error_type,
        record.ending,
        record.stream,
        record.counted,
    )
