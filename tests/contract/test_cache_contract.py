"""``app.lib.cache.create_cache``: the operations domain code relies on behave the same in memory and
on Redis (values domain code caches are bytes, str and int: DESIGN.md caches Structs as bytes)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from app.config import Settings
from app.lib.cache import create_cache, key
from app.lib.cache.near import NEAR_TTL_S


@pytest.fixture
async def cache(contract_settings: Settings) -> AsyncIterator[Any]:
    cache = create_cache(contract_settings)
    await cache.init()
    yield cache
    await cache.close()


@asynccontextmanager
async def two_caches(settings: Settings) -> AsyncIterator[tuple[Any, Any]]:
    """Two caches on the same backend, as two processes would have."""
    first, second = create_cache(settings), create_cache(settings)
    await first.init()
    await second.init()
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


def fresh(settings: Settings) -> str:
    return key(settings, "contract", secrets.token_hex(6))


@pytest.mark.parametrize("value", [b"\x00bytes\xff", "text \u00e9", 42, 0])
async def test_set_get_delete_round_trip(cache: Any, contract_settings: Settings, value: object) -> None:
    k = fresh(contract_settings)
    assert await cache.get(k) is None
    assert await cache.get(k, default="fallback") == "fallback"
    await cache.set(k, value, expire=30)
    got = await cache.get(k)
    assert got == value and type(got) is type(value)
    assert await cache.delete(k)
    assert await cache.get(k) is None
    assert not await cache.delete(k), "deleting an absent key reports nothing deleted"


async def test_overwrite_replaces_the_value(cache: Any, contract_settings: Settings) -> None:
    k = fresh(contract_settings)
    await cache.set(k, b"one", expire=30)
    await cache.set(k, b"two", expire=30)
    assert await cache.get(k) == b"two"


async def test_incr_counts_from_absent(cache: Any, contract_settings: Settings) -> None:
    k = fresh(contract_settings)
    assert [await cache.incr(k) for _ in range(3)] == [1, 2, 3]
    assert int(await cache.get(k)) == 3
    await cache.delete(k)
    assert await cache.incr(k) == 1


async def test_expire_and_ttl(cache: Any, contract_settings: Settings) -> None:
    k = fresh(contract_settings)
    await cache.incr(k)
    await cache.expire(k, 30)
    ttl = await cache.get_expire(k)
    assert 0 < ttl <= 30
    short = fresh(contract_settings)
    await cache.set(short, b"soon gone", expire=1)
    assert await cache.get(short) == b"soon gone"
    deadline = time.monotonic() + 5
    while await cache.get(short) is not None:
        assert time.monotonic() < deadline, "an entry outlived its expiry"
        await asyncio.sleep(0.1)


async def test_two_processes_see_each_others_writes(contract_settings: Settings, flavour: str) -> None:
    """Production runs many processes on one Redis: a write or delete in one is seen by the others,
    including a value the other had already read (its memory tier must be invalidated)."""
    if flavour == "memory":
        pytest.skip("the in-process cache belongs to one process")
    async with two_caches(contract_settings) as (first, second):
        k = fresh(contract_settings)
        await first.set(k, b"v1", expire=60)
        assert await second.get(k) == b"v1"
        assert await second.get(k) == b"v1"  # now possibly held in second's memory tier
        await first.set(k, b"v2", expire=60)
        await _eventually(second, k, b"v2")
        await first.delete(k)
        await _eventually(second, k, None)


async def _eventually(cache: Any, k: str, expected: object, within_s: float = 3.0) -> None:
    deadline = time.monotonic() + within_s
    while (got := await cache.get(k)) != expected:
        assert time.monotonic() < deadline, f"still {got!r}, expected {expected!r}"
        await asyncio.sleep(0.05)


def loader(*values: bytes) -> Any:
    """A read-through loader answering each value in turn (and counting its calls)."""
    remaining = list(values)

    async def load() -> bytes:
        load.calls += 1  # type: ignore[attr-defined]
        return remaining.pop(0)

    load.calls = 0  # type: ignore[attr-defined]
    return load


async def test_read_through_near_copies_follow_local_writes(cache: Any, contract_settings: Settings) -> None:
    """``cached`` keeps a near copy; a delete, a set or a tag invalidation here is seen at once."""
    k = fresh(contract_settings)
    load = loader(b"v1", b"v2", b"v4")
    assert await cache.cached("contract", k, load, ttl=60, tags=["contract-tag"]) == b"v1"
    assert await cache.cached("contract", k, load, ttl=60) == b"v1"
    assert load.calls == 1, "the second read is a hit"
    await cache.delete(k)
    assert await cache.cached("contract", k, load, ttl=60, tags=["contract-tag"]) == b"v2"
    await cache.set(k, b"v3", expire=60)
    assert await cache.cached("contract", k, load, ttl=60) == b"v3"
    await cache.delete(k)
    await cache.cached("contract", k, load, ttl=60, tags=["contract-tag"])
    await cache.invalidate_tags("contract-tag")
    assert await cache.get(k) is None
    assert await cache.cached("contract", k, loader(b"v5"), ttl=60) == b"v5"


async def test_read_through_decoded_values_are_reused_only_for_the_same_bytes(
    cache: Any, contract_settings: Settings
) -> None:
    k = fresh(contract_settings)
    first = await cache.cached_as("contract", k, loader(b"[1]"), lambda raw: (raw.decode(),), ttl=60)
    again = await cache.cached_as("contract", k, loader(b"[2]"), lambda raw: (raw.decode(),), ttl=60)
    assert first == again == ("[1]",)
    await cache.delete(k)
    fresh_value = await cache.cached_as("contract", k, loader(b"[2]"), lambda raw: (raw.decode(),), ttl=60)
    assert fresh_value == ("[2]",)


async def test_read_through_near_copies_follow_other_processes(contract_settings: Settings, flavour: str) -> None:
    """A process's near copy of a read-through entry goes as soon as another process writes the key."""
    if flavour == "memory":
        pytest.skip("the in-process cache belongs to one process")
    async with two_caches(contract_settings) as (first, second):
        k = fresh(contract_settings)
        await _until_listening(first, second)
        assert await first.cached("contract", k, loader(b"v1"), ttl=60) == b"v1"
        assert await second.cached("contract", k, loader(b"unused"), ttl=60) == b"v1"
        assert await second.cached("contract", k, loader(b"unused"), ttl=60) == b"v1"
        assert second.near.get(k) == b"v1", "second holds a near copy"
        # well inside the near copy's lifetime: only the PUBLISHed invalidation can explain a change
        within = NEAR_TTL_S / 2
        await first.delete(k)
        await _eventually_cached(second, k, b"v2", within)
        await _eventually_cached(second, k, b"v2", within)
        await first.set(k, b"v3", expire=60)
        await _eventually_cached(second, k, b"v3", within)


