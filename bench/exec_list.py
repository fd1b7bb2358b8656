"""(b) Uncached ``GET /api/v1/executions`` (page of 20 over many executions) vs a bare page of 20 summaries."""

from __future__ import annotations

from bench.common import TRUE_PIPELINE, load_rows
from bench.core import Row
from bench.load import http_load
from bench.stack import Stack

NAME = "exec_list"
DESCRIPTION = "GET /executions?limit=20 (uncached, DB + auth) vs bare Litestar GET /list (wrk -t1 -c64)"
CONNECTIONS = 64


def seed_executions(stack: Stack, count: int) -> int:
    """Make sure at least ``count`` finished executions exist (runs of a one-step pipeline)."""
    have = int(stack.cache.get("seeded_executions", 0))
    if have >= count:
        return have
    pipeline = stack.pipeline("seed", TRUE_PIPELINE)
    ids = [stack.run(pipeline)["id"] for _ in range(count - have)]
    for execution_id in ids:
        stack.wait(execution_id, timeout=600)
    stack.cache["seeded_executions"] = count
    return count


def run(stack: Stack) -> list[Row]:
    app, bare = stack.app(), stack.bare()
    seeded = seed_executions(stack, 40 if stack.quick else 150)
    path = "/api/v1/executions?limit=20"
    stack.client().get(path).raise_for_status()
    seconds = stack.load_seconds
    http_load(app.base_url, path, headers=stack.auth, connections=CONNECTIONS, duration=1)
    http_load(bare.base_url, "/list", connections=CONNECTIONS, duration=1)
    app_runs, base_runs = [], []
    for _ in range(stack.repeat):
        app_runs.append(http_load(app.base_url, path, headers=stack.auth, connections=CONNECTIONS, duration=seconds))
        base_runs.append(http_load(bare.base_url, "/list", connections=CONNECTIONS, duration=seconds))
    return load_rows(NAME, app_runs, base_runs, "bare Litestar /list",
                     note=f"c={CONNECTIONS}, {seconds:.0f}s/run, >= {seeded} executions")
