"""Price data of our own, in genai-prices' published data format, installed as its snapshot."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from genai_prices import data_snapshot, types

from llmmeter._pricing import _genai

ACME = {
    "id": "acme",
    "name": "Acme",
    "api_pattern": r"https://api\.acme\.test",
    "model_match": {"starts_with": "acme-"},
}
"""A provider of our own, so nothing in genai-prices' real data matches its models."""


def acme(*models: dict[str, Any]) -> list[dict[str, Any]]:
    """A genai-prices data file (its JSON shape) holding one provider, Acme, with ``models``."""
    return [{**ACME, "models": list(models)}]


@pytest.fixture
def install_snapshot() -> Iterator[Callable[[list[dict[str, Any]]], None]]:
    """Install a genai-prices data file as genai-prices' snapshot; the bundled one is back afterwards."""

    def install(raw: list[dict[str, Any]]) -> None:
        _genai.load()
        providers = types._providers_from_raw(raw)
        data_snapshot.set_custom_snapshot(data_snapshot.DataSnapshot(providers, from_auto_update=False))

    yield install
    data_snapshot.set_custom_snapshot(None)
