"""(h) Cache hit ratio and database connections under 500 concurrent clients on a read-heavy mix.

The hit ratio comes from the app's own Prometheus counters (``/metrics``: deltas over the load);
connections in use from its pool gauge, and on PostgreSQL also from ``pg_stat_activity`` (what the
database itself sees). Throughput and p99 of the mix are set against the bare app at the same 500 clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

import httpx

from bench.common import TRUE_PIPELINE
from bench.core import Row, median, skipped
from bench.load import http_load
from bench.stack import Stack, _pg

NAME = "cache_db"
DESCRIPTION = "read-heavy mix at 500 connections: cache hit ratio (/metrics), DB connections in use, p99"
CONNECTIONS = 500


def read_metrics(base_url: str) -> dict[str, float] | None:
    """Sum of every sample per metric name (labels folded), or None when /metrics is absent."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        r = httpx.get(base_url + "/metrics", timeout=10)
    except httpx.HTTPError:
        return None
    if r.status_code != 200:
        return None
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            sums[sample.name] = sums.get(sample.name, 0.0) + float(sample.value)
            if "role" in sample.labels:  # pool gauges: also per process role (web / worker)
                name = f"{sample.name}:{sample.labels['role']}"
                sums[name] = sums.get(name, 0.0) + float(sample.value)
    return sums


def cache_counts(metrics: dict[str, float]) -> tuple[float, float]:
    return metrics.get("ansflow_cache_hits_total", 0.0), metrics.get("ansflow_cache_misses_total", 0.0)


class ConnectionSampler:
    """Polls the pool gauge (/metrics) and, on PostgreSQL, pg_stat_activity, every 0.5 s."""

    def __init__(self, base_url: str, pg_database: str | None) -> None:
        self.base_url = base_url
        self.pg_database = pg_database
        self.gauge: list[float] = []
        self.web_gauge: list[float] = []
        self.pg: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                m = read_metrics(self.base_url)
                if m is not None and "ansflow_db_pool_connections_in_use" in m:
                    self.gauge.append(m["ansflow_db_pool_connections_in_use"])
                    self.web_gauge.append(m.get("ansflow_db_pool_connections_in_use:web", 0.0))
            if self.pg_database:
                with contextlib.suppress(Exception):
                    rows = asyncio.run(_pg("SELECT count(*) AS n FROM pg_stat_activity "
                                           f"WHERE datname = '{self.pg_database}'"))
                    self.pg.append(float(rows[0]["n"]))
            self._stop.wait(0.5)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def workload(stack: Stack) -> list[str]:
    """The mix: mostly cached reads (status, lists, settings), some uncached ones; only paths that answer 200."""
    project = stack.project()
    pipelines = [stack.pipeline(f"mix{i}", TRUE_PIPELINE) for i in range(4)]
    execution = None
    for p in pipelines:
        execution = stack.wait(stack.run(p)["id"])["id"]
    candidates = [f"/api/v1/pipelines/{p}/status" for p in pipelines] * 3 + [
        "/api/v1/projects", f"/api/v1/projects/{project}/pipelines", f"/api/v1/pipelines/{pipelines[0]}",
        "/api/v1/settings/system", "/api/v1/settings/api-endpoints", "/api/v1/executions?limit=20",
        f"/api/v1/executions/{execution}",
    ]
    client = stack.client()
    return [path for path in candidates if client.get(path).status_code == 200]


def run(stack: Stack) -> list[Row]:
    app, bare = stack.app(), stack.bare()
    paths = workload(stack)
    seconds = stack.load_seconds
    metrics_note = "/metrics absent" if read_metrics(app.base_url) is None else ""
    ratios, gauge_max, web_max, pg_max, pg_med, rps, p99, base_rps, base_p99 = [], [], [], [], [], [], [], [], []
    errors = 0
    runs: list[dict[str, Any]] = []
    http_load(app.base_url, paths[0], headers=stack.auth, connections=64, duration=1, paths=paths)  # warm the caches
    for _ in range(stack.repeat):
        before = read_metrics(app.base_url)
        with ConnectionSampler(app.base_url, stack.pg_database) as sampler:
            res = http_load(app.base_url, paths[0], headers=stack.auth, connections=CONNECTIONS, duration=seconds,
                            threads=2, paths=paths)
        after = read_metrics(app.base_url)
        errors += res.errors + res.non2xx
        rps.append(res.rps)
        p99.append(res.p(99) or 0)
        if before is not None and after is not None:
            h0, m0 = cache_counts(before)
            h1, m1 = cache_counts(after)
            if (h1 - h0) + (m1 - m0) > 0:
                ratios.append((h1 - h0) / ((h1 - h0) + (m1 - m0)))
        if sampler.gauge:
            gauge_max.append(max(sampler.gauge))
            web_max.append(max(sampler.web_gauge))
        if sampler.pg:
            pg_max.append(max(sampler.pg))
            pg_med.append(median(sampler.pg) or 0)
        runs.append({"load": res.to_json(), "gauge": sampler.gauge, "web_gauge": sampler.web_gauge, "pg": sampler.pg})
        time.sleep(1.0)
        b = http_load(bare.base_url, "/json", connections=CONNECTIONS, duration=seconds, threads=2)
        base_rps.append(b.rps)
        base_p99.append(b.p(99) or 0)
    mix = f"{len(paths)} paths ({sum('/status' in p for p in paths)} status reads); {CONNECTIONS} conns, {seconds:.0f}s"
    rows = [
        Row(NAME, "mix throughput @500", "req/s", rps, "bare Litestar /json @500", base_rps, True,
            note=mix + (f"; {errors} errors/non-2xx" if errors else ""), extra={"runs": runs, "paths": paths}),
        Row(NAME, "mix p99 @500", "ms", p99, "bare Litestar /json @500", base_p99, False),
    ]
    if ratios:
        rows.append(Row(NAME, "cache hit ratio", "", ratios, "seed target (> 0.8)", [0.8] * len(ratios), True,
                        note="delta of ansflow_cache_hits/misses over the load; issue 5 goal >= 0.95"))
    else:
        rows.append(skipped(NAME, f"skipped: no cache counters ({metrics_note or 'no hits/misses moved'})",
                            "cache hit ratio"))
    if gauge_max:
        rows.append(Row(NAME, "DB connections in use by the web process (max)", "", web_max, "issue 5 goal (<= 20)",
                        [20.0] * len(web_max), False,
                        note='ansflow_db_pool_connections_in_use{role="web"} sampled every 0.5 s'))
        rows.append(Row(NAME, "DB connections in use, all processes (max)", "", gauge_max, "seed target (< 50)",
                        [50.0] * len(gauge_max), False, note="pool gauges of web + dramatiq workers"))
    else:
        rows.append(skipped(NAME, f"skipped: no pool gauge ({metrics_note or 'not exported'})", "DB connections"))
    if pg_max:
        rows.append(Row(NAME, "DB connections (max, pg_stat_activity)", "", pg_max, "seed target (< 50)",
                        [50.0] * len(pg_max), False, note="all backends on the bench database (web + workers)"))
    elif not stack.real:
        rows.append(skipped(NAME, "embedded SQLite: no server-side connection count (use --real)",
                            "DB connections (pg_stat_activity)"))
    return rows
