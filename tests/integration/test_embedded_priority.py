"""Embedded mode honours run priorities like RabbitMQ: a high-priority run queued behind busy workers
starts before the runs already waiting (the in-process broker's queues are priority queues and the
in-process worker prefetches no more than it can run)."""

from __future__ import annotations

import msgspec
import pytest

from tests.support.backends import BackendSet
from tests.support.client import running_app
from tests.support.flows import make_pipeline, make_project, run, wait_for

SLOW = 'steps:\n  - name: s\n    run: "sleep 0.3"\n'


async def test_a_high_priority_run_overtakes_waiting_runs(backends: BackendSet) -> None:
    if not backends.settings.embedded_broker:
        pytest.skip("worker processes of the real run have their own threads and prefetch (see the queue bench)")
    settings = msgspec.structs.replace(backends.settings, worker_threads=1)
    async with running_app(settings) as api:
        admin = await api.admin()
        pipeline = await make_pipeline(admin, await make_project(admin), SLOW)
        waiting = [(await run(admin, pipeline, priority="low"))["id"] for _ in range(4)]
        high = (await run(admin, pipeline, priority="high"))["id"]
        started = {e: (await wait_for(admin, e))["started_at"] for e in [*waiting, high]}
        order = sorted(started, key=lambda e: str(started[e]))
        assert order.index(high) <= 1, f"the high-priority run started at position {order.index(high) + 1} of 5"
