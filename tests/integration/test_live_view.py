"""Live view over a real granian server: replay seam, reconnects, close codes, monitor filtering, SSE."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.models.executions import Execution
from app.lib.clock import utcnow
from tests.support.backends import BackendSet
from tests.support.live import Follower, project_and_pipeline, start_run, stored_seqs, wait_final, ws_url
from tests.support.server import LiveServer, admin_token

BURSTS = """
steps:
  - name: firehose
    run: for i in $(seq 1 50); do seq $((i*1000-999)) $((i*1000)); sleep 0.05; done
"""


async def _wait_stored(client: httpx.AsyncClient, execution_id: str, at_least: int) -> None:
    for _ in range(600):
        page = (
            await client.get(f"/api/v1/executions/{execution_id}/logs", params={"after_seq": at_least - 1, "limit": 1})
        ).json()
        if page["lines"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("log lines did not arrive")


async def test_replay_seam_mid_run_is_exact(live: httpx.AsyncClient, live_server: LiveServer, live_token: str) -> None:
    _, pipeline = await project_and_pipeline(live, BURSTS)
    execution = await start_run(live, pipeline)
    await _wait_stored(live, execution, 10_000)
    follower = await Follower().follow(
        ws_url(live_server.url, f"/ws/executions/{execution}?after_seq=5000"), live_token
    )
    detail = await wait_final(live, execution)
    assert detail["status"] == "success"
    total = len(await stored_seqs(live, execution))
    assert total >= 50_000
    assert follower.messages[0]["type"] == "snapshot"
    assert follower.log_seqs == list(range(5001, total + 1))
    assert follower.messages[-1]["type"] == "execution.status" and follower.messages[-1]["status"] == "success"
    assert follower.close_code == 1000


DRIP = """
steps:
  - name: drip
    run: for i in $(seq 1 300); do echo "line $i"; sleep 0.01; done; sleep 3; echo done
