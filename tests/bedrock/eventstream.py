"""An encoder of AWS event-stream messages, for the loopback Bedrock server.

The framing (``application/vnd.amazon.eventstream``): a 12-byte prelude (total length, headers
length, both big-endian uint32, then the CRC32 of those 8 bytes), the headers (each a 1-byte name
length, the name, a 1-byte value type — 7 for a string —, a 2-byte value length and the value), the
payload, and the CRC32 of everything before it.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

_STRING = 7


def _header(name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode(), value.encode()
    return (
        struct.pack(">B", len(name_bytes))
        + name_bytes
        + struct.pack(">BH", _STRING, len(value_bytes))
        + value_bytes
    )


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message."""
    header_bytes = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack(">II", total, len(header_bytes))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + header_bytes + payload
    return head + struct.pack(">I", zlib.crc32(head))


def event(event_type: str, payload: dict[str, Any]) -> bytes:
    """An event message whose payload is JSON (as Bedrock sends them)."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return message(headers, json.dumps(payload).encode())


def exception(exception_type: str, text: str) -> bytes:
    """An exception message (``throttlingException``, ``modelStreamErrorException``...)."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return message(headers, json.dumps({"message": text}).encode())


def chunk(payload: dict[str, Any]) -> bytes:
    """An InvokeModelWithResponseStream ``chunk`` event: the family's event JSON, base64-encoded."""
    return event("chunk", {"bytes": base64.b64encode(json.dumps(payload).encode()).decode()})


def bad_crc(frame: bytes) -> bytes:
    """``frame`` with its message CRC broken."""
    return frame[:-4] + struct.pack(">I", (zlib.crc32(frame[:-4]) + 1) & 0xFFFFFFFF)
