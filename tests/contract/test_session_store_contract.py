"""The session store ``create_app`` configures (``app.web.asgi._session_store``): Litestar's
MemoryStore embedded, its RedisStore (namespaced under the key prefix) in production."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from app.config import Settings
from app.web.asgi import _session_store


@pytest.fixture
async def store(contract_settings: Settings, flavour: str) -> AsyncIterator[Store]:
    store = _session_store(contract_settings)
    assert isinstance(store, MemoryStore if flavour == "memory" else RedisStore)
    yield store
    if isinstance(store, RedisStore):
        await store._redis.aclose()


async def test_round_trip(store: Store) -> None:
    sid = secrets.token_hex(32)
    assert await store.get(sid) is None
    assert not await store.exists(sid)
    await store.set(sid, b'{"user_id": "u", "csrf": "c"}', expires_in=60)
    assert await store.get(sid) == b'{"user_id": "u", "csrf": "c"}'
    assert await store.exists(sid)
    ttl = await store.expires_in(sid)
    assert ttl is not None and 0 < ttl <= 60
    await store.set(sid, b"replaced", expires_in=60)
    assert await store.get(sid) == b"replaced"
    await store.delete(sid)
    assert await store.get(sid) is None
    await store.delete(sid)  # deleting twice is fine (logout after expiry)


async def test_entries_expire(store: Store) -> None:
    sid = secrets.token_hex(32)
    await store.set(sid, b"short", expires_in=1)
    assert await store.get(sid) == b"short"
    await asyncio.sleep(1.2)
    assert await store.get(sid) is None


async def test_redis_sessions_live_under_the_deployment_prefix(store: Store, contract_settings: Settings,
                                                               flavour: str) -> None:
    if flavour == "memory":
        pytest.skip("Redis only")
    sid = secrets.token_hex(32)
    await store.set(sid, b"x", expires_in=60)
    client = aioredis.Redis.from_url(contract_settings.redis_url)
    try:
        keys = [k.decode() async for k in client.scan_iter(match=f"*{sid}")]
        assert keys == [f"{contract_settings.key_prefix}:sessions:{sid}"]
        assert 0 < await client.ttl(keys[0]) <= 60
    finally:
        await store.delete(sid)
        await client.aclose()
