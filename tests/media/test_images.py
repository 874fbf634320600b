"""The Images API through the real openai SDK: generations, edits (multipart uploads), streams.

Rates, USD per 1M tokens, from OpenAI's API pricing page (platform.openai.com/docs/pricing, "Image
generation" table; the same figures genai-prices 0.2.3 carries):
  gpt-image-1.5     text input 5.00, image input 8.00, text output 10.00, image output 32.00
  gpt-image-1       text input 5.00, image input 10.00, image output 40.00
  gpt-image-1-mini  text input 2.00, image input 2.50, image output 8.00
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import httpx2
import openai
import pytest

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans, metric_total

M = Decimal(1_000_000)


def images_body(*, usage: dict | None, images: int = 1) -> dict:
    body: dict = {
        "created": 1_700_000_000,
        "data": [{"b64_json": base64.b64encode(b"png-bytes").decode()} for _ in range(images)],
        "size": "1024x1536",
        "quality": "high",
        "output_format": "png",
    }
    if usage is not None:
        body["usage"] = usage
    return body


def image_usage(text: int, image: int, output: int, output_details: dict | None = None) -> dict:
    usage = {
        "input_tokens": text + image,
        "input_tokens_details": {"text_tokens": text, "image_tokens": image},
        "output_tokens": output,
        "total_tokens": text + image + output,
    }
    if output_details is not None:
        usage["output_tokens_details"] = output_details
    return usage


def test_generation_is_priced_per_modality_with_its_request_attributes(server, make_client, span_exporter):
    """A gpt-image-1.5 generation: text input and image output at their own rates; size, quality, n."""
    server.reply = fakes.Reply(images_body(usage=image_usage(50, 0, 12_480), images=2))
    client = make_client()

    with record_calls() as calls:
        result = client.images.generate(
            model="gpt-image-1.5", prompt="a lighthouse", n=2, size="1024x1536", quality="high"
        )

    assert len(result.data) == 2
    expected = (50 * Decimal("5.00") + 12_480 * Decimal("32.00")) / M
    (call,) = calls
    assert call.cost.total == expected
    assert call.cost.status == "ok"
    assert call.operation == "generate_content"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    attributes = dict(span.attributes)
    assert span.name == "generate_content gpt-image-1.5"
    assert attributes["gen_ai.output.type"] == "image"
    assert attributes["llmmeter.request.image.size"] == "1024x1536"
    assert attributes["llmmeter.request.image.quality"] == "high"
    assert attributes["gen_ai.request.choice.count"] == 2
    assert attributes["gen_ai.usage.input_tokens"] == 50
    assert attributes["gen_ai.usage.output_tokens"] == 12_480
    assert attributes["llmmeter.usage.images"] == 2
    assert attributes["llmmeter.cost.output_image"] == float(12_480 * Decimal("32.00") / M)
    assert attributes["gen_ai.usage.cost.amount"] == float(expected)


def test_output_details_split_text_from_image_output(server, make_client):
    """Output tokens the response splits into text and image are billed at the two output rates."""
    usage = image_usage(40, 0, 4_020, output_details={"text_tokens": 20, "image_tokens": 4_000})
    server.reply = fakes.Reply(images_body(usage=usage))
    client = make_client()

    with record_calls() as calls:
        client.images.generate(model="gpt-image-1.5", prompt="a fox")

    expected = (40 * Decimal("5.00") + 20 * Decimal("10.00") + 4_000 * Decimal("32.00")) / M
    assert calls[0].cost.total == expected
    assert dict(calls[0].cost.components) == {
        "input": 40 * Decimal("5.00") / M,
        "output": 20 * Decimal("10.00") / M,
        "output_image": 4_000 * Decimal("32.00") / M,
    }


def test_gpt_image_1_image_output_has_its_own_rate(server, make_client):
    """gpt-image-1 bills image output at $40 per 1M: exact, not an estimate from the output rate."""
    server.reply = fakes.Reply(images_body(usage=image_usage(30, 0, 1_056)))
    client = make_client()

    with record_calls() as calls:
        client.images.generate(model="gpt-image-1", prompt="a fox", quality="medium", size="1024x1024")

    assert calls[0].cost.total == (30 * Decimal("5.00") + 1_056 * Decimal("40.00")) / M
    assert calls[0].cost.status == "ok"


def test_edit_upload_is_read_for_its_fields_never_copied_into_telemetry(server, make_client, span_exporter):
    """An edit's multipart body reaches the server whole; model, size and count come from its fields."""
    server.reply = fakes.Reply(images_body(usage=image_usage(200, 1_000, 4_160)))
    client = make_client()
    picture = b"\x89PNG\r\n\x1a\n" + b"IMAGEBYTES" * 200_000  # 2 MB
    mask = b"\x89PNG\r\n\x1a\n" + b"MASK" * 1000

    with record_calls() as calls:
        client.images.edit(
            model="gpt-image-1",
            image=("room.png", picture, "image/png"),
            mask=("mask.png", mask, "image/png"),
            prompt="add a window",
            size="1024x1024",
            n=1,
        )

    (_method, path, body, headers) = server.requests[0]
    assert path == "/v1/images/edits"
    assert headers["Content-Type"].startswith("multipart/form-data")
    assert picture in body
    assert mask in body
    expected = (200 * Decimal("5.00") + 1_000 * Decimal("10.00") + 4_160 * Decimal("40.00")) / M
    assert calls[0].cost.total == expected
    assert calls[0].request_model == "gpt-image-1"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    attributes = dict(span.attributes)
    assert attributes["llmmeter.request.image.size"] == "1024x1024"
    assert attributes["gen_ai.request.choice.count"] == 1
    assert all(len(str(value)) < 200 for value in attributes.values())
    assert not any("IMAGEBYTES" in str(value) for value in attributes.values())


