"""A large JSON request body decoded without the prompt text no reader reads.

With content capture off, adapters read a request's parameters (model, stream, limits, sampling,
tier), never the text of its messages; yet decoding a 1 MiB prompt builds a 1 MiB string (about
300 µs). An adapter names the top-level keys it reads only to capture content
(``content_keys``). For a body of :data:`LARGE_REQUEST_BYTES` or more, :func:`decode_request`
walks the body from string to string (``bytes.find`` of the next quote, which is memchr-fast), and
decodes with orjson a copy in which every string of :data:`LONG_STRING_BYTES` or more inside the
value of a content key is emptied (keys are compared as written: one spelled with escapes is
not a content key, and its value is kept). The result is the full parse but for those strings, which are
``""``: every key outside ``content_keys`` holds exactly what the full parse holds, in the same
order, duplicate keys included (the last wins, as in orjson), and so does every structure.

The whole body is decoded instead when content is captured, when the adapter names no content
keys, when the walk would take more steps than the bytes it leaves out are worth (a prompt of many
short strings or of many escaped quotes: see :data:`_FREE_STEPS`), when it leaves nothing out, and
when anything looks unusual (the copy is not JSON or not an object, a long run of backslashes
before a quote): the answer is then exactly what it was. One thing is not checked: the bytes inside
the strings left out. A body that is not JSON only because of them (a raw control character,
invalid UTF-8, a bad escape in the prompt, which no JSON encoder writes) is read as if they were
valid, where the full parse would read nothing.
"""

from __future__ import annotations

from collections.abc import Set
from functools import cache
from typing import Any

from orjson import loads as _fast_loads

from llmmeter._providers._base import is_object, loads_or_none

__all__ = ["LARGE_REQUEST_BYTES", "LONG_STRING_BYTES", "decode_request", "without_long_strings"]

LARGE_REQUEST_BYTES = 64 << 10
"""Bodies from this size on are walked; smaller ones are decoded whole."""
LONG_STRING_BYTES = 256
"""Strings (their JSON text, quotes included) of this size or more in content values are left out."""
_FREE_STEPS = 16
"""Steps (a string, or an escaped quote inside one) the walk may take before it has left out any
bytes, plus one per :data:`_BODY_BYTES_PER_FREE_STEP` of the body; then each
:data:`_BYTES_PER_STEP` left out buy one more. A step costs about what orjson takes for 1 KiB of
prose (6,000 instructions), so a walk that gives up has cost a small fraction of the full parse,
and one that goes through costs at most about half of what it saves."""
_BODY_BYTES_PER_FREE_STEP = 16 << 10
_BYTES_PER_STEP = 2048
_FREE_ESCAPES = 8
"""Escaped quotes one string may hold past which it needs one per :data:`_BYTES_PER_STEP` of its
length (a prompt of code or quoted JSON is not worth walking)."""
_MAX_BACKSLASHES = 16
"""A longer run of backslashes before a quote is not looked into: the whole body is decoded."""
_KEY_OPENERS = (b"{", b",")
_WHITESPACE = b" \t\r\n"


def decode_request(content: bytes, adapter: object, capture_content: bool) -> Any:
    """The JSON request ``content`` decoded as ``adapter`` reads it (None when it is not JSON):
    the full parse, or for a large body whose content is not captured, the full parse with the
    long strings of its content keys emptied."""
    if capture_content or len(content) < LARGE_REQUEST_BYTES:
        return loads_or_none(content)
    keys: frozenset[str] = getattr(adapter, "content_keys", frozenset())
    if not keys:
        return loads_or_none(content)
    shortened = without_long_strings(content, _encoded(keys))
    if shortened is not None:
        try:
            body = _fast_loads(shortened)
        except ValueError:
            pass
        else:
            if is_object(body):
                return body
    return loads_or_none(content)


@cache
def _encoded(keys: frozenset[str]) -> frozenset[bytes]:
    return frozenset(key.encode() for key in keys)


def without_long_strings(content: bytes, keys: Set[bytes]) -> bytes | None:
    """``content`` with every string of :data:`LONG_STRING_BYTES` or more inside the value of a
    top-level key in ``keys`` (as written, without escapes) emptied; None when there is none, or when
    finding them is not worth it or not certain."""
    find = content.find
    shapes = _SHAPES
    pieces: list[bytes] = []
    kept = 0  # content[kept:] is not yet in pieces
    pos = 0  # where the structure after the last string starts
    depth = steps = left_out = 0
    free = _FREE_STEPS + len(content) // _BODY_BYTES_PER_FREE_STEP
    limit = free
    in_content = False
    while True:
        start = find(b'"', pos)
        if start < 0:
            break
        between = content[pos:start]
        shape = shapes.get(between) or _shape(between)
        depth += shape[0]
        end = find(b'"', start + 1)
        if end < 0:
            return None
        if content[end - 1] == 0x5C:  # a backslash: the quote may be escaped
            end, escapes = _string_end(content, start, end)
            if end < 0:
                return None
            steps += escapes
        steps += 1
        if depth == 1 and shape[1]:
            in_content = content[start + 1 : end] in keys
        elif in_content and end - start >= LONG_STRING_BYTES - 1:
            pieces.append(content[kept : start + 1])
            kept = end
            left_out += end - start - 1
            limit = free + left_out // _BYTES_PER_STEP
        if steps > limit:
            return None
        pos = end + 1
    if not pieces:
        return None
    pieces.append(content[kept:])
    return b"".join(pieces)


_SHAPES: dict[bytes, tuple[int, bool]] = {}
"""The structure between two strings (``:``, ``,``, ``},{``, ``:[{``...) -> its :func:`_shape`."""
_MAX_SHAPES = 1024


def _shape(between: bytes) -> tuple[int, bool]:
    """How much the structure between two strings nests, and whether the second string may be a key
    (the structure ends with ``{`` or ``,``)."""
    shape = (
        between.count(b"{") + between.count(b"[") - between.count(b"}") - between.count(b"]"),
        between.rstrip(_WHITESPACE)[-1:] in _KEY_OPENERS,
    )
    if len(_SHAPES) < _MAX_SHAPES:
        _SHAPES[between] = shape
    return shape


def _string_end(content: bytes, start: int, end: int) -> tuple[int, int]:
    """The closing quote of the string opened at ``start``, given the first quote after it at
    ``end``, and the escaped quotes passed over; (-1, 0) when there is none, when the escaped
    quotes are too many (see :data:`_FREE_ESCAPES`) or a run of backslashes is unusual."""
    escapes = 0
    while True:
        run = content[max(start + 1, end - _MAX_BACKSLASHES) : end]
        backslashes = len(run) - len(run.rstrip(b"\\"))
        if backslashes == _MAX_BACKSLASHES:
            return -1, 0
        if not backslashes % 2:
            return end, escapes
        escapes += 1
        if escapes > _FREE_ESCAPES + (end - start) // _BYTES_PER_STEP:
            return -1, 0
        end = content.find(b'"', end + 1)
        if end < 0 or content[end - 1] != 0x5C:
            return end, escapes
