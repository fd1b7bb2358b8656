"""``max_concurrent_executions_per_worker`` (system settings) caps how many runs a worker process
runs at once; runs beyond it wait in the queue and all still finish."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

from tests.support.client import ApiClient
from tests.support.flows import make_pipeline, make_project, run, wait_for

SLOW = 'steps:\n  - name: s\n    run: "sleep 0.4"\n'


async def test_a_worker_runs_no_more_executions_at_once_than_the_setting_allows(api: ApiClient) -> None:
    admin = await api.admin()
    current = (await admin.get("/api/v1/settings/system")).json()
    limited = await admin.put("/api/v1/settings/system", json={**current, "max_concurrent_executions_per_worker": 1})
    assert limited.status_code == 200, limited.text
    try:
        project = await make_project(admin)
        pipelines = [await make_pipeline(admin, project, SLOW) for _ in range(3)]  # no per-pipeline limit in play
        started = [(await run(admin, p))["id"] for p in pipelines]
        finished = [await wait_for(admin, e) for e in started]
    finally:
        await admin.put("/api/v1/settings/system", json=current)
    assert [f["status"] for f in finished] == ["success"] * 3
    spans = sorted((datetime.fromisoformat(f["started_at"]), datetime.fromisoformat(f["finished_at"]))
                   for f in finished)
    for (_, end), (begin, _) in pairwise(spans):
        assert begin >= end, f"two runs overlapped on one worker: {spans}"
