"""The Redis store (also Valkey): one Lua script reserves, one settles, each atomic on the server.

Per budget window, three keys under one hash tag (one Redis Cluster slot):

    {llmmeter:budget:<name>:<window>}           hash: spent, reserved (nano-dollars), and the
                                                window's name, period, start and end for listings
    {llmmeter:budget:<name>:<window>}:expiry    sorted set: reservation id -> expiry (server ms)
    {llmmeter:budget:<name>:<window>}:amounts   hash: reservation id -> amount (nano-dollars)

Every script first releases the reservations whose expiry has passed, so a process killed while
holding some gives them back after the reservation TTL, read on the server's clock. Amounts are
integers added with HINCRBY (exact); only comparisons go through Lua's doubles (exact below
2**53 nano-dollars, about 9 million USD). A window's keys expire a day after the window ends.

The sync client serves sync code and the asyncio client (one per event loop) async code, so
nothing blocks an event loop. Both use a blocking pool with a bounded wait: calls beyond its
connections queue for one instead of failing, and give up (a store error) after the timeout. In a
forked child both are dropped unused: a child never shares the parent's connections.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import Any

from llmmeter._budgets._store import BudgetKey, Verdict, WindowState
from llmmeter._locks import new_lock

__all__ = ["RedisStore", "StoreError"]

DEFAULT_TIMEOUT_S = 1.0
"""Socket and connect timeout, unless the URL sets ``socket_timeout`` or ``socket_connect_timeout``:
how long a store that does not answer holds a call up."""
DEFAULT_POOL_TIMEOUT_S = 10.0
"""How long a call waits for a pooled connection, unless the URL sets ``timeout``. Waiting for one
is queueing behind the process's other calls, not a sign that the store is down (each of those
gives its connection back within the socket timeouts), so it is given longer: a busy process
queues its calls instead of letting them through unchecked."""
DEFAULT_MAX_CONNECTIONS = 64
"""Connections per pool (one sync pool per process, one asyncio pool per event loop), unless the
URL sets ``max_connections``."""
_KEEP_AFTER_WINDOW = timedelta(days=1)

_PURGE = """
local function purge(now)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 500)
  if #dead == 0 then return end
  local amounts = redis.call('HMGET', KEYS[3], unpack(dead))
  for i, amount in ipairs(amounts) do
    if amount and amount ~= '0' then
      redis.call('HINCRBY', KEYS[1], 'reserved', '-' .. amount)
    end
  end
  redis.call('HDEL', KEYS[3], unpack(dead))
  redis.call('ZREM', KEYS[2], unpack(dead))
end
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function expire(at)
  if at ~= '0' then
    for _, key in ipairs(KEYS) do redis.call('EXPIREAT', key, at) end
  end
end
"""

RESERVE = (
    _PURGE
    + """
-- ARGV: limit, amount, id, ttl_ms, force, expire_at, name, per, start, end
local now = server_ms()
purge(now)
local state = redis.call('HMGET', KEYS[1], 'spent', 'reserved')
local spent, reserved = state[1] or '0', state[2] or '0'
local committed = tonumber(spent) + tonumber(reserved)
local limit, amount = tonumber(ARGV[1]), tonumber(ARGV[2])
if ARGV[5] ~= '1' and (committed >= limit or committed + amount > limit) then
  return {0, spent, reserved}
end
if redis.call('HSETNX', KEYS[1], 'spent', '0') == 1 then
  redis.call('HSET', KEYS[1], 'name', ARGV[7], 'per', ARGV[8], 'start', ARGV[9], 'end', ARGV[10])
end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
reserved = redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[2])
expire(ARGV[6])
return {1, spent, tostring(reserved)}
"""
)

SETTLE = (
    _PURGE
    + """
-- ARGV: id, actual, expire_at
local amount = redis.call('HGET', KEYS[3], ARGV[1])
if amount then
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  if amount ~= '0' then redis.call('HINCRBY', KEYS[1], 'reserved', '-' .. amount) end
end
purge(server_ms())
if ARGV[2] ~= '0' then
  redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])
  expire(ARGV[3])
