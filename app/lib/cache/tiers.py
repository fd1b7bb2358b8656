"""Two tiers: a per-process memory tier in front of Redis, and the guard that survives Redis outages.

Why two tiers: hot reads (a member's role, a pipeline's status) then cost no network round trip.
Why our own invalidation rather than cashews' client-side mode: that mode keeps a read's result
in memory with no TTL even when an invalidation arrived while the read was in flight, never
restarts its listener if Redis is down at boot, and needs RESP2. Here every write (set, delete,
incr, expire) goes to Redis and then PUBLISHes the keys on one channel; every other process drops
them from its memory tier. The memory tier is trusted only while this process's subscription is
up (it is emptied on every (re)subscribe) and a copy never outlives its Redis TTL.

Redis failing must not fail requests: the guard middleware opens a circuit for ``RETRY_S`` (reads
miss, so callers read the database; writes are skipped), logs one warning per outage, counts
errors and bypassed calls, remembers deletes to replay when Redis answers again, and closes the
circuit on the first call that succeeds.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from typing import Any, cast

import redis.asyncio as aioredis
import structlog
from cashews.backends.interface import Backend
from cashews.backends.memory import Memory
from cashews.backends.redis import Redis as RedisBackend
from cashews.commands import Command
from cashews.exceptions import CacheBackendInteractionError
from cashews.serialize import Serializer
from redis.exceptions import RedisError

from app.lib.metrics import CACHE_BACKEND_UP, CACHE_BYPASSED, CACHE_ERRORS, CACHE_MEMORY_HITS
from app.lib.metrics_batch import BATCH

LOCAL_SIZE = 50_000
LOCAL_TTL_S = 300.0  # upper bound for a memory copy, whatever Redis says
RETRY_S = 1.0
RECONNECT_MAX_S = 5.0
_ABSENT = object()
_ERRORS = (CacheBackendInteractionError, RedisError, OSError, asyncio.TimeoutError)
log = structlog.get_logger("ansflow.cache")


class TaggedValues(Serializer):
    """Values go to Redis as tagged bytes (``bytes:...``, ``str:...``) and ints as Redis integers.

    Nothing read back from a shared Redis is ever unpickled, and str and bytes keep their type.
    """

    _type_mapping = dict(Serializer._type_mapping)

    def __init__(self) -> None:
        super().__init__(check_repr=False)  # type: ignore[no-untyped-call]


async def _encode_str(value: str, *_: Any, **__: Any) -> bytes:
    return value.encode()


async def _decode_str(value: bytes, *_: Any, **__: Any) -> str:
    return value.decode()


TaggedValues.register_type(str, _encode_str, _decode_str)


class TwoTierRedis(RedisBackend):
    """Redis with a per-process memory tier kept coherent by PUBLISHed invalidations."""

    def __init__(self, address: str, channel: str, **kwargs: Any) -> None:
        kwargs.setdefault("socket_connect_timeout", 1)
        kwargs.setdefault("socket_timeout", 1)
        kwargs.setdefault("serializer", TaggedValues())
        super().__init__(address, suppress=False, **kwargs)
        self.local = Memory(size=LOCAL_SIZE, check_interval=5)
        self.channel = channel
        self.origin = uuid.uuid4().hex.encode()
        self.listening = False
        self.generation = 0  # bumped by every remote message: a read in flight must not fill the tier
        self.down_until = 0.0
        self.down = False
        self.pending_keys: set[str] = set()
        self.pending_tags: set[str] = set()
        self.on_touch: Any = None  # set by AnsflowCache: keys another process invalidated
        self.on_change: Any = None  # set by AnsflowCache: keys another process wrote or invalidated
        self.on_reset: Any = None  # set by AnsflowCache: the memory tier was emptied
        self._task: asyncio.Task[None] | None = None

    @property
    def client(self) -> aioredis.Redis:
        """The shared Redis connection pool, for data that is not a cache entry (stats hashes)."""
        return cast(aioredis.Redis, self._client)

    async def init(self) -> None:
        await self.local.init()
        await super().init()  # type: ignore[no-untyped-call]
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen_forever(), name="ansflow-cache-invalidations")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.local.close()
        with warnings.catch_warnings():  # cashews still calls redis-py's deprecated close()
            warnings.simplefilter("ignore", DeprecationWarning)
            await super().close()  # type: ignore[no-untyped-call]

    # -- reads: memory tier, then Redis (value and remaining TTL in one round trip) -------------
    async def get(self, key: str, default: Any = None) -> Any:
        if self.listening:
            value = await self.local.get(key, default=_ABSENT)
            if value is not _ABSENT:
                BATCH.inc(CACHE_MEMORY_HITS)
                return value
        generation = self.generation
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.pttl(key)
            raw, pttl = await pipe.execute()
        value = await self._transform_value(key, raw, _ABSENT)
        if value is _ABSENT:
            return default
        if self.listening and generation == self.generation and pttl and pttl > 0:
            await self.local.set(key, value, expire=min(pttl / 1000, LOCAL_TTL_S))
        return value

    # -- writes: Redis first, then tell the other processes ---------------------------------------
    async def set(self, key: str, value: Any, expire: float | None = None, exist: bool | None = None) -> bool:
        await self.local.delete(key)
        done = bool(await super().set(key, value, expire=expire, exist=exist))
        await self._publish(b"s", [key])
        if done and expire and self.listening:
            await self.local.set(key, value, expire=min(expire, LOCAL_TTL_S))
        return done

    async def delete(self, key: str) -> bool:
        await self.local.delete(key)
        try:
            return bool(await super().delete(key))
        finally:
            await self._publish(b"d", [key])

    async def delete_many(self, *keys: str) -> None:
        for k in keys:
            await self.local.delete(k)
        if keys:
            await super().delete_many(*keys)
            await self._publish(b"d", keys)

    async def incr(self, key: str, value: int = 1, expire: float | None = None) -> int:
        await self.local.delete(key)
        result = int(await super().incr(key, value=value, expire=expire))
        await self._publish(b"s", [key])
        return result

    async def expire(self, key: str, timeout: float) -> Any:
        await self.local.delete(key)
        result = await super().expire(key, timeout)
        await self._publish(b"s", [key])
        return result

    async def clear(self) -> None:
        await self.local.clear()
        await super().clear()  # type: ignore[no-untyped-call]

    async def _publish(self, kind: bytes, keys: Iterable[str]) -> None:
        await self._client.publish(self.channel, b"\n".join([self.origin, kind, *(k.encode() for k in keys)]))

    # -- the subscription that keeps every memory tier honest --------------------------------------
    async def _listen_forever(self) -> None:
        delay = 0.1
        while True:
            client = aioredis.Redis.from_url(self._address, socket_connect_timeout=1, health_check_interval=5)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await client.ping()  # subscribe alone can "succeed" before anything reached Redis
                await pubsub.subscribe(self.channel)
                await self._reset_local()
                self.listening, delay = True, 0.1
                await self.recovered()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        await self._apply(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.listening:
                    self.failed("subscribe", exc)
            finally:
                self.listening = False
                self.generation += 1
                await self._reset_local()
                with suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                    await client.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    async def _reset_local(self) -> None:
        await self.local.clear()
        if self.on_reset is not None:
            self.on_reset()

    async def _apply(self, data: bytes) -> None:
        origin, kind, *raw = data.split(b"\n")
        if origin == self.origin:
            return
        keys = [k.decode() for k in raw]
        self.generation += 1
        for k in keys:
            await self.local.delete(k)
        if self.on_change is not None:
            self.on_change(keys)
        if kind == b"d" and self.on_touch is not None:  # an invalidation, not another process's fill
            self.on_touch(keys)

    # -- circuit breaker state, driven by the guard middleware --------------------------------------
    def bypassing(self) -> bool:
        return self.down and time.monotonic() < self.down_until

    def failed(self, operation: str, exc: BaseException) -> None:
        CACHE_ERRORS.labels(operation).inc()
        self.down_until = time.monotonic() + RETRY_S
        if not self.down:
            self.down = True
            CACHE_BACKEND_UP.set(0)
            log.warning("cache backend unavailable: serving from the database", error=repr(exc),
                        retry_in_s=RETRY_S)

    async def recovered(self) -> None:
        """First success after an outage: close the circuit, replay the deletes it swallowed."""
        if not self.down:
            CACHE_BACKEND_UP.set(1)
            return
        self.down = False
        CACHE_BACKEND_UP.set(1)
        with suppress(Exception):  # sockets pooled before the outage are dead: reconnect lazily
            await self.client.connection_pool.disconnect()
        keys, tags = list(self.pending_keys), list(self.pending_tags)
        self.pending_keys.clear()
        self.pending_tags.clear()
        log.info("cache backend recovered", replayed_keys=len(keys), replayed_tags=len(tags))
        try:
            for tag_key in tags:
                popped = await super().set_pop(tag_key, 10_000)
                keys.extend(v.decode() if isinstance(v, bytes) else str(v) for v in popped)
            if keys:
                await self.delete_many(*keys)
        except _ERRORS as exc:
            self.pending_keys.update(keys)
            self.pending_tags.update(tags)
            self.failed("replay", exc)

    def remember(self, cmd: Command, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if cmd is Command.DELETE:
            self.pending_keys.add(str(kwargs.get("key", args[0] if args else "")))
        elif cmd is Command.DELETE_MANY:
            self.pending_keys.update(str(k) for k in args)
        elif cmd is Command.SET_POP:
            self.pending_tags.add(str(kwargs.get("key", args[0] if args else "")))


_FALLBACK: dict[Command, Any] = {
    Command.SET: False, Command.DELETE: False, Command.SET_POP: [], Command.SET_LOCK: True,
    Command.UNLOCK: True, Command.EXISTS: False, Command.IS_LOCKED: False, Command.GET_EXPIRE: -2,
}
_UNGUARDED = {Command.SCAN, Command.GET_MATCH, Command.DELETE_MATCH, Command.PING, Command.CLEAR}


def guard_middleware(backend: TwoTierRedis) -> Any:
    """Turn Redis failures into cache misses, skipped writes and remembered deletes."""

    async def guard(
        call: Callable[..., Awaitable[Any]], cmd: Command, _backend: Backend, *args: Any, **kwargs: Any
    ) -> Any:
        if cmd in _UNGUARDED:
            return await call(*args, **kwargs)
        fallback = kwargs.get("default") if cmd is Command.GET else _FALLBACK.get(cmd)
        if backend.bypassing():
            CACHE_BYPASSED.inc()
            backend.remember(cmd, args, kwargs)
            return fallback
        try:
            result = await call(*args, **kwargs)
        except _ERRORS as exc:
            backend.failed(cmd.value, exc)
            backend.remember(cmd, args, kwargs)
            CACHE_BYPASSED.inc()
            return fallback
        if backend.down:
            await backend.recovered()
        return result

    return guard