def image_stream(kind: str, usage: dict, partials: int = 2) -> list[bytes]:
    common = {"background": "opaque", "output_format": "png", "quality": "high", "size": "1024x1024"}
    events = [
        (
            f"{kind}.partial_image",
            {
                "type": f"{kind}.partial_image",
                "b64_json": base64.b64encode(b"P" * 300_000).decode(),
                "created_at": 1,
                "partial_image_index": i,
                **common,
            },
        )
        for i in range(partials)
    ]
    events.append(
        (
            f"{kind}.completed",
            {
                "type": f"{kind}.completed",
                "b64_json": base64.b64encode(b"final").decode(),
                "created_at": 2,
                "usage": usage,
                **common,
            },
        )
    )
    return fakes.sse(events)


def test_streamed_generation_is_priced_from_its_completed_event(server, make_client, span_exporter):
    """A streamed generation: partial images pass through; the completed event's usage is priced."""
    server.reply = fakes.Reply(chunks=image_stream("image_generation", image_usage(60, 0, 4_160)))
    client = make_client()

    with record_calls() as calls:
        stream = client.images.generate(model="gpt-image-1", prompt="a fox", stream=True, partial_images=2)
        kinds = [event.type for event in stream]

    assert kinds == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    (call,) = calls
    assert call.stream
    assert call.cost.total == (60 * Decimal("5.00") + 4_160 * Decimal("40.00")) / M
    assert call.cost.status == "ok"
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.request.stream"] is True


def test_streamed_edit_is_priced_from_its_completed_event(server, make_client):
    """A streamed edit (multipart with stream=true) is priced from ``image_edit.completed``."""
    usage = image_usage(20, 500, 1_000)
    server.reply = fakes.Reply(chunks=image_stream("image_edit", usage, partials=1))
    client = make_client()

    with record_calls() as calls:
        stream = client.images.edit(
            model="gpt-image-1-mini",
            image=("a.png", b"\x89PNG" + b"x" * 5000, "image/png"),
            prompt="x",
            stream=True,
        )
        for _ in stream:
            pass

    expected = (20 * Decimal("2.00") + 500 * Decimal("2.50") + 1_000 * Decimal("8.00")) / M
    assert calls[0].cost.total == expected
    assert calls[0].stream


