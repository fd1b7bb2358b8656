"""The two-tier cache across processes, and with Redis going away.

1. Two granian app processes on real Redis: process B serves a member's role from its memory tier
   (proved by changing the role behind the app's back, in PostgreSQL and Redis, without any
   invalidation: B keeps answering from memory), then a membership write through process A
   evicts B's copy and B refuses the demoted member.
2. A private redis-server (never the shared one) is killed mid-test: cached reads keep succeeding
   from the database, writes still invalidate, the outage is counted, and caching resumes by itself
   once Redis is back.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlparse

import httpx
import msgspec
import pytest
import redis

from app.domain.accounts.principal import Principal
from app.domain.pipelines.service import list_pipelines
from app.domain.pipelines.status import pipeline_status
from app.domain.projects.access import member_role
from app.domain.projects.members import put_member
from app.domain.runtime import Runtime
from app.domain.settings.service import current_settings, update_settings
from app.lib import metrics
from tests.support.backends import BackendSet
from tests.support.client import ApiClient, running_app
from tests.support.flows import make_pipeline, make_project
from tests.support.redis_server import private_redis
from tests.support.server import LiveServer, admin_token, live_client
from tests.support.workers import WorkerProcess

ECHO = "steps:\n  - name: a\n    run: echo hi\n"
T = TypeVar("T")


def memory_hits(text: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        if family.name == "ansflow_cache_memory_tier_hits":
            return sum(s.value for s in family.samples if s.name.endswith("_total"))
    return 0.0


async def set_role_behind_the_apps_back(backends: BackendSet, project: str, user: str, role: str) -> None:
    import asyncpg

    url = urlparse(backends.settings.database_url.replace("+asyncpg", ""))
    conn = await asyncpg.connect(host=url.hostname, port=url.port or 5432, user=url.username or "postgres",
                                 database=url.path.lstrip("/"))
    try:
        await conn.execute("UPDATE project_members SET role = $1 WHERE project_id = $2 AND user_id = $3",
                           role, project, user)
    finally:
        await conn.close()
    shared = redis.Redis.from_url(backends.settings.redis_url)
    shared.delete(f"{backends.settings.key_prefix}:v1:role:{user}:{project}")  # a raw DEL: no invalidation sent
    shared.close()


@pytest.mark.real_services
async def test_write_in_one_process_evicts_the_other_processes_memory_tier(
    backends: BackendSet, worker_process: WorkerProcess | None
) -> None:
    if backends.name != "real":
        pytest.skip("two app processes share state only through Redis and PostgreSQL")
    with LiveServer(backends.settings) as a, LiveServer(backends.settings) as b:
        token = admin_token(a)
        async with live_client(a, token) as admin_a, httpx.AsyncClient(base_url=b.url, timeout=30) as anon_b:
            name = f"member-{secrets.token_hex(3)}"
            created = await admin_a.post("/api/v1/users", json={"username": name, "password": "password-123"})
            user = created.json()["id"]
            project = (await admin_a.post("/api/v1/projects", json={"name": f"xp-{secrets.token_hex(4)}"})).json()["id"]
            assert (await admin_a.put(f"/api/v1/projects/{project}/members/{user}",
                                      json={"role": "maintainer"})).status_code == 200
            login = await anon_b.post("/api/v1/auth/login", json={"username": name, "password": "password-123"})
            minted = await anon_b.post("/api/v1/auth/tokens", json={"name": "xp"},
                                       headers={"X-CSRF-Token": login.json()["csrf_token"]})
            anon_b.cookies.clear()
            user_b = {"Authorization": f"Bearer {minted.json()['token']}"}

            async def patch_on_b() -> int:
                response = await anon_b.patch(f"/api/v1/projects/{project}", json={"description": "x"}, headers=user_b)
                return response.status_code

            assert await patch_on_b() == 200  # B caches "maintainer" (memory tier + Redis)
            hits_before = memory_hits((await anon_b.get("/metrics")).text)
            await set_role_behind_the_apps_back(backends, project, user, "developer")
            assert await patch_on_b() == 200  # still allowed: B answered from its own memory
            assert memory_hits((await anon_b.get("/metrics")).text) > hits_before

            assert (await admin_a.put(f"/api/v1/projects/{project}/members/{user}",
                                      json={"role": "developer"})).status_code == 200
            deadline, attempts, status = time.monotonic() + 10, 0, 200
            while status == 200 and time.monotonic() < deadline:
                attempts += 1
                status = await patch_on_b()
                if status == 200:
                    await asyncio.sleep(0.01)
            assert status == 403, "process B kept serving the evicted role"
            print(f"B refused the demoted member after {attempts} request(s)")


# -- Redis stopped mid-test -------------------------------------------------------------------------

def counted(name: str, cache: str | None = None) -> float:
    return sum(v for labels, v in metrics.samples(name) if cache is None or labels.get("cache") == cache)


def in_app(api: ApiClient, fn: Callable[[Runtime], Awaitable[T]]) -> T:
    rt: Runtime = api.app.state.runtime
    result: T = api.client.blocking_portal.call(fn, rt)
    return result


@pytest.mark.real_services
async def test_reads_survive_redis_going_away_and_caching_resumes(backends: BackendSet) -> None:
    """Domain reads on the app's own runtime (the HTTP layer also needs Redis for sessions)."""
    if backends.name != "real":
        pytest.skip("embedded mode has no Redis (and its in-process worker shares one cache across event loops)")
    with private_redis() as server:
        settings = msgspec.structs.replace(backends.settings, redis_url=server.url,
                                           key_prefix=f"{backends.settings.key_prefix}r")
        async with running_app(settings) as api:
            admin = await api.admin()
            project = await make_project(admin)
            pipeline = await make_pipeline(admin, project, ECHO)
            _, uid = await api.new_user(admin)
            assert (await admin.put(f"/api/v1/projects/{project}/members/{uid}",
                                    json={"role": "developer"})).status_code == 200
            member = Principal(user_id=uuid.UUID(uid), username="member", is_admin=False)
            boss = Principal(user_id=uuid.uuid4(), username="admin", is_admin=True)

            async def read(rt: Runtime) -> tuple[str | None, int, int, str | None]:
                async with rt.sessionmaker() as session:
                    status = await pipeline_status(session, rt, member, uuid.UUID(pipeline))
                    items, _ = await list_pipelines(session, rt, member, uuid.UUID(project), 20, 0)
                    role = await member_role(session, rt, member.user_id, uuid.UUID(project))
                system = await current_settings(rt)
                return str(status.pipeline_id), len(items), system.execution_retention_days, role

            first = in_app(api, read)
            hits = counted("ansflow_cache_hits_total")
            assert in_app(api, read) == first == (pipeline, 1, first[2], "developer")
            assert counted("ansflow_cache_hits_total") >= hits + 4

            errors, bypassed = counted("ansflow_cache_backend_errors_total"), counted("ansflow_cache_bypassed_total")
            server.kill()
            for _ in range(1000):  # the invalidation subscription notices the dead socket
                if counted("ansflow_cache_backend_up") == 0:
                    break
                await asyncio.sleep(0.01)
            assert counted("ansflow_cache_backend_up") == 0
            assert counted("ansflow_cache_backend_errors_total") > errors
            assert in_app(api, read) == first  # answered by the database
            assert counted("ansflow_cache_bypassed_total") > bypassed

            async def write(rt: Runtime) -> None:
                async with rt.sessionmaker() as session:
                    current = await current_settings(rt)
                    await update_settings(session, rt, boss, msgspec.structs.replace(
                        current, execution_retention_days=current.execution_retention_days + 1))
                async with rt.sessionmaker() as session:
                    await put_member(session, rt, boss, uuid.UUID(project), member.user_id, "reporter")

            in_app(api, write)
            changed = (pipeline, 1, first[2] + 1, "reporter")
            assert in_app(api, read) == changed

            server.start()  # same port, empty: the app must find it again by itself
            deadline, resumed = time.monotonic() + 30, False
            while not resumed and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                before = counted("ansflow_cache_hits_total", "pipeline-status")
                assert in_app(api, read) == changed
                assert in_app(api, read) == changed
                resumed = counted("ansflow_cache_hits_total", "pipeline-status") > before
            assert resumed, "caching did not resume after Redis came back"
            assert counted("ansflow_cache_backend_up") == 1
            api.client.cookies.clear()
