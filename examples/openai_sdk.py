"""Meter the openai SDK: what plain, streamed and tool-calling chat calls cost.

    python examples/openai_sdk.py                 # offline, against llmmeter's local fake provider
    python examples/openai_sdk.py --live          # the real API (needs OPENAI_API_KEY)
    python examples/openai_sdk.py --base-url URL  # any OpenAI-compatible server (a proxy, vLLM, ...)

Export what it measures with the standard OpenTelemetry variables, e.g.
``OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 OTEL_SERVICE_NAME=checkout``, or serve
Prometheus metrics with ``--prometheus-port 9464``.
"""

from __future__ import annotations

import argparse
import contextlib
import os

import openai
from openai.types.chat import ChatCompletionFunctionToolParam

import llmmeter
from llmmeter.testing import fake_provider  # a local stand-in for the API, so this runs offline


def run(client: openai.OpenAI) -> None:
    """The app's own code: nothing llmmeter-specific in here."""
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "One word for 'cost'?"}], max_tokens=20
    )
    print("chat:", reply.choices[0].message.content)

    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Say hello."}],
        stream=True,
        stream_options={"include_usage": True},  # without it, streams report no usage to price
        max_tokens=20,
    )
    print("stream:", "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices))

    tools: list[ChatCompletionFunctionToolParam] = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=tools
    )
    calls = reply.choices[0].message.tool_calls or []
    print(
        "tool call:",
        [(call.function.name, call.function.arguments) for call in calls if call.type == "function"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="call the real OpenAI API")
    parser.add_argument(
        "--base-url", help="the API at this URL (e.g. http://127.0.0.1:8000/v1); key from OPENAI_API_KEY"
    )
    parser.add_argument("--prometheus-port", type=int, help="serve Prometheus metrics on this port")
    args = parser.parse_args()

    llmmeter.configure(
        otlp=bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")),
        prometheus_port=args.prometheus_port,
        metric_attributes=["tenant"],  # tenant becomes a metric label (keep such values few)
    )
    llmmeter.instrument()  # every httpx/httpx2 client in the process, the openai SDK's included

    with contextlib.ExitStack() as stack:
        if args.base_url:
            client = openai.OpenAI(
                base_url=args.base_url, api_key=os.environ.get("OPENAI_API_KEY", "offline")
            )
        elif args.live:
            client = openai.OpenAI()
        else:
            provider = stack.enter_context(fake_provider())
            client = openai.OpenAI(base_url=provider.openai_base_url, api_key="offline")
        with llmmeter.attributes(tenant="acme"), llmmeter.track() as spend:
            run(client)

    tokens = f"{spend.input_tokens} input + {spend.output_tokens} output tokens"
    print(f"\n{spend.calls} calls, {tokens}: ${spend.cost_usd:f}")
    for model, per_model in spend.by_model.items():
        print(f"  {model}: {per_model.calls} call(s), ${per_model.cost_usd:f}")


if __name__ == "__main__":
    main()
