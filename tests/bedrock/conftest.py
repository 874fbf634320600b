"""Bedrock test fixtures: the loopback Bedrock Runtime, real boto3 clients, an instrumented process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

import llmmeter
from tests.bedrock.server import BedrockServer

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue1234567890"


@pytest.fixture
def server() -> Iterator[BedrockServer]:
    """A Bedrock Runtime on loopback."""
    with BedrockServer() as running:
        yield running


@pytest.fixture
def make_client(server: BedrockServer) -> Iterator[Callable[..., Any]]:
    """Makes real boto3 ``bedrock-runtime`` clients for the loopback server, with fake credentials;
    closed afterwards."""
    made: list[Any] = []

    def make(**config: Any) -> Any:
        options = {"retries": {"max_attempts": 1, "mode": "standard"}, **config}
        client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=server.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            aws_session_token=SESSION_TOKEN,
            config=Config(**options),
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Any:
    """A boto3 ``bedrock-runtime`` client."""
    return make_client()


@pytest.fixture
def instrumented(tracer_provider: Any, meter_provider: Any) -> Iterator[None]:
    """``llmmeter.instrument()`` on the test's providers, undone afterwards."""
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    yield
    llmmeter.uninstrument()
