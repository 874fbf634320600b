"""Reading response headers in the httpx capture point: the same answers as ``Headers.get``."""

from __future__ import annotations

from typing import Any

import httpx
import httpx2
import pytest

from llmmeter._capture._transport import _header_reader

RAW = [
    (b"Content-Type", b"application/json"),
    (b"X-Request-ID", b"req_1"),
    (b"Set-Cookie", b"a=1"),
    (b"set-cookie", b"b=2"),
]
NAMES = [
    "content-type",
    "Content-Type",
    "x-request-id",
    "set-cookie",
    "content-encoding",
    "x-litellm-response-cost",
]


@pytest.mark.parametrize("library", [httpx, httpx2])
def test_reads_what_get_reads(library: Any) -> None:
    headers = library.Headers(RAW)
    read = _header_reader(headers)
    assert read is not headers.get  # the fast reader: these headers are kept as httpx keeps them
    assert [read(name) for name in NAMES] == [headers.get(name) for name in NAMES]
    assert read("set-cookie") == "a=1, b=2"
    assert read("content-encoding") is None


@pytest.mark.parametrize("library", [httpx, httpx2])
def test_no_headers(library: Any) -> None:
    assert _header_reader(library.Headers())("content-encoding") is None


class _Kept:
    """Headers kept some other way (no ``_list`` of triples): read with their own ``get``."""

    def __init__(self, listed: Any) -> None:
        self._list = listed

    def get(self, name: str) -> str | None:
        return {"content-encoding": "gzip"}.get(name.lower())


@pytest.mark.parametrize("listed", [None, [("content-encoding", "gzip")], ("a", "b", "c")])
def test_headers_kept_otherwise_are_read_with_get(listed: Any) -> None:
    headers = _Kept(listed)
    assert _header_reader(headers) == headers.get
    assert _header_reader(headers)("Content-Encoding") == "gzip"
