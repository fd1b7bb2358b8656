"""What the database and the broker say right now: executions by status, leases, queue depth and latency.

Why one short-lived cached snapshot: /metrics scrapes, the overview endpoint and every
/ws/monitor tick (every 2 s per process) all want these numbers; with ``SNAPSHOT_TTL_S`` and the
cross-process load lock the database answers at most one such query set per couple of seconds
for the whole deployment. It is monitoring data: the TTL is its only invalidation.

Queue depth: RabbitMQ's count of ready messages (a passive ``queue_declare`` over pika, in a
thread), or embedded, the database's count of queued executions for the executions queue and the
in-process StubBroker's queue sizes for the others.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec
import pika
import structlog
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import func, select

from app.db.models.executions import Execution
from app.domain.executions.states import EXECUTION_STATUSES
from app.domain.runtime import Runtime
from app.lib.cache import ansflow_cache, key
from app.lib.clock import ensure_utc, utcnow

SNAPSHOT_TTL_S = 2
LATENCY_WINDOW = timedelta(minutes=15)
LATENCY_SAMPLES = 500
log = structlog.get_logger("ansflow.monitoring")


class Snapshot(msgspec.Struct):
    executions: dict[str, int]
    lease_age_s: dict[str, float]  # per worker: time since its oldest lease was renewed
    queue_latency_ms: list[float]  # enqueue -> start of recently started executions, sorted
    queue_depth: dict[str, int | None]


def quantile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return round(sorted_values[index], 3)


def _rabbit_depths(url: str, queues: list[str]) -> dict[str, int | None]:
    depths: dict[str, int | None] = dict.fromkeys(queues)
    params = pika.URLParameters(url)
    params.socket_timeout = params.blocked_connection_timeout = 2
    connection = pika.BlockingConnection(params)
    try:
        for name in queues:
            channel = connection.channel()
            try:
                depths[name] = int(channel.queue_declare(queue=name, passive=True).method.message_count)
            except pika.exceptions.ChannelClosedByBroker:  # not declared yet: nothing waiting
                depths[name] = 0
    finally:
        connection.close()
    return depths


async def _queue_depths(rt: Runtime, queued: int) -> dict[str, int | None]:
    names = rt.queues.all()
    if rt.settings.broker_url:
        try:
            return await asyncio.wait_for(asyncio.to_thread(_rabbit_depths, rt.settings.broker_url, names), 5)
        except Exception as exc:
            log.warning("queue depth unavailable", error=repr(exc))
            return dict.fromkeys(names)
    depths: dict[str, int | None] = {}
    for name in names:
        stub = rt.broker.queues.get(name) if isinstance(rt.broker, StubBroker) else None
        depths[name] = stub.qsize() if stub is not None else 0
    depths[rt.queues.executions] = queued
    return depths


async def _load(rt: Runtime) -> bytes:
    now = utcnow()
    async with rt.sessionmaker() as session:
        counts = dict((await session.execute(
            select(Execution.status, func.count()).group_by(Execution.status))).tuples().all())
        leases = (await session.execute(
            select(Execution.lease_owner, func.min(Execution.lease_expires_at))
            .where(Execution.lease_owner.is_not(None), Execution.lease_expires_at.is_not(None))
            .group_by(Execution.lease_owner))).tuples().all()
        started = (await session.execute(
            select(Execution.enqueued_at, Execution.started_at)
            .where(Execution.started_at >= now - LATENCY_WINDOW, Execution.enqueued_at.is_not(None))
            .order_by(Execution.started_at.desc()).limit(LATENCY_SAMPLES))).tuples().all()
    lease_s = rt.settings.lease_seconds
    snapshot = Snapshot(
        executions={status: int(counts.get(status, 0)) for status in EXECUTION_STATUSES},
        lease_age_s={
            str(owner): max(0.0, (now - (ensure_utc(expires) - timedelta(seconds=lease_s))).total_seconds())
            for owner, expires in leases if owner and expires
        },
        queue_latency_ms=sorted(
            max(0.0, (ensure_utc(s) - ensure_utc(e)).total_seconds() * 1000) for e, s in started if e and s),
        queue_depth=await _queue_depths(rt, int(counts.get("queued", 0))),
    )
    return msgspec.json.encode(snapshot)


async def snapshot(rt: Runtime) -> Snapshot:
    async def load() -> bytes:
        return await _load(rt)

    raw = await ansflow_cache(rt.cache).cached("monitoring", key(rt.settings, "monitoring-snapshot"), load,
                                               ttl=SNAPSHOT_TTL_S, lock=True)
    return msgspec.json.decode(raw, type=Snapshot)
