"""A provider that bills predictably, and what it billed, computed by hand."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx2

from tests import fakes

M = Decimal(1_000_000)
MODEL = "gpt-4o-mini"
SNAPSHOT = "gpt-4o-mini-2024-07-18"
# gpt-4o-mini: $0.15 input, $0.60 output per 1M tokens (openai.com/api/pricing).
INPUT_RATE = Decimal("0.15") / M
OUTPUT_RATE = Decimal("0.60") / M
URL = "https://api.openai.com/v1/chat/completions"


def cost(prompt_tokens: int, completion_tokens: int) -> Decimal:
    return prompt_tokens * INPUT_RATE + completion_tokens * OUTPUT_RATE


class Provider:
    """Answers chat completions billing a quarter of the body's bytes as input and the whole
    ``max_tokens`` (or 50) as output; remembers what it billed."""

    def __init__(self) -> None:
        self.billed: list[Decimal] = []

    def reply(self, method: str, path: str, body: bytes) -> fakes.Reply:
        request = json.loads(body)
        prompt = len(body) // 4
        completion = request.get("max_tokens") or request.get("max_completion_tokens") or 50
        self.billed.append(cost(prompt, completion))
        return fakes.Reply(
            fakes.chat_completion(model=SNAPSHOT, prompt_tokens=prompt, completion_tokens=completion)
        )

    def handler(self) -> Any:
        return fakes.mock_handler(httpx2, self.reply)

    @property
    def total(self) -> Decimal:
        return sum(self.billed, Decimal(0))


def body(max_tokens: int | None = 100, text: str = "Say hi") -> dict[str, Any]:
    request: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": text}]}
    if max_tokens is not None:
        request["max_tokens"] = max_tokens
    return request


def size(request: dict[str, Any]) -> int:
    """The size of the body httpx2 sends for ``json=request``."""
    return len(httpx2.Request("POST", URL, json=request).content)


def worst_case(request: dict[str, Any]) -> Decimal:
    """What a budget reserves for ``request``: its body's bytes as input, its max_tokens as output."""
    return cost(size(request), request.get("max_tokens") or 0)
