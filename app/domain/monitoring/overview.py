"""The KPI overview (CONTRACT §2 ``GET /monitoring/overview``; also sent on /ws/monitor every 2 s).

The targets are the optimisation plan's promises; every current value is measured, not claimed:
- ``latency_ms``: p50/p95/p99 of all API requests in the last ``WINDOW_MIN`` minutes, merged
  across processes (see requests.py);
- ``cache``: hits and misses of every cached read since start, across processes (Prometheus
  counters, merged from the multiprocess directory when there is one);
- ``db``: connections checked out of the pools and their configured sizes;
- ``queues``: depth from the broker and enqueue -> start latency of recently started executions;
- ``executions``, ``websockets``: current counts; ``system``: this machine's CPU and memory.
"""

from __future__ import annotations

import msgspec
import psutil

from app.domain.monitoring.requests import REQUEST_STATS, WINDOW_MIN
from app.domain.monitoring.snapshot import quantile, snapshot
from app.domain.runtime import Runtime
from app.lib import metrics


class Latency(msgspec.Struct):
    p50: float
    p95: float
    p99: float


class CacheKpi(msgspec.Struct):
    hit_ratio: float
    hits: int
    misses: int


class DbKpi(msgspec.Struct):
    connections_in_use: int
    pool_size: int


class QueueLatency(msgspec.Struct):
    p50: float | None
    p99: float | None


class QueueKpi(msgspec.Struct):
    name: str
    depth: int | None
    latency_ms: QueueLatency


class ExecutionsKpi(msgspec.Struct):
    running: int
    queued: int


class WebsocketsKpi(msgspec.Struct):
    connections: int


class SystemKpi(msgspec.Struct):
    cpu_percent: float
    memory_bytes: int


class Targets(msgspec.Struct):
    api_ms: int = 100
    db_connections: int = 50
    cache_hit_ratio: float = 0.8
    queue_latency_ms: int = 5000


class Overview(msgspec.Struct):
    latency_ms: Latency
    cache: CacheKpi
    db: DbKpi
    queues: list[QueueKpi]
    executions: ExecutionsKpi
    websockets: WebsocketsKpi
    system: SystemKpi
    targets: Targets = msgspec.field(default_factory=Targets)


async def overview(rt: Runtime) -> Overview:
    metrics.instrument_engine(rt.engine)
    recent = await REQUEST_STATS.recent(rt, WINDOW_MIN)
    snap = await snapshot(rt)
    sums = metrics.totals("ansflow_cache_hits_total", "ansflow_cache_misses_total", "ansflow_db_pool_size",
                          "ansflow_db_pool_connections_in_use", "ansflow_websocket_connections")
    hits, misses = int(sums["ansflow_cache_hits_total"]), int(sums["ansflow_cache_misses_total"])
    latencies = snap.queue_latency_ms
    queues = [
        QueueKpi(name=name, depth=depth,
                 latency_ms=QueueLatency(p50=quantile(latencies, 0.5), p99=quantile(latencies, 0.99))
                 if name == rt.queues.executions else QueueLatency(p50=None, p99=None))
        for name, depth in snap.queue_depth.items()
    ]
    return Overview(
        latency_ms=Latency(p50=recent.percentile(0.5), p95=recent.percentile(0.95), p99=recent.percentile(0.99)),
        cache=CacheKpi(hit_ratio=round(hits / (hits + misses), 4) if hits + misses else 0.0, hits=hits, misses=misses),
        db=DbKpi(connections_in_use=int(sums["ansflow_db_pool_connections_in_use"]),
                 pool_size=int(sums["ansflow_db_pool_size"])),
        queues=queues,
        executions=ExecutionsKpi(running=snap.executions.get("running", 0), queued=snap.executions.get("queued", 0)),
        websockets=WebsocketsKpi(connections=int(sums["ansflow_websocket_connections"])),
        system=SystemKpi(cpu_percent=float(psutil.cpu_percent(interval=None)),
                         memory_bytes=int(psutil.virtual_memory().used)),
    )
