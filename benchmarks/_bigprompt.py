"""A chat completion with a 1 MiB prompt: what llmmeter adds to it, and what reading the request costs.

    .venv/bin/python -m benchmarks.bench_transport bigprompt

The openai SDK call (``bigprompt`` case of ``bench_transport``: a 1 MiB user message of prose, a
small answer from an in-process MockTransport), bare and through ``llmmeter.MeteredTransport``, each
in its own worker process, interleaved round by round; figures are the MINIMUM over ROUNDS rounds of
CALLS calls (the SDK's own ~5 ms per call, mostly encoding the prompt, moves by more than
llmmeter's share between rounds on a shared machine). Then, in this process, what reading the
request body costs: the full parse (orjson, as before issue 22's change) against llmmeter's read
(``_providers._request_body.decode_request``, content capture off), minimum over rounds, for the
prose prompt and for a prompt of the same size full of quotes (which the walk gives up on).
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

import httpx2
import openai
from rich.console import Console

from benchmarks._common import chat_handler, measure_interleaved, target_row, targets_table
from llmmeter._providers._base import loads_or_none
from llmmeter._providers._openai import CHAT
from llmmeter._providers._request_body import decode_request

ROUNDS = 15
CALLS = 20
PARSE_NUMBER = 20
MIB = 1 << 20
PROSE = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n" * 13_000)[:MIB]
QUOTED = ('He said: "lorem ipsum", then "dolor sit amet" and left.\n' * 19_000)[:MIB]


def messages(prompt: str = PROSE) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def call(client: openai.OpenAI) -> Callable[[], object]:
    """A chat completion whose user message is the 1 MiB prompt."""
    sent = messages()
    return lambda: client.chat.completions.create(model="gpt-4o", messages=sent)


def request_body(prompt: str) -> bytes:
    """The body the openai SDK sends for the call with ``prompt``."""
    seen: list[bytes] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.content)
        return chat_handler(request)

    client = openai.OpenAI(
        api_key="sk-bench",
        base_url="https://api.openai.com/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    client.chat.completions.create(model="gpt-4o", messages=messages(prompt))
    return seen[0]


def parse_us(read: Callable[[], Any]) -> float:
    """µs per read, the minimum over ROUNDS rounds of PARSE_NUMBER reads."""
    return min(timeit.repeat(read, number=PARSE_NUMBER, repeat=ROUNDS)) / PARSE_NUMBER * 1e6


def report(console: Console, module: str) -> None:
    """Print bare and llmmeter CPU per call, and the request parse costs."""
    names = ["bare", "llmmeter"]
    variants = measure_interleaved(module, names, ("bigprompt", None), ROUNDS, CALLS, warmup=20)
    bare, ours = (min(variant.cpu) * 1e6 for variant in variants)
    table = targets_table(f"openai SDK chat, 1 MiB prompt: minimum of {ROUNDS} rounds x {CALLS} calls")
    target_row(table, "bare CPU µs per call", bare, None)
    target_row(table, "llmmeter CPU µs per call", ours, None)
    target_row(table, "llmmeter added CPU µs per call", ours - bare, None)
    for name, prompt in (("prose", PROSE), ("quoted", QUOTED)):
        body = request_body(prompt)
        full = parse_us(lambda body=body: loads_or_none(body))
        read = parse_us(lambda body=body: decode_request(body, CHAT, False))
        target_row(table, f"{name} body ({len(body):,} B): full parse µs", full, None)
        target_row(table, f"{name} body: llmmeter's read µs", read, None)
    console.print(table)
