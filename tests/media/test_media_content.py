"""Captured content of media calls follows the conventions' message schema, and never holds bytes."""

from __future__ import annotations

import json

import llmmeter
from tests import fakes
from tests.media.test_audio import token_usage
from tests.media.test_images import image_usage, images_body
from tests.otel import llm_spans


def content(span, key: str):
    return json.loads(span.attributes[key])


def test_an_image_prompt_and_its_images_are_messages_with_parts(server, make_client, span_exporter):
    llmmeter.configure(capture_content=True)
    body = images_body(usage=image_usage(10, 0, 100))
    body["data"] = [{"url": "https://files.example/img-1.png", "revised_prompt": "a tall lighthouse"}]
    server.reply = fakes.Reply(body)

    make_client().images.generate(model="gpt-image-1.5", prompt="a lighthouse")

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert content(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "a lighthouse"}]}
    ]
    assert content(span, "gen_ai.output.messages") == [
        {
            "role": "assistant",
            "parts": [
                {"type": "uri", "modality": "image", "uri": "https://files.example/img-1.png"},
                {"type": "text", "content": "a tall lighthouse"},
            ],
            "finish_reason": "stop",
        }
    ]


def test_a_transcript_is_an_output_message_and_the_audio_is_not_captured(server, make_client, span_exporter):
    llmmeter.configure(capture_content=True)
    server.reply = fakes.Reply({"text": "hello there", "usage": token_usage(5, 100, 3)})

    make_client().audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("talk.mp3", b"ID3" + b"\x01" * 4_000, "audio/mpeg"), prompt="names"
    )

    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert content(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "names"}]}
    ]
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [{"type": "text", "content": "hello there"}], "finish_reason": "stop"}
    ]
    assert not any("\x01" in str(value) for value in span.attributes.values())