end
return 1
"""
)

STATUS = (
    _PURGE
    + """
purge(server_ms())
local state = redis.call('HMGET', KEYS[1], 'spent', 'reserved')
return {state[1] or '0', state[2] or '0', redis.call('ZCARD', KEYS[2])}
"""
)


class StoreError(Exception):
    """The store could not be reached or did not answer in time."""


def _keys(key: BudgetKey) -> list[str]:
    tag = key.tag
    return [tag, f"{tag}:expiry", f"{tag}:amounts"]


def _expire_at(key: BudgetKey) -> str:
    end = key.window.end
    return "0" if end is None else str(int((end + _KEEP_AFTER_WINDOW).timestamp()))


def _iso(when: datetime | None) -> str:
    return "" if when is None else when.isoformat()


def _verdict(reply: Any) -> Verdict:
    granted, spent, reserved = reply
    return Verdict(int(granted) == 1, int(spent), int(reserved))


class RedisStore:
    """A store on a Redis (or Valkey) server, shared by every process that names the same URL."""

    remote = True

    def __init__(self, url: str, ttl_s: float) -> None:
        """Import the clients now (not on the first call, inside an event loop); connect later."""
        import redis.asyncio  # noqa: F401

        self.url = url
        self.ttl_s = ttl_s
        self._lock = new_lock()
        self._sync: Any = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        _stores.add(self)

    # --- clients -----------------------------------------------------------------------------

    def _options(self, retry: Any) -> dict[str, Any]:
        from redis.backoff import NoBackoff

        return {
            "max_connections": DEFAULT_MAX_CONNECTIONS,
            "timeout": DEFAULT_POOL_TIMEOUT_S,
            "socket_timeout": DEFAULT_TIMEOUT_S,
            "socket_connect_timeout": DEFAULT_TIMEOUT_S,
            "retry": retry(NoBackoff(), 1),  # once, at once: a connection the server closed
        }

    def _sync_scripts(self) -> Any:
        scripts = self._sync
        if scripts is None:
            with self._lock:
                scripts = self._sync
                if scripts is None:
                    import redis
                    from redis.retry import Retry

                    pool = redis.BlockingConnectionPool.from_url(self.url, **self._options(Retry))
                    client = redis.Redis(connection_pool=pool)
                    scripts = self._sync = _Scripts(client)
        return scripts

    async def _async_scripts(self) -> Any:
        loop = asyncio.get_running_loop()
        scripts = self._async.get(loop)
        if scripts is None:
            import redis.asyncio
            from redis.asyncio.retry import Retry

            pool = redis.asyncio.BlockingConnectionPool.from_url(self.url, **self._options(Retry))
            client = redis.asyncio.Redis(connection_pool=pool)
            scripts = self._async[loop] = _Scripts(client)
            # The loop closes its async generators before it closes (asyncio.run, asyncio.Runner):
            # this one then closes the client's connections, in that loop.
            closer = scripts.closer = self._close_with_loop(loop, client)
            await anext(closer)
        return scripts

    async def _close_with_loop(self, loop: asyncio.AbstractEventLoop, client: Any) -> AsyncGenerator[None]:
        try:
            yield
        finally:
            self._async.pop(loop, None)
            await client.connection_pool.disconnect()

    def forget_clients(self) -> None:
        """Drop the clients without using them (in a forked child: they hold the parent's sockets)."""
        with self._lock:
            _inherited.extend(client for client in (self._sync, *self._async.values()) if client)
            self._sync = None
            self._async = weakref.WeakKeyDictionary()

    # --- operations --------------------------------------------------------------------------

    def _reserve_args(self, key: BudgetKey, limit: int, amount: int, rid: str, force: bool) -> list[Any]:
        window = key.window
        return [
            limit,
            amount,
            rid,
            int(self.ttl_s * 1000),
            1 if force else 0,
            _expire_at(key),
            key.name,
            window.per or "",
            _iso(window.start),
            _iso(window.end),
        ]

    def reserve(self, key: BudgetKey, limit: int, amount: int, rid: str, force: bool) -> Verdict:
        """Reserve ``amount`` unless it would pass ``limit`` (one script)."""
        try:
            arguments = self._reserve_args(key, limit, amount, rid, force)
            return _verdict(self._sync_scripts().reserve(_keys(key), arguments))
        except Exception as exc:
            _raise_store_error(exc)
            raise

    async def areserve(self, key: BudgetKey, limit: int, amount: int, rid: str, force: bool) -> Verdict:
        """:meth:`reserve` on the event loop's asyncio client."""
        try:
            scripts = await self._async_scripts()
            reply = await scripts.reserve(_keys(key), self._reserve_args(key, limit, amount, rid, force))
            return _verdict(reply)
        except Exception as exc:
            _raise_store_error(exc)
            raise

    def settle(self, key: BudgetKey, rid: str, actual: int) -> None:
        """Replace reservation ``rid`` by the actual cost (one script)."""
        try:
            self._sync_scripts().settle(_keys(key), [rid, actual, _expire_at(key)])
        except Exception as exc:
            _raise_store_error(exc)
            raise

    async def asettle(self, key: BudgetKey, rid: str, actual: int) -> None:
        """:meth:`settle` on the event loop's asyncio client."""
        try:
            await (await self._async_scripts()).settle(_keys(key), [rid, actual, _expire_at(key)])
        except Exception as exc:
            _raise_store_error(exc)
            raise

    def status(self, key: BudgetKey) -> tuple[int, int]:
        """(spent, reserved) of one window, after releasing expired reservations."""
        try:
            spent, reserved, _ = self._sync_scripts().status(_keys(key), [])
        except Exception as exc:
            _raise_store_error(exc)
            raise
        return int(spent), int(reserved)

    def windows(self) -> list[WindowState]:
        """Every budget window on the server (on a cluster: the node the URL names)."""
        try:
            scripts = self._sync_scripts()
            client = scripts.client
            states = []
            for raw_key in client.scan_iter(match="{llmmeter:budget:*}", _type="hash", count=500):
                tag = raw_key.decode()
                meta = client.hmget(tag, "name", "per", "start", "end")
                spent, reserved, count = scripts.status([tag, f"{tag}:expiry", f"{tag}:amounts"], [])
                name, per, start, end = (None if value is None else value.decode() for value in meta)
                states.append(
                    WindowState(
                        name or tag,
                        per or None,
                        _parse_iso(start),
                        _parse_iso(end),
                        int(spent),
                        int(reserved),
                        int(count),
                    )
                )
            return states
        except Exception as exc:
            _raise_store_error(exc)
            raise


class _Scripts:
    """A client and the three scripts registered on it (run by EVALSHA, loaded again after a
    server restart)."""

    __slots__ = ("client", "closer", "reserve", "settle", "status")

    def __init__(self, client: Any) -> None:
        self.client = client
        self.closer: AsyncGenerator[None] | None = None
        self.reserve = client.register_script(RESERVE)
        self.settle = client.register_script(SETTLE)
        self.status = client.register_script(STATUS)


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(UTC)


def _raise_store_error(exc: BaseException) -> None:
    """Raise a Redis or socket failure as a :class:`StoreError`; return on anything else (a bug)."""
    from redis.exceptions import RedisError

    if isinstance(exc, RedisError | OSError | asyncio.TimeoutError):
        raise StoreError(f"{type(exc).__name__}: {exc}") from exc


_stores: weakref.WeakSet[RedisStore] = weakref.WeakSet()
_inherited: list[Any] = []
"""The parent's clients, kept unused (and uncollected) in a forked child."""


def _after_fork_in_child() -> None:
    for store in list(_stores):
        store.forget_clients()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
