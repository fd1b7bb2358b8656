"""Counter increments and histogram observations gathered in memory and written in batches.

Why: with ``PROMETHEUS_MULTIPROC_DIR`` set, every ``inc()``/``observe()`` is a locked write into
an mmap file (about 3 us each); a cached API read made six of them (request count, latency sum
and bucket, three cache hits), a third of its cost. Here the hot paths add to a dictionary under
one lock and a timer writes the totals at most ``FLUSH_S`` later, or sooner when this process is
scraped (``flush()`` is called by every reader in ``metrics.py``), so what a scrape of this
process shows is exact and other processes' figures lag by at most ``FLUSH_S``.

A histogram's pending observations are kept per bucket, as prometheus-client keeps them, and
written through the child's own bucket and sum values (``tests/unit/test_metrics_batch.py``
checks the result equals plain ``observe()`` calls, so a library change cannot go unnoticed).
"""

from __future__ import annotations

import bisect
import os
import threading
from typing import Any

FLUSH_S = 1.0


class _Observed:
    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: list[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.total = 0.0


class MetricBatch:
    """One per process; thread-safe (web loop and embedded worker threads record into it)."""

    def __init__(self, flush_s: float = FLUSH_S) -> None:
        self.flush_s = flush_s
        self._lock = threading.Lock()
        self._counts: dict[Any, float] = {}
        self._observed: dict[Any, _Observed] = {}
        self._timer: threading.Timer | None = None
        os.register_at_fork(after_in_child=self._forget_timer)

    def inc(self, child: Any, amount: float = 1.0) -> None:
        """``child.inc(amount)``, written at the next flush."""
        with self._lock:
            self._counts[child] = self._counts.get(child, 0.0) + amount
            if self._timer is None:
                self._start_timer()

    def inc_each(self, children: list[Any]) -> None:
        """``child.inc()`` for each of ``children`` (a child listed twice counts twice)."""
        with self._lock:
            counts = self._counts
            for child in children:
                counts[child] = counts.get(child, 0.0) + 1.0
            if self._timer is None:
                self._start_timer()

    def observe(self, child: Any, amount: float, counter: Any = None) -> None:
        """``child.observe(amount)`` for a histogram child (and ``counter.inc()``), written at the next flush."""
        with self._lock:
            if counter is not None:
                self._counts[counter] = self._counts.get(counter, 0.0) + 1.0
            observed = self._observed.get(child)
            if observed is None:
                observed = self._observed[child] = _Observed(list(child._upper_bounds))
            observed.total += amount
            index = bisect.bisect_left(observed.bounds, amount)  # first bound >= amount, like observe()
            if index < len(observed.counts):
                observed.counts[index] += 1
            if self._timer is None:
                self._start_timer()

    def flush(self) -> None:
        """Write everything pending into the metric values (what scrapes read)."""
        with self._lock:
            counts, observed = self._counts, self._observed
            self._counts, self._observed = {}, {}
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        for child, amount in counts.items():
            child.inc(amount)
        for child, pending in observed.items():
            child._sum.inc(pending.total)
            for value, n in zip(child._buckets, pending.counts, strict=True):
                if n:
                    value.inc(n)

    def _start_timer(self) -> None:
        timer = threading.Timer(self.flush_s, self.flush)
        timer.daemon = True
        timer.start()
        self._timer = timer

    def _forget_timer(self) -> None:
        """A forked child has no timer thread (and must not write the parent's pending counts)."""
        self._lock = threading.Lock()
        self._counts, self._observed, self._timer = {}, {}, None


BATCH = MetricBatch()
