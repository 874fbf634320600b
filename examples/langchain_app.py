"""Meter a LangChain app: a chain and a streamed model call, with no callbacks to pass.

    python examples/langchain_app.py              # offline, against llmmeter's local fake provider
    python examples/langchain_app.py --live       # the real API (needs OPENAI_API_KEY)
    python examples/langchain_app.py --base-url URL  # any OpenAI-compatible server

``llmmeter.instrument()`` registers llmmeter-langchain's callback handler (when installed), so each
chain, model call and tool gets a span, and meters the HTTP calls underneath. A model call seen by
both is counted once.
"""

from __future__ import annotations

import argparse
import contextlib
import os

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI

import llmmeter
from llmmeter.testing import fake_provider  # a local stand-in for the API, so this runs offline


def run(model: ChatOpenAI) -> None:
    """The app's own code."""
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("user", "One tip about {topic}.")])
    chain = prompt | model | StrOutputParser()
    print("chain:", chain.invoke({"topic": "LLM budgets"}))
    print("stream:", "".join(str(chunk.content) for chunk in model.stream("Say hello.")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="call the real OpenAI API")
    parser.add_argument(
        "--base-url", help="the API at this URL (e.g. http://127.0.0.1:8000/v1); key from OPENAI_API_KEY"
    )
    args = parser.parse_args()

    llmmeter.instrument()

    with contextlib.ExitStack() as stack:
        options: dict[str, object] = {}
        if args.base_url:
            options = {"base_url": args.base_url, "api_key": os.environ.get("OPENAI_API_KEY", "offline")}
        elif not args.live:
            provider = stack.enter_context(fake_provider())
            options = {"base_url": provider.openai_base_url, "api_key": "offline"}
        # stream_usage: streamed calls report their usage, so they can be priced
        model = ChatOpenAI(model="gpt-4o-mini", stream_usage=True, **options)  # type: ignore[arg-type]
        with llmmeter.track() as spend:
            run(model)

    tokens = f"{spend.input_tokens} input + {spend.output_tokens} output tokens"
    print(f"\n{spend.calls} model calls, {tokens}: ${spend.cost_usd:f}")


if __name__ == "__main__":
    main()
