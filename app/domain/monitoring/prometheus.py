"""Families computed when /metrics is scraped: they describe shared state, not one process.

Executions by status, worker lease age and queue depth come from the database and the broker
(through the short-lived cached snapshot), so every scrape of every process reports the same
deployment-wide numbers instead of N per-process copies that a multiprocess sum would inflate.
"""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from app.domain.monitoring.snapshot import snapshot
from app.domain.runtime import Runtime
from app.lib.metrics import instrument_engine


async def scrape_families(rt: Runtime) -> list[Metric]:
    instrument_engine(rt.engine)
    snap = await snapshot(rt)
    executions = GaugeMetricFamily("ansflow_executions", "executions by status", labels=["status"])
    for status, count in snap.executions.items():
        executions.add_metric([status], count)
    depth = GaugeMetricFamily("ansflow_queue_depth", "messages waiting per queue", labels=["queue"])
    for queue, value in snap.queue_depth.items():
        if value is not None:
            depth.add_metric([queue], value)
    lease = GaugeMetricFamily("ansflow_worker_lease_age_seconds",
                              "time since each worker last renewed its oldest lease", labels=["worker"])
    for worker, age in snap.lease_age_s.items():
        lease.add_metric([worker], age)
    return [executions, depth, lease]