async def _until_listening(*caches: Any) -> None:
    deadline = time.monotonic() + 5
    while not all(c.two_tier.listening for c in caches):
        assert time.monotonic() < deadline, "the invalidation subscription never came up"
        await asyncio.sleep(0.02)


async def _eventually_cached(cache: Any, k: str, expected: bytes, within_s: float = 3.0) -> None:
    """Read through ``cache`` until it answers ``expected`` (its loader answers it too, once evicted)."""
    deadline = time.monotonic() + within_s
    while (got := await cache.cached("contract", k, loader(expected), ttl=60)) != expected:
        assert time.monotonic() < deadline, f"still {got!r}, expected {expected!r}"
        await asyncio.sleep(0.05)


# -- derived answers (app/lib/cache/derived.py) ------------------------------------------------------

async def _derive(cache: Any, answer_key: str, *keys: str) -> bytes:
    """The kept answer for ``answer_key``, else one derived from reading ``keys`` through the cache."""
    kept = cache.answers.get(answer_key)
    if kept is not None:
        return bytes(kept)
    with cache.answers.deriving() as derivation:
        parts = [await cache.cached("contract", k, loader(b"loaded:" + k.encode()), ttl=60) for k in keys]
    answer = b"|".join(parts)
    cache.answers.keep(answer_key, answer, derivation)
    return answer


