"""configure(update_prices=...): genai-prices' runtime update, against a loopback server serving a
changed price file; llmmeter's compiled rates follow it, its own layers still win."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from genai_prices import data_snapshot

import llmmeter
from llmmeter import PricingTable, Usage
from llmmeter._errors import ConfigurationError
from llmmeter._pricing import _update
from llmmeter.testing import record_calls
from tests import fakes
from tests.pricing.conftest import ACME

M = 1_000_000

CHANGED = [
    {
        "id": "openai",
        "name": "OpenAI",
        "api_pattern": r"https://api\.openai\.com",
        "model_match": {"starts_with": "gpt-"},
        "models": [
            {"id": "gpt-4o", "match": {"equals": "gpt-4o"}, "prices": {"input_mtok": 3, "output_mtok": 12}},
            {
                "id": "gpt-4o-audio-preview",
                "match": {"starts_with": "gpt-4o-audio-preview"},
                "prices": {"input_mtok": 3, "output_mtok": 12},
            },
        ],
    },
    {**ACME, "models": [{"id": "acme-1", "match": {"equals": "acme-1"}, "prices": {"input_mtok": 7}}]},
]
"""gpt-4o up from $2.50 / $10 to $3 / $12, a new model acme-1 at $7: as a data file would change."""


@pytest.fixture
def price_server() -> Iterator[fakes.LoopbackServer]:
    with fakes.LoopbackServer(lambda method, path, body: fakes.Reply(CHANGED)) as server:
        yield server


@pytest.fixture
def updating(price_server: fakes.LoopbackServer) -> Iterator[fakes.LoopbackServer]:
    """Prices updated from the loopback server; stopped, and genai-prices' bundled data back, after."""
    yield price_server
    _update.stop_updates()
    data_snapshot.set_custom_snapshot(None)
    from llmmeter._pricing import _table

    _table.prices_changed()


def test_update_rebuilds_the_compiled_rates(updating: fakes.LoopbackServer) -> None:
    """A warm entry is priced at the fetched prices once the update has landed."""
    assert llmmeter.price("gpt-4o", input_tokens=M).total == Decimal("2.50")
    assert llmmeter.price("acme-1", input_tokens=M).status == "unknown_model"

    llmmeter.configure(update_prices=updating.url + "/data.json")
    assert _update.wait_for_update(10)

    assert llmmeter.price("gpt-4o", input_tokens=M, output_tokens=M).total == Decimal(3) + Decimal(12)
    assert llmmeter.price("acme-1", input_tokens=M).total == Decimal(7)
    assert [request[1] for request in updating.requests] == ["/data.json"]


def test_llmmeter_layers_still_win_after_an_update(updating: fakes.LoopbackServer) -> None:
    """Overrides and files beat fetched prices; the supplement's additions still lie on top of them."""
    table = PricingTable(overrides={"gpt-4o": {"input_mtok": 1}})
    llmmeter.configure(update_prices=updating.url + "/data.json")
    assert _update.wait_for_update(10)

    assert table.price_usage("gpt-4o", Usage(input_tokens=M)).total == Decimal(1)
    audio = llmmeter.price(
        "gpt-4o-audio-preview",
        input_tokens=2 * M,
        input_audio_tokens=M,
        output_tokens=M,
        output_audio_tokens=M,
    )
    assert audio.total == Decimal(3) + Decimal(40) + Decimal(80)  # text from the update, audio from llmmeter
    assert llmmeter.price("ft:gpt-4.1-2025-04-14:org::abc", input_tokens=M).total == Decimal(3)


def test_update_requests_are_not_metered(
    updating: fakes.LoopbackServer, tracer_provider, meter_provider, span_exporter
) -> None:
    """With every httpx2 client instrumented, genai-prices' fetch makes no span and no call record."""
    llmmeter.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, integrations=False)
    try:
        with record_calls() as calls:
            llmmeter.configure(update_prices=updating.url + "/data.json")
            assert _update.wait_for_update(10)
    finally:
        llmmeter.uninstrument()
    assert updating.requests, "the update did fetch"
    assert list(calls) == []
    assert span_exporter.get_finished_spans() == ()


def test_update_prices_false_stops_it(updating: fakes.LoopbackServer) -> None:
    """update_prices=False stops the update; prices already fetched stay in use."""
    llmmeter.configure(update_prices=updating.url + "/data.json")
    assert _update.wait_for_update(10)
    llmmeter.configure(update_prices=False)
    assert not _update.wait_for_update(0)
    assert llmmeter.price("acme-1", input_tokens=M).total == Decimal(7)


@pytest.mark.parametrize("value", ["ftp://mirror/data.json", 1, "yes"])
def test_update_prices_takes_a_flag_or_a_url(value: object) -> None:
    """Anything but True, False or an http(s) URL is refused at once, naming the option."""
    with pytest.raises(ConfigurationError, match="update_prices"):
        llmmeter.configure(update_prices=value)  # type: ignore[arg-type]
