"""Across processes: two granian workers and a separate dramatiq worker on Redis and RabbitMQ."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.backends import BackendSet
from tests.support.live import Follower, project_and_pipeline, start_run, stored_seqs, wait_final, ws_url
from tests.support.server import LiveServer, admin_token, live_client
from tests.support.workers import WorkerProcess


@pytest.mark.real_services
async def test_every_client_on_any_web_process_gets_every_event(
    backends: BackendSet, worker_process: WorkerProcess | None
) -> None:
    if backends.name != "real":
        pytest.skip("several web processes need Redis, RabbitMQ and PostgreSQL")
    with LiveServer(backends.settings, workers=2) as server:
        token = admin_token(server)
        async with live_client(server, token) as client:
            _, pipeline = await project_and_pipeline(
                client, "steps:\n  - name: a\n    run: for i in $(seq 1 20); do seq 1 200; sleep 0.1; done\n"
            )
            execution = await start_run(client, pipeline)
            url = ws_url(server.url, f"/ws/executions/{execution}")
            followers = await asyncio.gather(*(Follower().follow(url, token) for _ in range(8)))
            await wait_final(client, execution)
            total = len(await stored_seqs(client, execution))
        for follower in followers:
            assert follower.log_seqs == list(range(1, total + 1))
            assert follower.messages[-1]["status"] == "success"
            assert any(m["type"] == "step.status" for m in follower.messages)