async def _kept(cache: Any, answer_key: str, *keys: str) -> bytes:
    """Derive until the answer is kept: the first reads after a write refill the near copies."""
    for _ in range(3):
        await _derive(cache, answer_key, *keys)
        kept = cache.answers.get(answer_key)
        if kept is not None:
            return bytes(kept)
    raise AssertionError("three derivations from cached entries and still no kept answer")


async def test_derived_answers_are_kept_only_from_near_copies_and_follow_local_writes(
    cache: Any, contract_settings: Settings
) -> None:
    if cache.two_tier is not None:
        await _until_listening(cache)
    a, b, answer = fresh(contract_settings), fresh(contract_settings), fresh(contract_settings)
    await _derive(cache, answer, a, b)
    assert cache.answers.get(answer) is None, "a derivation that loaded is not kept"
    first = await _derive(cache, answer, a, b)
    assert cache.answers.get(answer) == first, "a derivation from near copies is kept"
    for write in (lambda: cache.delete(a), lambda: cache.set(b, b"new", expire=60),
                  lambda: cache.invalidate_tags("derived-tag")):
        await cache.delete(a)
        await cache.cached("contract", a, loader(b"tagged"), ttl=60, tags=["derived-tag"])
        await _kept(cache, answer, a, b)
        await write()
        assert cache.answers.get(answer) is None, "a write to one input drops the answer at once"
    await _kept(cache, answer, a, b)
    await cache.clear()
    assert cache.answers.get(answer) is None


async def test_derived_answers_honour_deadlines_and_outside_reads(cache: Any, contract_settings: Settings) -> None:
    from app.lib.cache.derived import note_outside, note_valid_for

    if cache.two_tier is not None:
        await _until_listening(cache)
    a, answer = fresh(contract_settings), fresh(contract_settings)
    await cache.cached("contract", a, loader(b"v"), ttl=60)
    with cache.answers.deriving() as derivation:
        await cache.cached("contract", a, loader(b"unused"), ttl=60)
        note_outside()  # e.g. a database query
    cache.answers.keep(answer, b"x", derivation)
    assert cache.answers.get(answer) is None
    with cache.answers.deriving() as derivation:
        await cache.cached("contract", a, loader(b"unused"), ttl=60)
        note_valid_for(0.05)  # e.g. a token that expires
    cache.answers.keep(answer, b"x", derivation)
    assert cache.answers.get(answer) == b"x"
    await asyncio.sleep(0.1)
    assert cache.answers.get(answer) is None
    with cache.answers.deriving() as derivation:
        await cache.cached("contract", a, loader(b"unused"), ttl=60)
    cache.answers.keep(answer, b"x", derivation)
    assert cache.answers.get(answer) == b"x"
    await asyncio.sleep(NEAR_TTL_S + 0.05)
    assert cache.answers.get(answer) is None, "an answer never outlives the near copies it came from"


async def test_derived_answers_follow_other_processes(contract_settings: Settings, flavour: str) -> None:
    if flavour == "memory":
        pytest.skip("the in-process cache belongs to one process")
    async with two_caches(contract_settings) as (first, second):
        a, answer = fresh(contract_settings), fresh(contract_settings)
        await _until_listening(first, second)
        await first.cached("contract", a, loader(b"v1"), ttl=60)
        assert await _kept(second, answer, a) == b"v1"
        await first.delete(a)
        deadline = time.monotonic() + NEAR_TTL_S / 2
        while second.answers.get(answer) is not None:
            assert time.monotonic() < deadline, "another process's delete did not reach the derived answer"
            await asyncio.sleep(0.01)
