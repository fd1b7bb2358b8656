"""Batched metric writes end up exactly where direct ``inc``/``observe`` calls would put them."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram

from app.lib.metrics_batch import MetricBatch

BOUNDS = (0.001, 0.01, 0.1, 1.0)
AMOUNTS = [0.0, 0.0005, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.5, 1.0, 3.0, 42.0]


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in registry.collect() for s in family.samples if not s.name.endswith("_created")}


def _families(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    counter = Counter("t_requests", "requests", ["route"], registry=registry)
    histogram = Histogram("t_latency_seconds", "latency", ["route"], buckets=BOUNDS, registry=registry)
    return counter, histogram


def test_batched_counts_and_observations_equal_direct_calls() -> None:
    direct, batched = CollectorRegistry(), CollectorRegistry()
    d_counter, d_hist = _families(direct)
    b_counter, b_hist = _families(batched)
    batch = MetricBatch(flush_s=60)
    for amount in AMOUNTS:
        for route in ("a", "b"):
            d_counter.labels(route).inc()
            d_hist.labels(route).observe(amount)
            batch.observe(b_hist.labels(route), amount, b_counter.labels(route))
    d_counter.labels("a").inc(2.5)
    batch.inc(b_counter.labels("a"), 2.5)
    assert _samples(batched) != _samples(direct)  # nothing is written before the flush
    batch.flush()
    assert _samples(batched) == _samples(direct)
    batch.flush()  # a second flush has nothing left to add
    assert _samples(batched) == _samples(direct)


def test_pending_counts_are_written_by_the_timer_without_a_scrape() -> None:
    registry = CollectorRegistry()
    counter = Counter("t_timer", "timer", registry=registry)
    batch = MetricBatch(flush_s=0.05)
    batch.inc(counter)
    batch.inc(counter)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _samples(registry).get(("t_timer_total", ())) != 2.0:
        time.sleep(0.01)
    assert _samples(registry)[("t_timer_total", ())] == 2.0
