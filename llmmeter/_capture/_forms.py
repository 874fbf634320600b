"""The fields of a ``multipart/form-data`` request (uploads to the images, audio and video APIs).

Read without copying what is uploaded: text fields become strings, file parts become
:class:`UploadedFile` (name, type, size, first bytes). An SDK request built by httpx or httpx2 has
not rendered its body yet: its fields are read from the multipart stream the library built, which
is left untouched for the library to send. A request whose body is already bytes (built by hand,
replayed) is parsed from them, with offsets into the body rather than copies of its parts.
"""

from __future__ import annotations

import io
from typing import Any

from llmmeter._providers._base import UPLOAD_HEAD_BYTES, UploadedFile

__all__ = ["Form", "form_fields"]

Form = dict[str, "str | UploadedFile"]
"""Field name -> its text or its file; a name given twice keeps its last value (``image[]``: the first)."""

_MAX_FIELDS = 256
_MAX_HEADERS = 8 << 10
"""A part whose headers do not end within this many bytes is malformed: parsing stops there."""
_MAX_TEXT = 64 << 10
"""A text field longer than this (a long prompt) is cut: only short parameters are read from it."""


def form_fields(request: Any) -> Form | None:
    """The form fields of ``request``, or None when it is not a readable multipart request."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    fields = getattr(request.stream, "fields", None)
    if isinstance(fields, list):
        return _from_library_fields(fields)
    try:
        content = request.content
    except Exception:  # a streaming body that was not read: leave it alone
        return None
    boundary = _boundary(content_type)
    if boundary is None or not content:
        return None
    return _parse(bytes(content), boundary)


def _from_library_fields(fields: list[Any]) -> Form:
    """Fields from httpx's / httpx2's ``MultipartStream.fields`` (``DataField`` and ``FileField``)."""
    form: Form = {}
    for field in fields[:_MAX_FIELDS]:
        name = getattr(field, "name", None)
        if not isinstance(name, str) or name in form:
            continue
        if hasattr(field, "filename"):
            headers = getattr(field, "headers", None) or {}
            kind = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
            size, head = _peek(getattr(field, "file", None))
            form[name] = UploadedFile(getattr(field, "filename", None), kind, size, head)
        else:
            value = getattr(field, "value", None)
            if isinstance(value, bytes):
                value = value[:_MAX_TEXT].decode("utf-8", "replace")
            if isinstance(value, str):
                form[name] = value[:_MAX_TEXT]
    return form


def _peek(file: Any) -> tuple[int | None, bytes]:
    """The size and first bytes of an upload, leaving a file object where it was."""
    if isinstance(file, bytes | bytearray | memoryview):
        return len(file), bytes(file[:UPLOAD_HEAD_BYTES])
    if isinstance(file, io.BytesIO):
        view = file.getbuffer()
        try:
            return len(view), bytes(view[:UPLOAD_HEAD_BYTES])
        finally:
            view.release()
    try:
        if not file.seekable():
            return None, b""
        position = file.tell()
        size = file.seek(0, io.SEEK_END)
        file.seek(0)
        head = file.read(UPLOAD_HEAD_BYTES)
        file.seek(position)
    except Exception:  # not seekable: its size and head are unknown, and it is not read
        return None, b""
    return size, head if isinstance(head, bytes) else b""


def _boundary(content_type: str) -> bytes | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1", "replace")
    return None


def _parse(data: bytes, boundary: bytes) -> Form:
    """Parse a rendered multipart body; a malformed one yields the fields read before the fault."""
    form: Form = {}
    body = memoryview(data)
    delimiter = b"--" + boundary
    start = data.find(delimiter)
    while start != -1 and len(form) < _MAX_FIELDS:
        start += len(delimiter)
        if data[start : start + 2] == b"--":
            break  # the closing delimiter
        headers_end = data.find(b"\r\n\r\n", start, start + _MAX_HEADERS)
        if headers_end == -1:
            break
        end = data.find(b"\r\n" + delimiter, headers_end + 4)
        if end == -1:
            break
        name, filename, kind = _part_headers(data[start:headers_end].decode("utf-8", "replace"))
        content_start = headers_end + 4
        if name is not None and name not in form:
            if filename is not None:
                head = body[content_start : min(end, content_start + UPLOAD_HEAD_BYTES)].tobytes()
                form[name] = UploadedFile(filename, kind, end - content_start, head)
            else:
                text_end = min(end, content_start + _MAX_TEXT)
                form[name] = body[content_start:text_end].tobytes().decode("utf-8", "replace")
        start = end + 2
    return form


def _part_headers(block: str) -> tuple[str | None, str | None, str | None]:
    """A part's field name, file name and content type."""
    name = filename = kind = None
    for line in block.split("\r\n"):
        header, _, value = line.partition(":")
        header = header.strip().lower()
        if header == "content-type":
            kind = value.strip()
        elif header == "content-disposition":
            for param in value.split(";")[1:]:
                key, _, raw = param.strip().partition("=")
                text = raw.strip().strip('"')
                if key.lower() == "name":
                    name = text
                elif key.lower() == "filename":
                    filename = text
    return name, filename, kind
