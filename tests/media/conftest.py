"""A loopback server speaking the media endpoints, and the real openai SDK metered the two ways a
user meters it: ``llmmeter.instrument()`` and ``llmmeter.meter_client()``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import openai
import pytest

import llmmeter
from tests import fakes


class MediaServer:
    """A loopback server whose answer each test sets (``reply``), recording what it was sent."""

    def __init__(self) -> None:
        self.reply: fakes.Reply | fakes.Handler = fakes.Reply({})
        self._server = fakes.LoopbackServer(self._answer)

    def _answer(self, method: str, path: str, body: bytes) -> fakes.Reply:
        reply = self.reply
        return reply(method, path, body) if callable(reply) else reply

    @property
    def requests(self) -> list[tuple[str, str, bytes, dict[str, str]]]:
        """(method, path, body, headers) of each request received."""
        return self._server.requests

    @property
    def url(self) -> str:
        return self._server.url + "/v1"

    def __enter__(self) -> MediaServer:
        self._server.__enter__()
        return self

    def __exit__(self, *args: Any) -> None:
        self._server.__exit__(*args)


@pytest.fixture
def server() -> Iterator[MediaServer]:
    with MediaServer() as running:
        yield running


ClientFactory = Callable[..., Any]


@pytest.fixture(params=["instrument", "meter_client"])
def make_client(request, server, tracer_provider, meter_provider) -> Iterator[ClientFactory]:
    """``make_client(asynchronous=False)``: an openai client on the loopback server, metered by
    ``instrument()`` or by ``meter_client()``."""
    made: list[Any] = []
    instrumented = request.param == "instrument"
    if instrumented:
        llmmeter.instrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False
        )

    def make(asynchronous: bool = False) -> Any:
        options: dict[str, Any] = {"api_key": "sk-media-secret", "base_url": server.url, "max_retries": 0}
        if not instrumented:
            http_client: Any = httpx2.AsyncClient() if asynchronous else httpx2.Client()
            options["http_client"] = llmmeter.meter_client(
                http_client, tracer_provider=tracer_provider, meter_provider=meter_provider
            )
        client = openai.AsyncOpenAI(**options) if asynchronous else openai.OpenAI(**options)
        made.append(client)
        return client

    yield make
    for client in made:
        if isinstance(client, openai.OpenAI):
            client.close()
    if instrumented:
        llmmeter.uninstrument()
