"""Fresh prices without a release: genai-prices' own runtime update, opted in with
``configure(update_prices=True)``.

genai-prices fetches its price data again every hour in ONE daemon thread of its own (its
``UpdatePrices``; the thread is genai-prices', shared by every user of it in the process). llmmeter
starts it without waiting, so nothing on the caller's path blocks: until the first fetch lands,
calls are priced with the bundled data. When new data is installed, every pricing table compiles
its entries again; user files, overrides and llmmeter's supplement keep winning over it.
"""

from __future__ import annotations

import logging
from typing import Any

from llmmeter._pricing import _table

__all__ = ["start_updates", "stop_updates", "wait_for_update"]

_log = logging.getLogger("llmmeter")

_updater: Any = None


def _updater_class() -> Any:
    from genai_prices import data_snapshot
    from genai_prices.update_prices import UpdatePrices

    class _RebuildingUpdater(UpdatePrices):
        """genai-prices' updater, telling llmmeter's tables once the new data is in use."""

        def fetch(self) -> data_snapshot.DataSnapshot | None:
            snapshot = super().fetch()
            # Installed here, before the tables are told (genai-prices installs it again after).
            data_snapshot.set_custom_snapshot(snapshot)
            _table.prices_changed()
            _log.info("llmmeter: price data updated from %s", self.url)
            return snapshot

    return _RebuildingUpdater


def start_updates(url: str | None = None, interval: float = 3600) -> None:
    """Start genai-prices' background price update (``url``: where to fetch its data file).

    Calling it again with other settings replaces the running update's settings.
    """
    global _updater
    stop_updates()
    options: dict[str, Any] = {"update_interval": interval}
    if url:
        options["url"] = url
    _updater = _updater_class()(**options)
    _updater.start(wait=False)


def stop_updates() -> None:
    """Stop the update llmmeter started (fetched prices stay in use); nothing when none runs."""
    global _updater
    if _updater is not None:
        _updater.stop()
        _updater = None


def wait_for_update(timeout: float) -> bool:
    """Block until the running update has fetched once (for tests and scripts); False on timeout."""
    return bool(_updater is not None and _updater.wait(timeout))