def test_stream_cut_before_completion_is_recorded_unpriced(server, make_client):
    """A stream that ends on a partial image has no usage: the call is recorded, with no cost."""
    chunks = image_stream("image_generation", image_usage(1, 0, 1))[:-1]
    server.reply = fakes.Reply(chunks=chunks)
    client = make_client()

    with record_calls() as calls:
        for _ in client.images.generate(model="gpt-image-1", prompt="x", stream=True, partial_images=2):
            pass

    assert calls[0].cost.status == "no_usage"
    assert calls[0].cost.total is None


async def test_async_generation_is_metered(server, make_client, metric_reader):
    """AsyncOpenAI image generations are priced the same and counted in llmmeter.cost."""
    server.reply = fakes.Reply(images_body(usage=image_usage(10, 0, 272)))
    client = make_client(asynchronous=True)

    with record_calls() as calls:
        await client.images.generate(model="gpt-image-1", prompt="x", quality="low")
    await client.close()

    expected = (10 * Decimal("5.00") + 272 * Decimal("40.00")) / M
    assert calls[0].cost.total == expected
    total = metric_total(metric_reader, "llmmeter.cost", gen_ai__operation__name="generate_content")
    assert total == pytest.approx(float(expected))


# Per-image prices, USD. DALL-E 3: standard 1024x1024 0.040, 1024x1792 / 1792x1024 0.080; HD
# 1024x1024 0.080, 1024x1792 / 1792x1024 0.120. DALL-E 2: 256x256 0.016, 512x512 0.018, 1024x1024
# 0.020 (OpenAI's pricing page, https://openai.com/api/pricing/, "Image generation"; the models are
# now shut down, https://developers.openai.com/api/docs/models/dall-e-3). GPT Image 1, high quality:
# 1024x1024 0.167, 1024x1536 / 1536x1024 0.25 (https://developers.openai.com/api/docs/models/gpt-image-1,
# "Image generation, per image").
DALL_E_3_HD_TALL = Decimal("0.120")
DALL_E_3_STANDARD_SQUARE = Decimal("0.040")
DALL_E_2_MEDIUM = Decimal("0.018")
GPT_IMAGE_1_HIGH_TALL = Decimal("0.25")


def test_dall_e_3_is_billed_per_image_by_size_and_quality(server, make_client, span_exporter):
    """DALL-E reports no tokens: n images of the requested size and quality at their per-image price."""
    server.reply = fakes.Reply(images_body(usage=None, images=2))
    client = make_client()

    with record_calls() as calls:
        client.images.generate(model="dall-e-3", prompt="x", n=2, size="1024x1792", quality="hd")

    [call] = calls
    assert call.usage is not None
    assert call.usage.images == 2
    assert call.cost.status == "ok"
    assert call.cost.total == 2 * DALL_E_3_HD_TALL
    assert call.cost.components == {"images": 2 * DALL_E_3_HD_TALL}
    [span] = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["gen_ai.usage.cost.amount"] == pytest.approx(float(2 * DALL_E_3_HD_TALL))
    assert span.attributes["llmmeter.cost.images"] == pytest.approx(float(2 * DALL_E_3_HD_TALL))


def test_dall_e_3_defaults_are_standard_and_square(server, make_client):
    """A DALL-E 3 request naming no size or quality gets the API's defaults: standard 1024x1024."""
    server.reply = fakes.Reply(images_body(usage=None, images=1))
    client = make_client()

    with record_calls() as calls:
        client.images.generate(model="dall-e-3", prompt="x")

    assert calls[0].cost.status == "ok"
    assert calls[0].cost.total == DALL_E_3_STANDARD_SQUARE


