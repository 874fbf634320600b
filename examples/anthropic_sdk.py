"""Meter the anthropic SDK: a plain message, a streamed one, and prompt caching.

    python examples/anthropic_sdk.py              # offline, against llmmeter's local fake provider
    python examples/anthropic_sdk.py --live       # the real API (needs ANTHROPIC_API_KEY)
    python examples/anthropic_sdk.py --base-url URL  # an Anthropic-compatible server or proxy

The anthropic SDK traces itself (one span per API call); llmmeter's span nests under it and the
cost is added to the SDK's span too, so either one shows it in the backend.
"""

from __future__ import annotations

import argparse
import contextlib
import os

import anthropic
from anthropic.types import TextBlockParam

import llmmeter
from llmmeter.testing import fake_provider  # a local stand-in for the API, so this runs offline

MODEL = "claude-sonnet-4-6"
# Long enough to be worth caching; the first call writes the cache, the second reads it.
SYSTEM: list[TextBlockParam] = [
    {
        "type": "text",
        "text": "You answer questions about cloud spend in one short sentence. " * 40,
        "cache_control": {"type": "ephemeral"},
    }
]


def run(client: anthropic.Anthropic) -> None:
    """The app's own code."""
    message = client.messages.create(
        model=MODEL,
        max_tokens=100,
        system=SYSTEM,
        messages=[{"role": "user", "content": "What makes LLM costs hard to predict?"}],
    )
    print("message:", "".join(block.text for block in message.content if block.type == "text"))
    with client.messages.stream(
        model=MODEL,
        max_tokens=100,
        system=SYSTEM,
        messages=[{"role": "user", "content": "And how does caching help?"}],
    ) as stream:
        print("stream:", "".join(stream.text_stream))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="call the real Anthropic API")
    parser.add_argument("--base-url", help="the API at this URL (e.g. a proxy); key from ANTHROPIC_API_KEY")
    args = parser.parse_args()

    llmmeter.instrument()

    with contextlib.ExitStack() as stack:
        if args.base_url:
            key = os.environ.get("ANTHROPIC_API_KEY", "offline")
            client = anthropic.Anthropic(base_url=args.base_url, api_key=key)
        elif args.live:
            client = anthropic.Anthropic()
        else:
            provider = stack.enter_context(fake_provider())
            client = anthropic.Anthropic(base_url=provider.anthropic_base_url, api_key="offline")
        with llmmeter.track() as spend:
            run(client)

    print(
        f"\n{spend.calls} calls, {spend.input_tokens} input tokens "
        f"({spend.cache_read_tokens} read from cache), {spend.output_tokens} output: ${spend.cost_usd:f}"
    )


if __name__ == "__main__":
    main()
