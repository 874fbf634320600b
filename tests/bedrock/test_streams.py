"""ConverseStream and InvokeModelWithResponseStream, metered as the app iterates the EventStream.

One record per call however the stream ends: exhausted, closed early, abandoned, reset, truncated,
corrupted, timed out, or ended by an exception event. Prices as in ``test_converse`` (Claude Sonnet
4.5 from aws.amazon.com/bedrock/pricing: global $3.00 / $15.00 / $0.30 cache read / $3.75 cache write
per 1M; geographic and in-region $3.30 / $16.50 / $0.33 / $4.125; Llama 3.3 70B $0.72 / $0.72).
"""

from __future__ import annotations

import gc
import json
from decimal import Decimal
from typing import Any

import pytest
from botocore.eventstream import ChecksumMismatch, EventStream
from botocore.exceptions import EventStreamError
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from llmmeter.testing import record_calls
from tests.bedrock import eventstream
from tests.bedrock.server import Reply, anthropic_stream_frames, converse_stream_frames
from tests.bedrock.test_converse import GLOBAL, MESSAGES, REGIONAL, SONNET, expected, only_span

CLAUDE_BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 300, "messages": []})


def converse_stream(client: Any, model: str = f"global.{SONNET}") -> Any:
    return client.converse_stream(modelId=model, messages=MESSAGES, inferenceConfig={"maxTokens": 300})[
        "stream"
    ]


def test_converse_stream_is_metered_when_exhausted(server, client, instrumented, span_exporter):
    """The metadata event's usage, with cache reads and writes, priced once at the end."""
    server.reply = Reply(
        frames=converse_stream_frames(input_tokens=20, output_tokens=80, cache_read=900, cache_write=50)
    )
    with record_calls() as calls:
        stream = converse_stream(client)
        assert isinstance(stream, EventStream)
        events = list(stream)
    assert [next(iter(event)) for event in events][-2:] == ["messageStop", "metadata"]
    assert len(calls) == 1
    assert calls[0].cost.total == expected(GLOBAL, 20, 80, read=900, write=50)
    assert calls[0].time_to_first_chunk_s is not None
    attributes = only_span(span_exporter).attributes
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["llmmeter.stream.ending"] == "complete"
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attributes["gen_ai.usage.input_tokens"] == 970
    assert attributes["llmmeter.cost.status"] == "ok"


def test_nothing_is_recorded_before_the_app_reads(server, client, instrumented):
    """The call is open while the app holds an unread stream."""
    server.reply = Reply(frames=converse_stream_frames())
    with record_calls() as calls:
        stream = converse_stream(client)
        assert calls == []
        stream.close()
    assert len(calls) == 1


def test_a_stream_closed_early_is_recorded_once(server, client, instrumented, span_exporter):
    """Closed after two events: one record, ending closed_early, no usage yet."""
    server.reply = Reply(frames=converse_stream_frames())
    with record_calls() as calls:
        stream = converse_stream(client)
        iterator = iter(stream)
        next(iterator), next(iterator)
        stream.close()
        stream.close()
    assert len(calls) == 1
    assert calls[0].ending == "closed_early"
    assert only_span(span_exporter).attributes["llmmeter.cost.status"] == "no_usage"


# The app drops a half-read stream without closing it: its socket is left for the collector too.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_abandoned_stream_is_recorded_when_collected(server, client, instrumented):
    """Half-read and dropped: recorded once, abandoned, when garbage-collected."""
    server.reply = Reply(frames=converse_stream_frames())
    with record_calls() as calls:
        response = client.converse_stream(modelId=SONNET, messages=MESSAGES)
        for _ in response["stream"]:
            break
        del response
        gc.collect()
    assert [call.ending for call in calls] == ["abandoned"]


def test_a_connection_reset_mid_stream_is_an_error(server, client, instrumented, span_exporter):
    """The app gets the reset as botocore raises it; the record says error."""
    server.reply = Reply(frames=converse_stream_frames()[:3], fault="reset")
    with record_calls() as calls:
        stream = converse_stream(client)
        with pytest.raises(ProtocolError) as raised:
            list(stream)
    stream.close()
    assert len(calls) == 1
    assert calls[0].ending == "error"
    assert calls[0].error_type == type(raised.value).__name__
    assert only_span(span_exporter).attributes["error.type"] == type(raised.value).__name__


