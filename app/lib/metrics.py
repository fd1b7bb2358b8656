"""Prometheus metric families shared by web workers and Dramatiq workers, and the /metrics renderer.

Why one module: every process (each granian worker, each dramatiq process) records into the
same families, so their names, labels and buckets are defined exactly once.

Multiprocess. prometheus-client chooses where samples live when it is first imported: with
``PROMETHEUS_MULTIPROC_DIR`` set, each process writes its samples into mmap files in that
directory and ``/metrics`` merges them with ``MultiProcessCollector``. ``just serve`` (and
``just worker``) therefore export the variable *before* Python starts, and ``serve`` empties the
directory first so a previous run's counters do not leak in::

    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-var/prometheus}"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    granian --interface asgi --factory app.web.asgi:create_app --workers "$ANSFLOW_WEB_WORKERS"

Gauges use ``livesum``/``livemax`` so only live processes count; granian renames and restarts
its workers without telling us, so each scrape prunes the files of processes that have exited.
Without the variable (embedded mode, tests) the default in-process registry is used.
"""

from __future__ import annotations

import os
import re
import weakref
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.lib.metrics_batch import BATCH

HTTP_REQUESTS = Counter("ansflow_http_requests", "HTTP requests by route template and status",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "ansflow_http_request_duration_seconds", "HTTP request latency by route template", ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CACHE_HITS = Counter("ansflow_cache_hits", "cached reads answered from the cache", ["cache"])
CACHE_MISSES = Counter("ansflow_cache_misses", "cached reads that went to the database", ["cache"])
CACHE_MEMORY_HITS = Counter("ansflow_cache_memory_tier_hits", "reads answered by the in-process tier")
CACHE_ERRORS = Counter("ansflow_cache_backend_errors", "Redis calls that failed", ["operation"])
EVENTS_DROPPED = Counter("ansflow_live_events_dropped", "live events not published because Redis was unavailable")
CACHE_BYPASSED = Counter("ansflow_cache_bypassed", "cache calls skipped because Redis was unavailable")
CACHE_BACKEND_UP = Gauge("ansflow_cache_backend_up", "1 when the shared cache answers, 0 while bypassed",
                         multiprocess_mode="livemin")
DB_POOL_IN_USE = Gauge("ansflow_db_pool_connections_in_use", "database connections checked out, by process role",
                       ["role"], multiprocess_mode="livesum")
DB_POOL_OVERFLOW = Gauge("ansflow_db_pool_overflow", "connections opened beyond the pool size, by process role",
                         ["role"], multiprocess_mode="livesum")
DB_POOL_SIZE = Gauge("ansflow_db_pool_size", "configured pool size, by process role", ["role"],
                     multiprocess_mode="livesum")
QUEUE_LATENCY = Histogram(
    "ansflow_queue_latency_seconds", "enqueue to start of an execution, per queue", ["queue"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)
STEP_DURATION = Histogram(
    "ansflow_step_duration_seconds", "duration of finished steps", ["kind", "status"],
    buckets=(0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0),
)
WEBSOCKET_CONNECTIONS = Gauge("ansflow_websocket_connections", "open WebSocket connections",
                              multiprocess_mode="livesum")

_POOLS: weakref.WeakSet[Any] = weakref.WeakSet()
_ROLE = ["web"]  # "worker" in dramatiq processes: pool gauges say which side holds the connections
_GAUGE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db$")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def set_process_role(role: str) -> None:
    """Label this process's pool gauges (``web``, the default, or ``worker``)."""
    _ROLE[0] = role
    if _POOLS:
        _pool_changed()


def _pool_changed(*_: Any) -> None:
    in_use = overflow = size = 0
    for pool in list(_POOLS):
        in_use += int(pool.checkedout())
        overflow += max(int(pool.overflow()), 0)
        size += int(pool.size())
    role = _ROLE[0]
    DB_POOL_IN_USE.labels(role).set(in_use)
    DB_POOL_OVERFLOW.labels(role).set(overflow)
    DB_POOL_SIZE.labels(role).set(size)


def instrument_engine(engine: AsyncEngine) -> None:
    """Track the engine's pool through checkout/checkin events (idempotent, cheap per checkout).

    Pools without a size (NullPool, StaticPool) are skipped: they have no "in use" to report.
    """
    pool = engine.sync_engine.pool
    if pool in _POOLS or not all(hasattr(pool, n) for n in ("checkedout", "overflow", "size")):
        return
    _POOLS.add(pool)
    for name in ("checkout", "checkin"):
        event.listen(pool, name, partial(_pool_changed))
    _pool_changed()


def _prune_dead(directory: str) -> None:
    """Drop live-gauge files of exited processes (granian restarts workers under new pids)."""
    for path in Path(directory).glob("gauge_live*.db"):
        found = _GAUGE_FILE.search(path.name)
        if not found:
            continue
        pid = int(found.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:
            continue


class _Extra(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def scrape_registry() -> CollectorRegistry:
    """The registry /metrics reads: every process's files when multiprocess, else this process.

    This process's batched increments are written first, so its own figures are exact.
    """
    BATCH.flush()
    directory = multiprocess_dir()
    if not directory:
        return REGISTRY
    _prune_dead(directory)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def render(extra: Iterable[Metric] = ()) -> bytes:
    """The Prometheus text exposition, plus families computed at scrape time (DB, broker)."""
    registry = scrape_registry()
    families = list(extra)
    if not families:
        return generate_latest(registry)
    merged = CollectorRegistry(auto_describe=False)
    merged.register(_Extra(families))
    return generate_latest(registry) + generate_latest(merged)


def samples(name: str, registry: CollectorRegistry | None = None) -> list[tuple[dict[str, str], float]]:
    """All samples of one sample name (``ansflow_cache_hits_total``), merged across processes."""
    found: list[tuple[dict[str, str], float]] = []
    for family in (registry or scrape_registry()).collect():
        found.extend((dict(s.labels), s.value) for s in family.samples if s.name == name)
    return found


def totals(*names: str) -> dict[str, float]:
    """Sum of every sample of each name, in one pass over the (possibly multiprocess) registry."""
    wanted = dict.fromkeys(names, 0.0)
    for family in scrape_registry().collect():
        for sample in family.samples:
            if sample.name in wanted:
                wanted[sample.name] += sample.value
    return wanted