"""


async def test_a_connect_storm_mid_run_gives_every_follower_exactly_its_lines(
    live: httpx.AsyncClient, live_server: LiveServer, live_token: str
) -> None:
    """Followers that join together share one snapshot and one replay read (hub.py, follow.py). A
    joiner that reuses a read started before it joined must read what was stored in between itself:
    every follower gets exactly its lines, and none needs a "lagged" refill (nothing overflowed)."""
    _, pipeline = await project_and_pipeline(live, DRIP)
    execution = await start_run(live, pipeline)
    await _wait_stored(live, execution, 20)
    afters = [0, 10] * 12

    async def one(after: int, delay: float) -> Follower:
        await asyncio.sleep(delay)
        url = ws_url(live_server.url, f"/ws/executions/{execution}?after_seq={after}")
        return await Follower().follow(url, live_token)

    followers = await asyncio.gather(*(one(after, i * 0.04) for i, after in enumerate(afters)))
    total = len(await stored_seqs(live, execution))
    assert total >= 301
    for after, follower in zip(afters, followers, strict=True):
        assert follower.messages[0]["type"] == "snapshot"
        assert follower.log_seqs == list(range(after + 1, total + 1)), f"after_seq={after}"
        assert not [m for m in follower.messages if m["type"] == "lagged"]
        assert follower.messages[-1]["type"] == "execution.status" and follower.close_code == 1000


async def test_reconnect_with_last_seq_loses_nothing(
    live: httpx.AsyncClient, live_server: LiveServer, live_token: str
) -> None:
    _, pipeline = await project_and_pipeline(live, BURSTS)
    execution = await start_run(live, pipeline)
    first = await Follower().follow(
        ws_url(live_server.url, f"/ws/executions/{execution}"), live_token, stop_after_logs=3000
    )
    last = first.log_seqs[-1]
    second = await Follower().follow(
        ws_url(live_server.url, f"/ws/executions/{execution}?after_seq={last}"), live_token
    )
    total = len(await stored_seqs(live, execution))
    assert first.log_seqs + second.log_seqs == list(range(1, total + 1))


async def test_close_codes(live: httpx.AsyncClient, live_server: LiveServer, live_token: str) -> None:
    _, pipeline = await project_and_pipeline(live, "steps:\n  - name: a\n    run: echo hi\n")
    execution = await start_run(live, pipeline)
    anonymous = await Follower().follow(ws_url(live_server.url, f"/ws/executions/{execution}"))
    assert anonymous.close_code == 4401
    unknown = await Follower().follow(
        ws_url(live_server.url, "/ws/executions/00000000-0000-0000-0000-000000000000"), live_token
    )
    assert unknown.close_code == 4404
    name = f"outsider-{execution[:8]}"
    created = await live.post("/api/v1/users", json={"username": name, "password": "password-123"})
    assert created.status_code == 201
    outsider = _token_for(live_server, name, "password-123")
    hidden = await Follower().follow(ws_url(live_server.url, f"/ws/executions/{execution}"), outsider)
    assert hidden.close_code == 4404
    cookies, _csrf = _login_cookies(live_server, name, "password-123")
    foreign = await Follower().follow(
        ws_url(live_server.url, "/ws/monitor"), headers={"Cookie": cookies, "Origin": "http://evil.example"}
    )
    assert foreign.close_code == 4403


def _login_cookies(server: LiveServer, username: str, password: str) -> tuple[str, str]:
    with httpx.Client(base_url=server.url) as client:
        login = client.post("/api/v1/auth/login", json={"username": username, "password": password})
        login.raise_for_status()
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items()), str(login.json()["csrf_token"])


def _token_for(server: LiveServer, username: str, password: str) -> str:
    cookies, csrf = _login_cookies(server, username, password)
    response = httpx.post(
        server.url + "/api/v1/auth/tokens", json={"name": "t"}, headers={"Cookie": cookies, "X-CSRF-Token": csrf}
    )
    response.raise_for_status()
    return str(response.json()["token"])


async def test_monitor_of_non_member_sees_nothing_of_the_project(
    live: httpx.AsyncClient, live_server: LiveServer, live_token: str
) -> None:
    name = "watcher-" + live_token[-6:].lower().replace("_", "x").replace("-", "x")
    await live.post("/api/v1/users", json={"username": name, "password": "password-123"})
    watcher_token = _token_for(live_server, name, "password-123")
    _, pipeline = await project_and_pipeline(live, "steps:\n  - name: a\n    run: [sleep 1, echo hi]\n")

    async def watch(token: str) -> list[dict[str, object]]:
        seen: list[dict[str, object]] = []
        from websockets.asyncio.client import connect

        async with connect(
            ws_url(live_server.url, "/ws/monitor"), additional_headers={"Authorization": f"Bearer {token}"}
        ) as ws:
            try:
                async with asyncio.timeout(6):
                    async for raw in ws:
                        seen.append(json.loads(raw))
            except TimeoutError:
                pass
        return seen

    admin_watch = asyncio.create_task(watch(live_token))
    outsider_watch = asyncio.create_task(watch(watcher_token))
    await asyncio.sleep(0.5)
    execution = await start_run(live, pipeline)
    await wait_final(live, execution)
    admin_seen, outsider_seen = await admin_watch, await outsider_watch
    assert any(m.get("execution_id") == execution for m in admin_seen)
    assert not any(m.get("execution_id") == execution for m in outsider_seen)
    assert any(m["type"] == "metrics" for m in outsider_seen)


async def test_sse_resumes_from_last_event_id(live: httpx.AsyncClient) -> None:
    _, pipeline = await project_and_pipeline(live, "steps:\n  - name: a\n    run: seq 1 500\n")
    execution = await start_run(live, pipeline)
    await wait_final(live, execution)
    ids: list[int] = []
    async with live.stream(
        "GET", f"/api/v1/executions/{execution}/events", headers={"Last-Event-ID": "100"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "no-cache" in response.headers["cache-control"]
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                ids.append(int(line[3:].strip()))
    total = len(await stored_seqs(live, execution))
    assert ids == list(range(101, total + 1))


@pytest.mark.parametrize("clients", [3])
async def test_slow_consumer_does_not_stall_fast_ones(
    live: httpx.AsyncClient, live_server: LiveServer, live_token: str, clients: int
) -> None:
    from websockets.asyncio.client import connect

    _, pipeline = await project_and_pipeline(live, BURSTS)
    execution = await start_run(live, pipeline)
    url = ws_url(live_server.url, f"/ws/executions/{execution}")
    slow = await connect(
        url,
        additional_headers={"Authorization": f"Bearer {live_token}"},
        max_queue=1,
        max_size=2**16,
        ping_interval=None,
    )
    try:
        fast = await asyncio.gather(*(Follower().follow(url, live_token) for _ in range(clients)))
        total = len(await stored_seqs(live, execution))
        for follower in fast:
            assert follower.log_seqs == list(range(1, total + 1))
        assert admin_token  # the slow socket is still open and never read: others finished anyway
    finally:
        await slow.close()


async def test_removed_member_stops_receiving_within_one_heartbeat(
    live: httpx.AsyncClient, live_server: LiveServer
) -> None:
    from websockets.asyncio.client import connect

    name = "leaver-" + str(id(live))[-6:]
    user = (await live.post("/api/v1/users", json={"username": name, "password": "password-123"})).json()
    token = _token_for(live_server, name, "password-123")
    project, pipeline = await project_and_pipeline(live, "steps:\n  - name: a\n    run: echo hi\n")
    added = await live.put(f"/api/v1/projects/{project}/members/{user['id']}", json={"role": "reporter"})
    assert added.status_code == 200
    seen: list[dict[str, object]] = []
    async with connect(
        ws_url(live_server.url, "/ws/monitor"), additional_headers={"Authorization": f"Bearer {token}"}
    ) as ws:

        async def reader() -> None:
            async for raw in ws:
                seen.append(json.loads(raw))

        task = asyncio.create_task(reader())
        first = await start_run(live, pipeline)
        await wait_final(live, first)
        await asyncio.sleep(0.5)
        assert any(m.get("execution_id") == first for m in seen)
        removed = await live.delete(f"/api/v1/projects/{project}/members/{user['id']}")
        assert removed.status_code == 204
        beats = sum(1 for m in seen if m["type"] == "heartbeat")
        for _ in range(200):  # until the next heartbeat, when access is re-checked
            if sum(1 for m in seen if m["type"] == "heartbeat") > beats:
                break
            await asyncio.sleep(0.1)
        second = await start_run(live, pipeline)
        await wait_final(live, second)
        await asyncio.sleep(0.5)
        task.cancel()
    assert not any(m.get("execution_id") == second for m in seen)


async def test_a_follower_that_missed_the_final_event_ends_from_storage(
    live: httpx.AsyncClient, live_server: LiveServer, live_token: str, backends: BackendSet
) -> None:
    """The final status can be missed (published while Redis was away): at its next heartbeat the
    follower reads storage, sends the stored final status and closes 1000."""
    _, pipeline = await project_and_pipeline(live, "steps:\n  - name: long\n    run: sleep 25\n")
    execution = await start_run(live, pipeline)
    for _ in range(200):
        if (await live.get(f"/api/v1/executions/{execution}")).json()["status"] == "running":
            break
        await asyncio.sleep(0.05)
    follower = asyncio.create_task(
        Follower().follow(ws_url(live_server.url, f"/ws/executions/{execution}"), live_token, timeout=60)
    )
    await asyncio.sleep(1.0)
    engine = create_async_engine(backends.settings.database_url)
    try:
        async with engine.begin() as conn:  # behind the app's back: no event is published
            await conn.execute(update(Execution).where(Execution.id == uuid.UUID(execution))
                               .values(status="failed", finished_at=utcnow()))
    finally:
        await engine.dispose()
    done = await follower
    assert done.messages[0]["type"] == "snapshot" and done.messages[0]["execution"]["status"] == "running"
    assert any(m["type"] == "heartbeat" for m in done.messages)
    assert done.messages[-1]["type"] == "execution.status" and done.messages[-1]["status"] == "failed"
    assert done.close_code == 1000
