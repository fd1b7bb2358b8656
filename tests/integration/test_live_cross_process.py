"""Across processes: two granian workers and a separate dramatiq worker on Redis and RabbitMQ."""

from __future__ import annotations

import asyncio
import secrets

import msgspec
import pytest

from tests.support.backends import BackendSet
from tests.support.live import Follower, project_and_pipeline, start_run, stored_seqs, wait_final, ws_url
from tests.support.redis_server import private_redis
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


@pytest.mark.real_services
async def test_followers_survive_a_redis_restart_without_losing_a_line(backends: BackendSet) -> None:
    """Redis dies mid-run and comes back on the same port: the build goes on (publishing is best
    effort), the web process re-subscribes, and followers refill what they missed from storage."""
    if backends.name != "real":
        pytest.skip("embedded mode has no Redis")
    with private_redis() as redis_server:
        settings = msgspec.structs.replace(backends.settings, redis_url=redis_server.url,
                                           key_prefix=f"{backends.settings.key_prefix}x{secrets.token_hex(3)}")
        with WorkerProcess(settings, threads=2), LiveServer(settings) as server:
            token = admin_token(server)
            async with live_client(server, token) as client:
                _, pipeline = await project_and_pipeline(
                    client, "steps:\n  - name: drip\n    run: for i in $(seq 1 80); do echo line $i; sleep 0.1; done\n"
                )
                execution = await start_run(client, pipeline)
                url = ws_url(server.url, f"/ws/executions/{execution}")
                followers = asyncio.gather(*(Follower().follow(url, token, timeout=90) for _ in range(3)))
                await asyncio.sleep(2.0)
                redis_server.kill()
                await asyncio.sleep(1.5)
                redis_server.start()
                done = await followers
                detail = await wait_final(client, execution)
                total = len(await stored_seqs(client, execution))
        assert detail["status"] == "success"
        for follower in done:
            assert follower.log_seqs == list(range(1, total + 1))
            # lines published while Redis was down are gone; a later *live* line revealed the gap
            assert any(m["type"] == "lagged" for m in follower.messages), "no live events after the restart"
            assert follower.messages[-1]["type"] == "execution.status" and follower.messages[-1]["status"] == "success"
            assert follower.close_code == 1000
