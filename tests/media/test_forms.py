"""Multipart uploads as the capture point reads them: from the library's fields or from bytes,
never copying the files, and leaving whatever is malformed to pass through untouched."""

from __future__ import annotations

import io
from decimal import Decimal

import httpx
import httpx2
import openai
import pytest

import llmmeter
from llmmeter._capture._forms import form_fields
from llmmeter._providers._audio import wav_seconds
from llmmeter._providers._base import UploadedFile
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans

M = Decimal(1_000_000)
USAGE = {
    "type": "tokens",
    "input_tokens": 1_000,
    "input_token_details": {"text_tokens": 0, "audio_tokens": 1_000},
    "output_tokens": 10,
}
# gpt-4o-transcribe: audio input $6.00, text output $10.00 per 1M tokens (OpenAI pricing page).
EXPECTED = (1_000 * Decimal("6.00") + 10 * Decimal("10.00")) / M


def metered(library, server, tracer_provider, meter_provider):
    return llmmeter.meter_client(
        library.Client(base_url=server.url), tracer_provider=tracer_provider, meter_provider=meter_provider
    )


@pytest.mark.parametrize("library", [httpx2, httpx], ids=["httpx2", "httpx"])
def test_sdk_upload_over_either_library_is_read_from_its_fields(
    library, server, tracer_provider, meter_provider
):
    """The openai SDK on an httpx or httpx2 client: the model comes from the unrendered form."""
    server.reply = fakes.Reply({"text": "hi", "usage": USAGE})
    http_client = llmmeter.meter_client(
        library.Client(), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    client = openai.OpenAI(api_key="sk-x", base_url=server.url, http_client=http_client, max_retries=0)

    with record_calls() as calls:
        client.audio.transcriptions.create(model="gpt-4o-transcribe", file=io.BytesIO(b"ID3" + b"a" * 70_000))
    client.close()

    assert calls[0].request_model == "gpt-4o-transcribe"
    assert calls[0].cost.total == EXPECTED


def multipart(boundary: str, *parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            out += b"Content-Type: audio/wav\r\n"
        out += b"\r\n" + value + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


@pytest.mark.parametrize("library", [httpx2, httpx], ids=["httpx2", "httpx"])
def test_rendered_multipart_bytes_are_parsed(library, server, tracer_provider, meter_provider):
    """A hand-built multipart body (bytes) is parsed for its fields; the server gets it as sent."""
    server.reply = fakes.Reply({"text": "hi", "usage": USAGE})
    body = multipart(
        "xyz", ("file", "a.mp3", b"--xyz-lookalike" * 5000), ("model", None, b"gpt-4o-transcribe")
    )
    client = metered(library, server, tracer_provider, meter_provider)

    with record_calls() as calls:
        response = client.post(
            "/audio/transcriptions",
            content=body,
            headers={"content-type": 'multipart/form-data; boundary="xyz"'},
        )
    client.close()

    assert response.json()["text"] == "hi"
    assert server.requests[0][2] == body
    assert calls[0].request_model == "gpt-4o-transcribe"
    assert calls[0].cost.total == EXPECTED


@pytest.mark.parametrize(
    "body",
    [
        b'--xyz\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o-transcribe',  # unterminated
        b"not multipart at all",
        b"--xyz\r\n\r\n\r\n--xyz--",  # a part without a name
        b"",
    ],
)
def test_malformed_multipart_passes_through_untouched(
    body, server, tracer_provider, meter_provider, span_exporter
):
    """A broken form reaches the server byte for byte; the call is still recorded."""
    server.reply = fakes.Reply({"text": "hi"})
    client = metered(httpx2, server, tracer_provider, meter_provider)

    with record_calls() as calls:
        response = client.post(
            "/audio/transcriptions",
            content=body,
            headers={"content-type": "multipart/form-data; boundary=xyz"},
        )
    client.close()

    assert response.status_code == 200
    assert server.requests[0][2] == body
    assert len(calls) == 1
    assert calls[0].request_model is None
    assert len(llm_spans(span_exporter.get_finished_spans())) == 1


def test_non_json_answers_to_json_endpoints_pass_through(server, tracer_provider, meter_provider):
    """An images call answered with HTML reaches the caller unchanged and is recorded unpriced."""
    server.reply = fakes.Reply(chunks=[b"<html>bad gateway</html>"], headers={"content-type": "text/html"})
    client = metered(httpx2, server, tracer_provider, meter_provider)

    with record_calls() as calls:
        response = client.post("/images/generations", json={"model": "gpt-image-1", "prompt": "x"})
    client.close()

    assert response.text == "<html>bad gateway</html>"
    assert calls[0].cost.status == "no_usage"


def test_form_fields_keep_text_and_describe_files():
    """Text fields are strings; a file is its name, type, size and first bytes only."""
    content = multipart("b0", ("model", None, b"whisper-1"), ("file", "a.wav", b"RIFF" + b"\x00" * 10_000))
    request = httpx2.Request(
        "POST", "http://x/v1/audio/transcriptions", content=content,
        headers={"content-type": "multipart/form-data; boundary=b0"},
    )  # fmt: skip

    form = form_fields(request)

    assert form is not None
    assert form["model"] == "whisper-1"
    upload = form["file"]
    assert isinstance(upload, UploadedFile)
    assert (upload.filename, upload.content_type, upload.size) == ("a.wav", "audio/wav", 10_004)
    assert len(upload.head) == 512


def test_wav_duration_is_read_from_its_header_and_size():
    """16 kHz mono 16-bit: 32,000 bytes a second of data."""
    header = (
        b"RIFF" + (36 + 96_000).to_bytes(4, "little") + b"WAVE"
        + b"fmt " + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
        + (16_000).to_bytes(4, "little") + (32_000).to_bytes(4, "little") + (2).to_bytes(2, "little")
        + (16).to_bytes(2, "little") + b"data" + (96_000).to_bytes(4, "little")
    )  # fmt: skip
    assert wav_seconds(UploadedFile("a.wav", "audio/wav", len(header) + 96_000, header)) == 3.0
    assert wav_seconds(UploadedFile("a.mp3", "audio/mpeg", 5000, b"ID3" + b"\x00" * 100)) is None
    assert wav_seconds(UploadedFile("a.wav", "audio/wav", None, header)) is None


def test_an_open_file_is_peeked_and_left_where_it_was(tmp_path):
    """A file object given to the SDK: its size and head are read, its position restored."""
    path = tmp_path / "a.wav"
    path.write_bytes(b"RIFF" + b"\x01" * 2000)
    with path.open("rb") as file:
        file.seek(7)
        request = httpx2.Request("POST", "http://x/v1/audio/transcriptions", files={"file": file})
        form = form_fields(request)
        assert file.tell() == 7

    assert form is not None
    upload = form["file"]
    assert isinstance(upload, UploadedFile)
    assert upload.size == 2004
    assert upload.head == (b"RIFF" + b"\x01" * 2000)[:512]
