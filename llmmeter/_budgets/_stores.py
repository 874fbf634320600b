"""Which store named budgets share: in this process (the default), or a Redis server.

Set by ``configure(budget_store=..., budget_reservation_ttl=...)`` or ``LLMMETER_BUDGET_STORE``
(read at the first named budget when configure() did not set a store). Nothing connects here: the
Redis client connects at the first reservation.
"""

from __future__ import annotations

import importlib.util
import os
from urllib.parse import urlsplit

from llmmeter._budgets._redis import RedisStore
from llmmeter._budgets._store import MemoryStore, Store
from llmmeter._errors import ConfigurationError
from llmmeter._locks import new_lock

__all__ = ["STORE_ENV", "checked_url", "configure_store", "named_store"]

STORE_ENV = "LLMMETER_BUDGET_STORE"
DEFAULT_TTL_S = 600.0
_SCHEMES = ("redis", "rediss", "unix", "valkey", "valkeys")

_lock = new_lock()
_ttl_s = DEFAULT_TTL_S
_url: str | None = None
_configured = False
_store: Store | None = None


def checked_url(url: str, where: str) -> str:
    """``url`` as redis-py reads it; raises ConfigurationError naming ``where`` when it is not one."""
    scheme = urlsplit(url).scheme
    if scheme not in _SCHEMES:
        raise ConfigurationError(
            f"{where}: expected a redis:// (or rediss://, unix://) URL or False, got {url!r}"
        )
    if importlib.util.find_spec("redis") is None:
        raise ConfigurationError(f"{where} needs redis-py: pip install 'llmmeter[redis]'")
    if scheme.startswith("valkey"):  # redis-py speaks to Valkey under its own schemes
        url = "redis" + url[len("valkey") :]
    return url


def _checked_ttl(ttl: object) -> float:
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl < 10**9:
        raise ConfigurationError(f"configure(budget_reservation_ttl=...) takes seconds > 0, not {ttl!r}")
    return float(ttl)


def configure_store(store: str | bool | None, ttl: float | None) -> None:
    """Apply ``configure(budget_store=store, budget_reservation_ttl=ttl)``; None keeps a value."""
    global _ttl_s, _url, _configured, _store
    new_ttl = _ttl_s if ttl is None else _checked_ttl(ttl)
    new_url = _url
    if store is not None:
        if store is False:
            new_url = None
        elif isinstance(store, str):
            new_url = checked_url(store, "configure(budget_store=...)")
        else:
            raise ConfigurationError(
                f"configure(budget_store=...) takes a redis:// URL or False, not {store!r}"
            )
    with _lock:
        changed = store is not None and (new_url != _url or not _configured)
        _ttl_s = new_ttl
        if store is not None:
            _url, _configured = new_url, True
        if changed:
            _store = RedisStore(new_url, new_ttl) if new_url else _memory_store()
        elif _store is not None:
            _store.ttl_s = new_ttl


def named_store() -> Store:
    """The store that named budgets use now."""
    store = _store
    if store is None:
        store = _make_store()
    return store


def _make_store() -> Store:
    global _store, _url, _configured
    with _lock:
        if _store is None:
            if not _configured:
                env = os.environ.get(STORE_ENV, "").strip()
                _url = checked_url(env, STORE_ENV) if env else None
                _configured = True
            _store = RedisStore(_url, _ttl_s) if _url else _memory_store()
        return _store


_memory: MemoryStore | None = None


def _memory_store() -> MemoryStore:
    """The one in-process store (kept across configure() calls, so its spend is not lost)."""
    global _memory
    if _memory is None:
        _memory = MemoryStore(_ttl_s)
    _memory.ttl_s = _ttl_s
    return _memory