def test_a_truncated_frame_leaves_the_call_incomplete(server, client, instrumented):
    """The body ends inside a frame: botocore ends the stream quietly; the record has no usage."""
    frames = converse_stream_frames()
    server.reply = Reply(frames=[*frames[:4], frames[5][:20]])
    with record_calls() as calls:
        events = list(converse_stream(client))
    assert len(events) == 4
    assert len(calls) == 1
    assert calls[0].usage is None
    assert calls[0].cost.status == "no_usage"


def test_a_bad_crc_is_an_error(server, client, instrumented):
    """A corrupted frame raises botocore's ChecksumMismatch; the record names it."""
    frames = converse_stream_frames()
    server.reply = Reply(frames=[*frames[:2], eventstream.bad_crc(frames[2]), *frames[3:]])
    with record_calls() as calls:
        stream = converse_stream(client)
        with pytest.raises(ChecksumMismatch):
            list(stream)
    stream.close()
    assert [(call.ending, call.error_type) for call in calls] == [("error", "ChecksumMismatch")]


def test_a_read_timeout_mid_stream_is_an_error(server, make_client, instrumented):
    """The server goes silent: the app's read timeout fires and the record says error."""
    client = make_client(read_timeout=0.5)
    server.reply = Reply(frames=converse_stream_frames()[:2], fault="stall")
    with record_calls() as calls:
        stream = converse_stream(client)
        with pytest.raises(ReadTimeoutError):
            list(stream)
    stream.close()
    assert [(call.ending, call.error_type) for call in calls] == [("error", "ReadTimeoutError")]


def test_an_exception_event_carries_its_aws_error_code(server, client, instrumented, span_exporter):
    """A throttlingException mid-stream: the app gets EventStreamError, error.type ThrottlingException."""
    frames = converse_stream_frames()
    server.reply = Reply(frames=[*frames[:2], eventstream.exception("throttlingException", "slow down")])
    with record_calls() as calls:
        stream = converse_stream(client)
        with pytest.raises(EventStreamError):
            list(stream)
    stream.close()
    assert [call.error_type for call in calls] == ["ThrottlingException"]
    assert only_span(span_exporter).attributes["error.type"] == "ThrottlingException"


def test_invoke_stream_of_claude_reads_anthropic_events(server, client, instrumented, span_exporter):
    """Anthropic's own events give usage with cache reads and writes, at the addressed profile's rate."""
    server.reply = Reply(
        frames=anthropic_stream_frames(input_tokens=30, output_tokens=70, cache_read=500, cache_write=40)
    )
    with record_calls() as calls:
        response = client.invoke_model_with_response_stream(modelId=f"us.{SONNET}", body=CLAUDE_BODY)
        chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    assert chunks[-1]["type"] == "message_stop"
    assert calls[0].cost.total == expected(REGIONAL, 30, 70, read=500, write=40)
    attributes = only_span(span_exporter).attributes
    assert attributes["gen_ai.response.model"] == "claude-sonnet-4-5-20250929"
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attributes["gen_ai.request.max_tokens"] == 300
    assert attributes["llmmeter.stream.ending"] == "complete"


def test_invoke_stream_of_other_families_uses_the_invocation_metrics(server, client, instrumented):
    """A Llama stream's last chunk carries amazon-bedrock-invocationMetrics: its counts are the usage."""
    metrics = {
        "inputTokenCount": 400,
        "outputTokenCount": 100,
        "invocationLatency": 900,
        "firstByteLatency": 90,
    }
    server.reply = Reply(
        frames=[
            eventstream.chunk({"generation": "Hel", "stop_reason": None}),
            eventstream.chunk(
                {"generation": "lo", "stop_reason": "stop", "amazon-bedrock-invocationMetrics": metrics}
            ),
        ]
    )
    with record_calls() as calls:
        response = client.invoke_model_with_response_stream(
            modelId="us.meta.llama3-3-70b-instruct-v1:0", body=json.dumps({"prompt": "Hi"})
        )
        list(response["body"])
    assert (calls[0].usage.input_tokens, calls[0].usage.output_tokens) == (400, 100)
    assert calls[0].cost.total == (500 * Decimal("0.72")) / 1_000_000
    assert calls[0].cost.status == "ok"
