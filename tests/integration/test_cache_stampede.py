"""Read-through guarantees of ``AnsflowCache.cached`` on the app's own cache (both backends).

- stampede: many concurrent misses of one key run the loader once;
- a load whose key is invalidated while it runs is returned to its caller but not stored, and a
  caller arriving after the invalidation does not reuse it (it loads again).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.domain.runtime import Runtime
from app.lib.cache import ansflow_cache, key
from tests.support.client import ApiClient

T = TypeVar("T")


def in_app(api: ApiClient, fn: Callable[[Runtime], Awaitable[T]]) -> T:
    rt: Runtime = api.app.state.runtime
    result: T = api.client.blocking_portal.call(fn, rt)
    return result


async def test_concurrent_misses_load_once(api: ApiClient) -> None:
    async def scenario(rt: Runtime) -> tuple[int, set[bytes]]:
        cache, calls = ansflow_cache(rt.cache), 0
        cache_key = key(rt.settings, "test-stampede", secrets.token_hex(4))

        async def load() -> bytes:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.05)
            return b'"computed"'

        results = await asyncio.gather(*(cache.cached("test", cache_key, load, ttl=30, lock=True) for _ in range(50)))
        return calls, set(results)

    calls, results = in_app(api, scenario)
    assert calls == 1 and results == {b'"computed"'}


async def test_load_invalidated_in_flight_is_not_stored_nor_joined(api: ApiClient) -> None:
    async def scenario(rt: Runtime) -> tuple[bytes, bytes, object, bytes]:
        cache = ansflow_cache(rt.cache)
        cache_key = key(rt.settings, "test-inflight", secrets.token_hex(4))
        release, versions = asyncio.Event(), iter([b'"old"', b'"new"'])

        async def slow_load() -> bytes:
            value = next(versions)  # reads "the database" before the write below
            await release.wait()
            return value

        first = asyncio.create_task(cache.cached("test", cache_key, slow_load, ttl=30))
        await asyncio.sleep(0.05)
        await cache.delete(cache_key)  # a writer commits and invalidates while the load runs

        async def fast_load() -> bytes:
            return next(versions)

        second = await cache.cached("test", cache_key, fast_load, ttl=30)  # must not join the stale load
        release.set()
        stale = await first
        stored = await cache.get(cache_key)
        again = await cache.cached("test", cache_key, fast_load, ttl=30)
        return stale, second, stored, again

    stale, second, stored, again = in_app(api, scenario)
    assert stale == b'"old"' and second == b'"new"'
    assert stored == b'"new"' and again == b'"new"'
