"""The telemetry llmmeter writes for a fixed set of Gemini, Bedrock and aiohttp calls, as plain JSON.

    .venv/bin/python -m tests.golden.natives            # rewrites tests/golden/natives.json
    OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental .venv/bin/python -m tests.golden.natives

The twin of ``capture.py`` for the capture points and adapters issue 22 cut apart from the shared
core: google-genai ``generate_content`` plain, streamed and failing (httpx2); boto3 Bedrock
``converse``, ``converse_stream``, ``invoke_model`` (Claude, and a family read from headers),
``invoke_model_with_response_stream`` and a throttled call; aiohttp chat, streamed chat, Anthropic
and Gemini requests and an error; each set twice, the second time with content captured.
Loopback servers listen on a port that changes from run to run: ``server.port`` is kept as its
type; everything else as ``capture.py`` keeps it. The golden files
were written from main before the cuts; ``test_golden_natives.py`` compares a fresh capture with them.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import httpx2
from botocore.config import Config
from botocore.exceptions import ClientError
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

import llmmeter
from llmmeter._telemetry._semconv import conventions
from tests import fakes
from tests.bedrock import server as bedrock
from tests.golden.capture import Pipeline, _metrics, _spans
from tests.providers import wire

HERE = Path(__file__).parent
PORT = "server.port"
MESSAGES: Any = [{"role": "user", "content": [{"text": "Say hi"}]}]
CHAT: Any = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2}
CLAUDE: Any = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}
SONNET = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"


def golden_path() -> Path:
    """The golden file of the conventions this process writes."""
    return HERE / ("natives_latest.json" if conventions.latest else "natives.json")


def _gemini_answer(request: Any) -> Any:
    path = request.url.path
    if path.endswith(":streamGenerateContent"):
        reply = fakes.Reply(
            chunks=wire.gemini_stream(("Hel", "lo", "!"), prompt=1200, candidates=40, thoughts=30)
        )
    elif "gemini-2.5-pro" in path:
        reply = wire.gemini_error(429, "RESOURCE_EXHAUSTED")
    else:
        reply = fakes.Reply(
            wire.gemini_response(prompt=900, candidates=70, cached=400, thoughts=25, audio=100)
        )
    return fakes.mock_handler(httpx2, reply)(request)


def gemini_calls() -> None:
    """google-genai through httpx2: plain (with generation config), streamed, and a quota error."""
    options = types.HttpOptions(
        base_url="https://generativelanguage.googleapis.com",
        httpx_client=httpx2.Client(transport=httpx2.MockTransport(_gemini_answer)),
    )
    client = genai.Client(api_key="golden-key", http_options=options)
    config = types.GenerateContentConfig(temperature=0.4, max_output_tokens=256, top_p=0.9)
    client.models.generate_content(model="gemini-2.5-flash", contents="Say hi", config=config)
    for _ in client.models.generate_content_stream(model="gemini-2.5-flash", contents="Say hi"):
        pass
    with suppress(genai_errors.APIError):
        client.models.generate_content(model="gemini-2.5-pro", contents="Say hi")


def _bedrock_answer(request: bedrock.Request) -> bedrock.Reply:
    path = request.path
    if path.endswith("/converse"):
        if "throttled" in request.model:
            body = {"message": "slow down"}
            return bedrock.Reply(body=body, status=429, headers={"x-amzn-errortype": "ThrottlingException"})
        return bedrock.Reply(
            body=bedrock.converse_body(input_tokens=120, output_tokens=30, cache_read=500, cache_write=60)
        )
    if path.endswith("/converse-stream"):
        return bedrock.Reply(
            frames=bedrock.converse_stream_frames(input_tokens=80, output_tokens=20, cache_read=300)
        )
    if path.endswith("/invoke-with-response-stream"):
        return bedrock.Reply(frames=bedrock.anthropic_stream_frames(input_tokens=70, output_tokens=15))
    if "anthropic" in request.model:
        return bedrock.Reply(body=fakes.anthropic_message(input_tokens=50, output_tokens=12, cache_read=20))
    headers = {"x-amzn-bedrock-input-token-count": "33", "x-amzn-bedrock-output-token-count": "11"}
    return bedrock.Reply(body={"generation": "Hi", "stop_reason": "stop"}, headers=headers)


def bedrock_calls(url: str) -> None:
    """boto3 bedrock-runtime: converse, converse_stream, invoke_model twice, an invoke stream, a throttle."""
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    config = {"maxTokens": 100, "temperature": 0.3}
    client.converse(modelId=SONNET, messages=MESSAGES, inferenceConfig=config)
    for _ in client.converse_stream(modelId=SONNET, messages=MESSAGES)["stream"]:
        pass
    claude = json.dumps({"anthropic_version": "bedrock-2023-05-31", **CLAUDE, "model": None})
    client.invoke_model(modelId="us.anthropic.claude-sonnet-4-5-20250929-v1:0", body=claude)["body"].read()
    llama = json.dumps({"prompt": "hi", "max_gen_len": 32})
    client.invoke_model(modelId="meta.llama3-3-70b-instruct-v1:0", body=llama)["body"].read()
    response = client.invoke_model_with_response_stream(modelId=SONNET, body=claude)
    for _ in response["body"]:
        pass
    with suppress(ClientError):
        client.converse(modelId="global.anthropic.throttled-v1:0", messages=MESSAGES)
    client.close()


def _aiohttp_answer(method: str, path: str, body: bytes) -> fakes.Reply:
    if path.endswith(":generateContent"):
        return fakes.Reply(wire.gemini_response(prompt=300, candidates=20, thoughts=5))
    request = json.loads(body)
    if path.endswith("/v1/messages"):
        return fakes.Reply(fakes.anthropic_message(input_tokens=120, output_tokens=60, cache_write=30))
    if request.get("model") == "gpt-4o-mini":
        return fakes.Reply({"error": {"message": "boom", "type": "server_error"}}, status=500)
    if request.get("stream"):
        return fakes.Reply(chunks=fakes.chat_stream(words=5, prompt_tokens=300, completion_tokens=40))
    return fakes.Reply(fakes.chat_completion(prompt_tokens=300, completion_tokens=40, cached_tokens=100))


async def _aiohttp_requests(url: str) -> None:
    gemini_url = f"{url}/v1beta/models/gemini-2.5-flash:generateContent"
    failing = {**CHAT, "model": "gpt-4o-mini"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/v1/chat/completions", json=CHAT) as response:
            await response.read()
        stream = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
        async with session.post(f"{url}/v1/chat/completions", json=stream) as response:
            async for _ in response.content:
                pass
        async with session.post(f"{url}/v1/messages", json=CLAUDE) as response:
            await response.json()
        gemini = {"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": 50}}
        async with session.post(gemini_url, json=gemini) as response:
            await response.read()
        async with session.post(f"{url}/v1/chat/completions", json=failing) as response:
            await response.read()


@contextmanager
def instrumented(pipeline: Pipeline) -> Iterator[None]:
    llmmeter.instrument(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider, integrations=False
    )
    try:
        yield
    finally:
        llmmeter.uninstrument()


@contextmanager
def content_captured() -> Iterator[None]:
    """Prompts and completions on spans, for the block."""
    from llmmeter._settings import settings

    saved = settings.content_mode, settings.emit_events
    llmmeter.configure(capture_content=True)
    try:
        yield
    finally:
        settings.set_content(*saved)


def make_calls(pipeline: Pipeline) -> dict[str, Any]:
    """Make every call of the set, then again with content captured; returns what ``track()`` counted."""
    with llmmeter.track() as spend, instrumented(pipeline):
        for capturing in (False, True):
            with content_captured() if capturing else nullcontext():
                gemini_calls()
                with bedrock.BedrockServer() as server:
                    server.reply = _bedrock_answer
                    bedrock_calls(server.url)
                with fakes.LoopbackServer(_aiohttp_answer) as loopback:
                    asyncio.run(_aiohttp_requests(loopback.url))
    return {
        "cost_usd": str(spend.cost_usd),
        "input_tokens": spend.input_tokens,
        "output_tokens": spend.output_tokens,
        "calls": spend.calls,
        "by_model": {
            model: {"cost_usd": str(part.cost_usd), "calls": part.calls}
            for model, part in sorted(spend.by_model.items())
        },
    }


def _loopback_ports(found: Any) -> Any:
    """``found`` with every loopback ``server.port`` (span or point attribute) replaced by its type."""
    if isinstance(found, dict):
        loopback = found.get("server.address") == "127.0.0.1"
        return {
            key: f"<{type(value).__name__}>" if loopback and key == PORT else _loopback_ports(value)
            for key, value in found.items()
        }
    if isinstance(found, list):
        return [_loopback_ports(value) for value in found]
    return found


def capture() -> dict[str, Any]:
    """Make the calls on fresh in-memory providers; return everything they wrote."""
    pipeline = Pipeline()
    try:
        spend = make_calls(pipeline)
        found = {
            "spans": _spans(pipeline.exporter.get_finished_spans()),
            "metrics": _metrics(pipeline.reader),
            "track": spend,
        }
        normalized: dict[str, Any] = _loopback_ports(json.loads(json.dumps(found, sort_keys=True)))
        for metric in normalized["metrics"].values():
            metric["points"].sort(key=lambda entry: json.dumps(entry, sort_keys=True))
        return normalized
    finally:
        pipeline.tracer_provider.shutdown()
        pipeline.meter_provider.shutdown()


def main() -> None:
    path = golden_path()
    path.write_text(json.dumps(capture(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
