"""Per-route request statistics: aggregated in memory per process, merged across processes in Redis.

Why: the API endpoint registry needs call counts, averages and p95 per route for the whole
deployment, at a cost of a few dictionary updates per request (no database write, no network
round trip). Each process adds requests to ``pending``; every ``FLUSH_S`` seconds it moves them
into the shared store: Redis hashes (HINCRBY merges every process's counts) or, embedded, this
process's memory. Readers take the stored totals (cached, dropped by every flush) plus this
process's unflushed requests, so nothing is counted twice or lost.

Latencies go into log-spaced buckets (``GROWTH`` apart) so percentiles of merged data are
estimated within a few percent; the same buckets per minute feed the overview's p50/p95/p99.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import msgspec
import structlog

from app.domain.runtime import Runtime
from app.lib.cache import ansflow_cache, key

FLUSH_S = 5.0
MIN_MS = 0.05
GROWTH = 1.1
MAX_BUCKET = 160  # ~ 0.05 ms * 1.1**160 = 200 s
WINDOW_MIN = 5
KEEP_MIN = 15
SNAPSHOT_TTL_S = 30
_LOG_GROWTH = math.log(GROWTH)
log = structlog.get_logger("ansflow.monitoring")


def bucket(ms: float) -> int:
    if ms <= MIN_MS:
        return 0
    return min(int(math.log(ms / MIN_MS) / _LOG_GROWTH), MAX_BUCKET)


class Agg(msgspec.Struct, array_like=True):
    """Count, total milliseconds and bucket counts: everything merges by addition."""

    count: int = 0
    sum_ms: float = 0.0
    buckets: dict[int, int] = msgspec.field(default_factory=dict)

    def merge(self, other: Agg) -> None:
        self.count += other.count
        self.sum_ms += other.sum_ms
        for b, n in other.buckets.items():
            self.buckets[b] = self.buckets.get(b, 0) + n

    def percentile(self, q: float) -> float:
        """Geometric middle of the bucket holding the q-th request (0 with no requests)."""
        if self.count <= 0:
            return 0.0
        rank, seen = q * self.count, 0
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            if seen >= rank:
                return round(float(MIN_MS * GROWTH ** (b + 0.5)), 3)
        return round(float(MIN_MS * GROWTH ** (max(self.buckets) + 0.5)), 3)


def _merged(*parts: dict[str, Agg]) -> dict[str, Agg]:
    out: dict[str, Agg] = {}
    for part in parts:
        for name, agg in part.items():
            out.setdefault(name, Agg()).merge(agg)
    return out


def _from_hash(raw: dict[Any, Any]) -> dict[str, Agg]:
    """Redis fields ``<route>|c``, ``<route>|s`` (microseconds) and ``<route>|<bucket>``."""
    out: dict[str, Agg] = {}
    for field, value in raw.items():
        name, _, part = (field.decode() if isinstance(field, bytes) else str(field)).rpartition("|")
        agg, number = out.setdefault(name, Agg()), int(value)
        if part == "c":
            agg.count += number
        elif part == "s":
            agg.sum_ms += number / 1000
        else:
            agg.buckets[int(part)] = agg.buckets.get(int(part), 0) + number
    return out


class RequestStats:
    """One per process: the middleware records, readers merge."""

    def __init__(self) -> None:
        self.pending: dict[str, Agg] = {}
        self.pending_minutes: dict[int, Agg] = {}
        self.memory: dict[str, Agg] = {}  # embedded store
        self.memory_minutes: dict[int, Agg] = {}
        self.last_flush = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def record(self, name: str, ms: float) -> None:
        """One request of the route ``name`` ("GET /api/v1/..."), ``ms`` long."""
        b = bucket(ms)
        agg = self.pending.get(name)
        if agg is None:
            agg = self.pending[name] = Agg()
        agg.count += 1
        agg.sum_ms += ms
        agg.buckets[b] = agg.buckets.get(b, 0) + 1
        minute = int(time.time() // 60)
        window = self.pending_minutes.get(minute)
        if window is None:
            window = self.pending_minutes[minute] = Agg()
        window.count += 1
        window.sum_ms += ms
        window.buckets[b] = window.buckets.get(b, 0) + 1

    def flush_due(self) -> bool:
        return time.monotonic() - self.last_flush >= FLUSH_S

    def schedule_flush(self, rt: Runtime) -> None:
        """Start a background flush when one is due and none runs (the middleware asks ``flush_due`` first)."""
        if not self.flush_due() or (self._task is not None and not self._task.done()):
            return
        self.last_flush = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self.flush(rt))

    async def flush(self, rt: Runtime) -> None:
        routes, minutes = self.pending, self.pending_minutes
        self.pending, self.pending_minutes = {}, {}
        if not routes and not minutes:
            return
        cache = ansflow_cache(rt.cache)
        if cache.two_tier is None:
            self.memory = _merged(self.memory, routes)
            for minute, agg in minutes.items():
                self.memory_minutes.setdefault(minute, Agg()).merge(agg)
            oldest = int(time.time() // 60) - KEEP_MIN
            self.memory_minutes = {m: a for m, a in self.memory_minutes.items() if m >= oldest}
        else:
            try:
                await self._write_redis(rt, routes, minutes)
            except Exception as exc:  # Redis down: keep the counts (and the recent minutes) for the next flush
                self.pending = _merged(routes, self.pending)
                oldest = int(time.time() // 60) - KEEP_MIN
                for minute, agg in minutes.items():
                    if minute >= oldest:
                        self.pending_minutes.setdefault(minute, Agg()).merge(agg)
                log.debug("request stats flush postponed", error=repr(exc))
                return
        await cache.delete(key(rt.settings, "api-stats-snapshot"))

    async def _write_redis(self, rt: Runtime, routes: dict[str, Agg], minutes: dict[int, Agg]) -> None:
        tiers = ansflow_cache(rt.cache).two_tier
        assert tiers is not None
        if tiers.bypassing():
            raise ConnectionError("cache backend is down")
        async with tiers.client.pipeline(transaction=False) as pipe:
            totals = key(rt.settings, "api-stats")
            for name, agg in routes.items():
                pipe.hincrby(totals, f"{name}|c", agg.count)
                pipe.hincrby(totals, f"{name}|s", int(agg.sum_ms * 1000))
                for b, n in agg.buckets.items():
                    pipe.hincrby(totals, f"{name}|{b}", n)
            for minute, agg in minutes.items():
                window = key(rt.settings, "api-latency", minute)
                pipe.hincrby(window, "all|c", agg.count)
                pipe.hincrby(window, "all|s", int(agg.sum_ms * 1000))
                for b, n in agg.buckets.items():
                    pipe.hincrby(window, f"all|{b}", n)
                pipe.expire(window, KEEP_MIN * 60)
            await pipe.execute()

    async def routes(self, rt: Runtime) -> dict[str, Agg]:
        """Every route's totals across processes: the cached store snapshot plus our pending part."""
        cache = ansflow_cache(rt.cache)

        async def load() -> bytes:
            if cache.two_tier is None:
                return msgspec.msgpack.encode(self.memory)
            stored = await cache.two_tier.client.hgetall(key(rt.settings, "api-stats"))
            return msgspec.msgpack.encode(_from_hash(stored))

        raw = await cache.cached("api-endpoints", key(rt.settings, "api-stats-snapshot"), load, ttl=SNAPSHOT_TTL_S,
                                 lock=True)
        return _merged(msgspec.msgpack.decode(raw, type=dict[str, Agg]), self.pending)

    async def recent(self, rt: Runtime, minutes: int = WINDOW_MIN) -> Agg:
        """All requests of the last ``minutes`` minutes, across processes (for the overview)."""
        now = int(time.time() // 60)
        wanted = range(now - minutes + 1, now + 1)
        total = Agg()
        for minute in wanted:
            for part in (self.pending_minutes.get(minute), self.memory_minutes.get(minute)):
                if part is not None:
                    total.merge(part)
        tiers = ansflow_cache(rt.cache).two_tier
        if tiers is not None and not tiers.bypassing():
            try:
                async with tiers.client.pipeline(transaction=False) as pipe:
                    for minute in wanted:
                        pipe.hgetall(key(rt.settings, "api-latency", minute))
                    for raw in await pipe.execute():
                        total.merge(_from_hash(raw).get("all", Agg()))
            except Exception as exc:
                log.debug("request latency window unavailable", error=repr(exc))
        return total


REQUEST_STATS = RequestStats()
