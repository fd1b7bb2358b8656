"""``AnsflowCache.cached``: the one read-through path for domain reads.

Why not cashews' decorators: writers must invalidate exactly the names readers used, so keys and
tags are spelled out at the call site; values are msgspec-encoded bytes, never ORM objects.

What it adds on top of get/set:
- hit and miss counters per cache name (``ansflow_cache_hits_total{cache=...}``);
- stampede protection: one load per key per process at a time (later callers await it), and with
  ``lock=True`` a short Redis lock so one process recomputes while the others wait for its value;
- an in-flight guard: a load whose key is invalidated (here, or by another process's PUBLISH)
  while it runs is returned to its caller but not stored, and nobody joins it afterwards, so a
  demoted member is refused on the very next request;
- tags (``invalidate_tags``): a tagged key is added to its tag sets *before* the load, so a writer
  that invalidates the tag during the load also marks that load stale.

Across processes the guard relies on the writer's PUBLISH arriving before this process stores its
result (a sub-millisecond window after a read that raced a commit); the entry's TTL bounds whatever
slips through it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from cashews import Cache

from app.config import Settings
from app.lib.cache.derived import DerivedAnswers, note_near_hit, note_outside
from app.lib.cache.keys import key
from app.lib.cache.near import NEAR_TTL_S, NearCache
from app.lib.cache.tiers import TwoTierRedis
from app.lib.metrics import CACHE_HITS, CACHE_MEMORY_HITS, CACHE_MISSES
from app.lib.metrics_batch import BATCH

TAG_TTL_S = 3600.0  # longer than any entry's TTL: a tag set never expires before its keys
MAX_TTL_S = TAG_TTL_S
LOCK_S = 5.0
POLL_S = 0.02

Loader = Callable[[], Awaitable[bytes]]
T = TypeVar("T")


class _Load:
    __slots__ = ("dirty", "future")

    def __init__(self, future: asyncio.Future[bytes]) -> None:
        self.future = future
        self.dirty = False


class AnsflowCache(Cache):
    def __init__(self, settings: Settings, name: str = "") -> None:
        super().__init__(name=name)
        self.settings = settings
        self.two_tier: TwoTierRedis | None = None
        self._loads: dict[str, list[_Load]] = {}
        self.near = NearCache()
        self.answers = DerivedAnswers(self.near, self._generation, self._hit_counters)
        self._hits: dict[str, Any] = {}
        self._misses: dict[str, Any] = {}
        self._near_counters: dict[str, list[Any]] = {}
        self._local_generation = 0  # bumped by every local invalidation: a read in flight must not fill near

    def add_two_tier(self, backend: TwoTierRedis, middleware: Any) -> None:
        self.two_tier = backend
        self._add_backend(backend, (middleware,))

    def touched(self, keys: Iterable[str]) -> None:
        """Keys invalidated here or by another process: loads of them in flight are now stale."""
        self._local_generation += 1
        for k in keys:
            self.near.evict((k,))
            for load in self._loads.get(k, ()):
                load.dirty = True

    def _generation(self) -> tuple[int, int] | None:
        """None while the near tier cannot be trusted (the Redis tier's subscription is down)."""
        if self.two_tier is None:
            return (self._local_generation, 0)
        if not self.two_tier.listening:
            return None
        return (self._local_generation, self.two_tier.generation)

    def _remember(self, cache_key: str, value: bytes, ttl: float, generation: tuple[int, int] | None) -> None:
        if generation is not None and generation == self._generation():
            self.near.put(cache_key, value, ttl)

    async def set(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        self.near.evict((key,))
        return await super().set(key, value, *args, **kwargs)

    async def incr(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self.near.evict((key,))
        return await super().incr(key, *args, **kwargs)

    async def expire(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self.near.evict((key,))
        return await super().expire(key, *args, **kwargs)

    async def clear(self) -> None:
        self.near.clear()
        self._local_generation += 1
        await super().clear()

    async def delete(self, key: str) -> bool:
        self.touched((key,))
        return bool(await super().delete(key))

    async def delete_many(self, *keys: str) -> None:
        self.touched(keys)
        await super().delete_many(*keys)

    def tag_key(self, tag: str) -> str:
        return key(self.settings, "tag", tag)

    async def tag(self, cache_key: str, *tags: str) -> None:
        """File ``cache_key`` under more tags; loaders call it for tags known only after the query."""
        for tag in tags:
            await self.set_add(self.tag_key(tag), cache_key, expire=TAG_TTL_S)

    async def invalidate_tags(self, *tags: str) -> None:
        """Delete every key stored under these tags (in every process's memory tier too)."""
        for tag in tags:
            while True:
                members = [m.decode() if isinstance(m, bytes) else str(m)
                           for m in await self.set_pop(self.tag_key(tag), 500)]
                if members:
                    await self.delete_many(*members)
                if len(members) < 500:
                    break

    async def cached_as(self, name: str, cache_key: str, load: Loader, decode: Callable[[bytes], T], *,
                        ttl: float, tags: Sequence[str] = ()) -> T:
        """``cached`` then ``decode``; a near hit reuses the object decoded from the same bytes.

        The result is shared between requests: only for immutable values (frozen Structs).
        """
        raw = await self.cached(name, cache_key, load, ttl=ttl, tags=tags)
        return self.near.decoded(cache_key, raw, decode)

    async def cached(self, name: str, cache_key: str, load: Loader, *, ttl: float,
                     tags: Sequence[str] = (), lock: bool = False) -> bytes:
        """The cached bytes under ``cache_key``, else ``await load()`` stored for ``ttl`` seconds."""
        generation = self._generation()
        if generation is not None:
            entry = self.near.entry(cache_key)
            if entry is not None:
                self._count_hit(name)
                note_near_hit(name, cache_key, entry)
                return entry[1]  # type: ignore[no-any-return]
        note_outside()
        value = await self.get(cache_key)
        if isinstance(value, bytes):
            BATCH.inc(self._child(self._hits, CACHE_HITS, name))
            self._remember(cache_key, value, NEAR_TTL_S, generation)
            return value
        BATCH.inc(self._child(self._misses, CACHE_MISSES, name))
        for running in list(self._loads.get(cache_key, ())):
            if not running.dirty:
                try:
                    return await asyncio.shield(running.future)
                except asyncio.CancelledError:
                    if not running.future.cancelled():
                        raise  # we were cancelled, not the load we joined
                break
        current = _Load(asyncio.get_running_loop().create_future())
        self._loads.setdefault(cache_key, []).append(current)
        try:
            value = await self._fill(current, cache_key, load, min(ttl, MAX_TTL_S), tags, lock)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                current.future.cancel()
            else:
                current.future.set_exception(exc)
                current.future.exception()  # waiters re-raise it; nobody else needs to retrieve it
            raise
        finally:
            loads = self._loads[cache_key]
            loads.remove(current)
            if not loads:
                del self._loads[cache_key]
        current.future.set_result(value)
        if not current.dirty:
            self._remember(cache_key, value, ttl, generation)
        return value

    def _count_hit(self, name: str) -> None:
        """A read answered by the near tier (this process's memory, so a memory-tier hit too)."""
        BATCH.inc_each(self._near_hit_counters(name))

    def _near_hit_counters(self, name: str) -> list[Any]:
        """The counters one near hit on ``name`` increments, built once per cache name."""
        counters = self._near_counters.get(name)
        if counters is None:
            counters = [self._child(self._hits, CACHE_HITS, name)]
            if self.two_tier is not None:
                counters.append(CACHE_MEMORY_HITS)
            self._near_counters[name] = counters
        return counters

    def _hit_counters(self, names: Iterable[str]) -> list[Any]:
        """The counters near hits on each of ``names`` increment (derived answers keep them)."""
        return [counter for name in names for counter in self._near_hit_counters(name)]

    @staticmethod
    def _child(children: dict[str, Any], family: Any, name: str) -> Any:
        child = children.get(name)
        if child is None:
            child = children[name] = family.labels(name)
        return child

    async def _fill(self, current: _Load, cache_key: str, load: Loader, ttl: float,
                    tags: Sequence[str], lock: bool) -> bytes:
        lock_key = token = None
        if lock and self.two_tier is not None:
            lock_key, token = f"{cache_key}:lock", uuid.uuid4().hex
            if not await self.set_lock(lock_key, token, expire=LOCK_S):
                found = await self._wait_for_other(cache_key, lock_key)
                if found is not None:
                    return found
                token = None
        try:
            await self.tag(cache_key, *tags)
            value = await load()
            if not current.dirty:
                await self.set(cache_key, value, expire=ttl)
                if current.dirty:  # invalidated while we were storing: do not leave it behind
                    await super().delete(cache_key)
            return value
        finally:
            if lock_key is not None and token is not None:
                await self.unlock(lock_key, token)

    async def _wait_for_other(self, cache_key: str, lock_key: str) -> bytes | None:
        """Another process holds the load lock: take its value, or load ourselves if it gives up."""
        deadline = time.monotonic() + LOCK_S
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_S)
            value = await self.get(cache_key)
            if isinstance(value, bytes):
                return value
            if not await self.exists(lock_key):
                return None
        return None


def ansflow_cache(cache: Cache) -> AnsflowCache:
    """The runtime's cache with the read-through API (every cache comes from ``create_cache``)."""
    if not isinstance(cache, AnsflowCache):
        raise TypeError("caches are built by app.lib.cache.create_cache")
    return cache
