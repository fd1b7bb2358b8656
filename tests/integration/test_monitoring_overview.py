"""``GET /api/v1/monitoring/overview``: exactly CONTRACT §2's shape, and its numbers move with traffic."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from app.domain.monitoring.overview import Overview, overview
from app.domain.runtime import Runtime
from tests.support.client import ApiClient
from tests.support.flows import make_pipeline, make_project, run, wait_for

SHAPE = {
    "latency_ms": {"p50", "p95", "p99"},
    "cache": {"hit_ratio", "hits", "misses"},
    "db": {"connections_in_use", "pool_size"},
    "executions": {"running", "queued"},
    "websockets": {"connections"},
    "system": {"cpu_percent", "memory_bytes"},
    "targets": {"api_ms", "db_connections", "cache_hit_ratio", "queue_latency_ms"},
}
SLOW = "concurrency: 1\nsteps:\n  - name: wait\n    run: sleep 60\n"


async def get_overview(client: ApiClient) -> dict[str, Any]:
    response = await client.get("/api/v1/monitoring/overview")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_overview_has_the_contract_shape_and_targets(api: ApiClient) -> None:
    assert (await api.get("/api/v1/monitoring/overview")).status_code == 401
    user, _ = await api.new_user(await api.admin())
    body = await get_overview(user)
    assert set(body) == {*SHAPE, "queues"}
    for name, fields in SHAPE.items():
        assert set(body[name]) == fields, name
    assert body["targets"] == {"api_ms": 100, "db_connections": 50, "cache_hit_ratio": 0.8, "queue_latency_ms": 5000}
    assert body["queues"] and all(set(q) == {"name", "depth", "latency_ms"} for q in body["queues"])
    assert all(set(q["latency_ms"]) == {"p50", "p99"} for q in body["queues"])
    assert body["db"]["pool_size"] > 0 and body["system"]["memory_bytes"] > 0


async def test_overview_numbers_move_with_traffic(api: ApiClient) -> None:
    admin = await api.admin()
    before = await get_overview(admin)
    pipeline = await make_pipeline(admin, await make_project(admin), "steps:\n  - name: a\n    run: echo hi\n")
    for _ in range(10):
        assert (await admin.get(f"/api/v1/pipelines/{pipeline}/status")).status_code == 200
    after = await get_overview(admin)
    assert after["cache"]["hits"] >= before["cache"]["hits"] + 9
    assert after["cache"]["misses"] > before["cache"]["misses"]
    assert 0 < after["cache"]["hit_ratio"] <= 1
    latency = after["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]


async def test_overview_counts_running_and_queued_executions(api: ApiClient) -> None:
    admin = await api.admin()
    pipeline = await make_pipeline(admin, await make_project(admin), SLOW)
    first, second = (await run(admin, pipeline))["id"], (await run(admin, pipeline))["id"]
    try:
        deadline, seen = time.monotonic() + 30, await get_overview(admin)
        while not (seen["executions"]["running"] >= 1 and seen["executions"]["queued"] >= 1):
            assert time.monotonic() < deadline, seen["executions"]
            await asyncio.sleep(0.2)
            seen = await get_overview(admin)
        executions_queue = [q for q in seen["queues"] if q["name"].endswith(".executions")]
        assert executions_queue and executions_queue[0]["latency_ms"]["p50"] is not None  # the first one started
    finally:
        for execution in (second, first):
            await admin.post(f"/api/v1/executions/{execution}/cancel")
        for execution in (first, second):
            await wait_for(admin, execution)


async def test_overview_function_for_the_monitor_socket(api: ApiClient) -> None:
    async def compute(rt: Runtime) -> Overview:
        return await overview(rt)

    rt: Runtime = api.app.state.runtime
    result = api.client.blocking_portal.call(compute, rt)
    assert isinstance(result, Overview)
    assert result.targets.api_ms == 100
