"""The Videos API (Sora) through the real openai SDK: a created job is priced, polling is not.

Rates per second of video from OpenAI's API pricing page (platform.openai.com/docs/pricing, "Video"),
as the seed document quotes them: sora-2 $0.10; sora-2-pro $0.30 at 720x1280 / 1280x720 and $0.50 at
1024x1792 / 1792x1024.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import openai
import pytest

import llmmeter
from llmmeter.testing import record_calls
from tests import fakes
from tests.otel import llm_spans

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API is scheduled:DeprecationWarning")


def video(**fields: Any) -> dict[str, Any]:
    job = {
        "id": "video_123",
        "object": "video",
        "created_at": 1_700_000_000,
        "model": "sora-2",
        "progress": 0,
        "seconds": "4",
        "size": "720x1280",
        "status": "queued",
    }
    job.update(fields)
    return job


@pytest.mark.parametrize(
    ("model", "seconds", "size", "expected"),
    [
        ("sora-2", "4", "720x1280", 4 * Decimal("0.10")),
        ("sora-2-pro", "12", "1280x720", 12 * Decimal("0.30")),
        ("sora-2-pro", "8", "1792x1024", 8 * Decimal("0.50")),
        ("sora-2-pro", "8", "1024x1792", 8 * Decimal("0.50")),
    ],
)
def test_created_job_is_priced_by_seconds_at_its_size_rate(
    server, make_client, span_exporter, model, seconds, size, expected
):
    """POST /videos is priced when the job is created: requested seconds at the model's rate for the size."""
    server.reply = fakes.Reply(video(model=model, seconds=seconds, size=size))
    client = make_client()

    with record_calls() as calls:
        job = client.videos.create(model=model, prompt="a wave", seconds=seconds, size=size)

    assert job.status == "queued"
    (call,) = calls
    assert call.cost.total == expected
    assert call.cost.status == "ok"
    assert dict(call.cost.components) == {"video": expected}
    (span,) = llm_spans(span_exporter.get_finished_spans())
    attributes = dict(span.attributes)
    assert span.name == f"generate_content {model}"
    assert attributes["llmmeter.request.video.seconds"] == int(seconds)
    assert attributes["llmmeter.request.video.size"] == size
    assert attributes["llmmeter.usage.seconds"] == int(seconds)
    assert attributes["gen_ai.response.id"] == "video_123"


def test_job_defaults_come_from_the_response(server, make_client):
    """A create naming no seconds or size is priced by what the job reports (the API's defaults)."""
    server.reply = fakes.Reply(video(model="sora-2-pro", seconds="4", size="1024x1792"))
    client = make_client()

    with record_calls() as calls:
        client.videos.create(model="sora-2-pro", prompt="a wave")

    assert calls[0].cost.total == 4 * Decimal("0.50")


def test_remix_is_a_new_job_priced_from_the_job(server, make_client, span_exporter):
    """POST /videos/{id}/remix sends only a prompt; the job it creates says model, seconds and size."""
    server.reply = fakes.Reply(
        video(id="video_456", model="sora-2", seconds="8", remixed_from_video_id="video_123")
    )
    client = make_client()

    with record_calls() as calls:
        client.videos.remix("video_123", prompt="at night")

    assert server.requests[0][1] == "/v1/videos/video_123/remix"
    assert calls[0].cost.total == 8 * Decimal("0.10")
    assert calls[0].response_model == "sora-2"


def test_polling_and_downloading_are_not_metered(server, make_client, span_exporter):
    """GET /videos/{id} and GET /videos/{id}/content are not calls to price: no span, no record."""
    client = make_client()

    with record_calls() as calls:
        server.reply = fakes.Reply(video(status="completed", progress=100))
        assert client.videos.retrieve("video_123").status == "completed"
        server.reply = fakes.Reply(
            chunks=[b"\x00\x00\x00\x18ftypmp42"], headers={"content-type": "video/mp4"}
        )
        assert client.videos.download_content("video_123").read() == b"\x00\x00\x00\x18ftypmp42"

    assert calls == []
    assert llm_spans(span_exporter.get_finished_spans()) == []


def test_failed_job_is_recorded_as_failed_and_not_priced(server, make_client, span_exporter):
    """A create answered with status "failed" records the job's error as error.type, and no cost."""
    error = {"code": "moderation_blocked", "message": "blocked"}
    server.reply = fakes.Reply(video(status="failed", error=error))
    client = make_client()

    with record_calls() as calls:
        job = client.videos.create(model="sora-2", prompt="x", seconds="4")

    assert job.status == "failed"
    assert calls[0].error_type == "moderation_blocked"
    assert calls[0].cost.total is None
    (span,) = llm_spans(span_exporter.get_finished_spans())
    assert span.attributes["error.type"] == "moderation_blocked"
    assert span.status.status_code.name == "ERROR"


def test_refused_create_is_recorded_with_its_status(server, make_client):
    """A 400 on create raises the SDK's error unchanged, recorded with error.type."""
    server.reply = fakes.Reply(
        {"error": {"message": "bad size", "type": "invalid_request_error"}}, status=400
    )
    client = make_client()

    with record_calls() as calls, pytest.raises(openai.BadRequestError):
        client.videos.create(model="sora-2", prompt="x", size="720x1280")

    assert calls[0].error_type == "400"
    assert calls[0].cost.total is None


async def test_async_create_with_a_reference_upload_is_priced(server, make_client):
    """AsyncOpenAI: a multipart create carrying an input_reference image is priced from its fields."""
    server.reply = fakes.Reply(video(model="sora-2-pro", seconds="12", size="1792x1024"))
    client = make_client(asynchronous=True)

    with record_calls() as calls:
        await client.videos.create(
            model="sora-2-pro",
            prompt="a wave",
            seconds="12",
            size="1792x1024",
            input_reference=("ref.png", b"\x89PNG" + b"r" * 100_000, "image/png"),
        )
    await client.close()

    assert b"r" * 100_000 in server.requests[0][2]
    assert calls[0].cost.total == 12 * Decimal("0.50")


def test_a_spent_budget_refuses_the_next_video_job_before_it_is_sent(server, make_client):
    """budget(): a sora-2-pro job that spends the limit is priced at creation, so the next create
    is refused before it leaves, and track() saw the first job's cost."""
    server.reply = fakes.Reply(video(model="sora-2-pro", seconds="8", size="1792x1024"))
    client = make_client()

    with llmmeter.track() as spend, llmmeter.budget(usd=Decimal("1.00")):
        client.videos.create(model="sora-2-pro", prompt="a", seconds="8", size="1792x1024")
        with pytest.raises(llmmeter.BudgetExceeded):
            client.videos.create(model="sora-2-pro", prompt="b", seconds="8", size="1792x1024")

    assert len(server.requests) == 1
    assert spend.cost_usd == 8 * Decimal("0.50")
    assert spend.calls == 1
