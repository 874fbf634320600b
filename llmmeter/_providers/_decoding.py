"""Incremental decoders for ``Content-Encoding``, so a compressed body can be parsed as it streams.

The caller always receives the original bytes; these decoders only work on llmmeter's copy.
gzip and deflate use the standard library; br and zstd need the optional ``brotli`` and
``zstandard`` packages (``pip install llmmeter[compression]``) and are skipped without them.
"""

from __future__ import annotations

import zlib
from collections.abc import Container
from typing import Any, Protocol

__all__ = ["IDENTITY", "Decoder", "make_decoder"]


class Decoder(Protocol):
    """Decodes one body, piece by piece."""

    def decode(self, data: bytes) -> bytes:
        """The decoded bytes available after ``data``."""

    def flush(self) -> bytes:
        """Whatever remains at the end of the body."""


class _Identity:
    __slots__ = ()

    def decode(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


IDENTITY: Decoder = _Identity()
"""The decoder of a body that is not encoded (it keeps no state: one serves every body)."""


class _Zlib:
    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._zlib = zlib.decompressobj(wbits)
        self._first = True

    def decode(self, data: bytes) -> bytes:
        if self._first and self._wbits == zlib.MAX_WBITS and data:
            # "deflate" is meant to be zlib-wrapped, but raw deflate is common in the wild.
            self._first = False
            try:
                return self._zlib.decompress(data)
            except zlib.error:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        self._first = False
        return self._zlib.decompress(data)

    def flush(self) -> bytes:
        return self._zlib.flush()


class _Brotli:
    def __init__(self, module: Any) -> None:
        self._decompressor = module.Decompressor()

    def decode(self, data: bytes) -> bytes:
        process = getattr(self._decompressor, "process", None) or self._decompressor.decompress
        return bytes(process(data))

    def flush(self) -> bytes:
        return b""


class _Zstd:
    def __init__(self, module: Any) -> None:
        self._decompressor = module.ZstdDecompressor().decompressobj()

    def decode(self, data: bytes) -> bytes:
        return bytes(self._decompressor.decompress(data))

    def flush(self) -> bytes:
        return b""


class _Chain:
    """Several encodings, applied in the order the server listed them; decoded in reverse."""

    def __init__(self, decoders: list[Decoder]) -> None:
        self._decoders = decoders

    def decode(self, data: bytes) -> bytes:
        for decoder in self._decoders:
            data = decoder.decode(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for decoder in self._decoders:
            data = (decoder.decode(data) if data else b"") + decoder.flush()
        return data


def _one(encoding: str) -> Decoder | None:
    if encoding in ("", "identity"):
        return IDENTITY
    if encoding in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if encoding == "deflate":
        return _Zlib(zlib.MAX_WBITS)
    if encoding == "br":
        try:
            import brotli
        except ImportError:
            return None
        return _Brotli(brotli)
    if encoding == "zstd":
        try:
            import zstandard
        except ImportError:
            return None
        return _Zstd(zstandard)
    return None


def make_decoder(
    content_encoding: str | None, client_decodes: Container[str] | None = None
) -> Decoder | None:
    """A decoder for the header's value, or None when an encoding cannot be decoded here.

    ``client_decodes`` is the set of encodings the caller's HTTP library decodes: it skips every
    other token (``none``, ``utf-8``, ``br`` without a brotli decoder), handing the bytes on as they
    are, and so does this decoder, so the body is read exactly as the caller reads it.
    """
    if not content_encoding:
        return IDENTITY
    names = [part.strip().lower() for part in content_encoding.split(",") if part.strip()]
    if client_decodes is not None:
        names = [name for name in names if name in client_decodes]
    decoders: list[Decoder] = []
    for name in reversed(names):
        decoder = _one(name)
        if decoder is None:
            return None
        decoders.append(decoder)
    if len(decoders) == 1:
        return decoders[0]
    return _Chain(decoders)