def test_dall_e_2_is_billed_by_size(server, make_client):
    """DALL-E 2 has one quality: three 512x512 images at its 512x512 price."""
    server.reply = fakes.Reply(images_body(usage=None, images=3))
    client = make_client()

    with record_calls() as calls:
        client.images.generate(model="dall-e-2", prompt="x", n=3, size="512x512")

    assert calls[0].cost.status == "ok"
    assert calls[0].cost.total == 3 * DALL_E_2_MEDIUM


def test_gpt_image_without_usage_is_estimated_from_its_per_image_price(server, make_client, caplog):
    """gpt-image-1 answered without usage (a proxy): estimated per image, with the reason, no warning."""
    server.reply = fakes.Reply(images_body(usage=None, images=1))
    client = make_client()

    with record_calls() as calls:
        client.images.generate(model="gpt-image-1", prompt="x", size="1024x1536", quality="high")

    cost = calls[0].cost
    assert cost.status == "estimated"
    assert cost.total == GPT_IMAGE_1_HIGH_TALL
    assert cost.reason is not None
    assert "no token usage" in cost.reason
    assert "high 1024x1536" in cost.reason
    assert "no images price" not in caplog.text


def test_malformed_image_response_passes_through_untouched(server, make_client):
    """A body that is not the documented shape reaches the SDK as sent; the call is recorded unpriced."""
    body = {"data": "not-a-list", "usage": {"input_tokens": "many", "output_tokens": -4}}
    server.reply = fakes.Reply(body)
    client = make_client()

    with record_calls() as calls:
        raw = client.images.with_raw_response.generate(model="gpt-image-1", prompt="x")

    assert json.loads(raw.http_response.content) == body
    assert calls[0].cost.total is None
    assert calls[0].cost.status == "invalid_usage"


def test_openai_error_on_an_image_call_is_recorded(server, make_client):
    """A 400 from the Images API raises the SDK's error unchanged and records error.type."""
    server.reply = fakes.Reply(
        {"error": {"message": "bad size", "type": "invalid_request_error"}}, status=400
    )
    client = make_client()

    with record_calls() as calls, pytest.raises(openai.BadRequestError):
        client.images.generate(model="gpt-image-1", prompt="x", size="7x7")

    assert calls[0].error_type == "400"


def test_large_image_response_is_priced_from_its_ends(server, make_client):
    """A 4 MB base64 image body is read by its two ends only, and its usage (at the end) is priced."""
    body = images_body(usage=image_usage(12, 0, 6_240))
    body["data"] = [{"b64_json": base64.b64encode(b"\x00" * 3_000_000).decode()}]
    server.reply = fakes.Reply(body)
    client = make_client()

    with record_calls() as calls:
        result = client.images.generate(model="gpt-image-1.5", prompt="x", size="1024x1536")

    assert len(result.data[0].b64_json) == 4_000_000
    assert calls[0].cost.total == (12 * Decimal("5.00") + 6_240 * Decimal("32.00")) / M
    assert calls[0].cost.status == "ok"


def test_azure_openai_image_generation_is_metered(server, tracer_provider, meter_provider, span_exporter):
    """AzureOpenAI's deployment path (/openai/deployments/{name}/images/generations) is an image call."""
    server.reply = fakes.Reply(images_body(usage=image_usage(25, 0, 1_056)))
    http_client = llmmeter.meter_client(
        httpx2.Client(), tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    client = openai.AzureOpenAI(
        azure_endpoint=server.url.removesuffix("/v1"),
        api_version="2025-04-01-preview",
        api_key="azure-secret",
        http_client=http_client,
        max_retries=0,
    )

    with record_calls() as calls:
        client.images.generate(model="gpt-image-1.5", prompt="x")
    client.close()

    assert server.requests[0][1].startswith("/openai/deployments/gpt-image-1.5/images/generations")
    assert calls[0].provider == "azure.ai.openai"
    assert calls[0].cost.total == (25 * Decimal("5.00") + 1_056 * Decimal("32.00")) / M
