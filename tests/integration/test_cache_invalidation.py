"""Every cached read is invalidated by every write that changes it: one test per (read, write) pair.

Each test first proves the read is cached (the entry is in the app's cache after the read), then
performs the write through the API, then checks that the very next read shows it. Cache entries
are inspected on the app's own event loop (the test client runs the app in a portal thread).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from app.domain.pipelines.status import status_key
from app.domain.projects.access import role_key
from app.domain.runtime import Runtime
from app.lib.cache import ansflow_cache, key
from tests.support.client import ApiClient
from tests.support.flows import make_pipeline, make_project, run, wait_for

T = TypeVar("T")
ECHO = "steps:\n  - name: a\n    run: echo hi\n"
GATED = "steps:\n  - name: gate\n    approval: {role: maintainer}\n  - name: after\n    run: echo done\n"


def in_app(api: ApiClient, fn: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run ``fn(runtime)`` on the app's event loop (pools and the cache belong to that loop)."""
    rt: Runtime = api.app.state.runtime
    result: T = api.client.blocking_portal.call(fn, rt)
    return result


def cached_entry(api: ApiClient, make_key: Callable[[Runtime], str]) -> Any:
    async def read(rt: Runtime) -> Any:
        return await rt.cache.get(make_key(rt))

    return in_app(api, read)


async def member(admin: ApiClient, project: str, user_id: str, role: str) -> None:
    response = await admin.put(f"/api/v1/projects/{project}/members/{user_id}", json={"role": role})
    assert response.status_code == 200, response.text


# -- member role per (user, project) --------------------------------------------------------------

async def test_role_put_member_grants_on_next_request(api: ApiClient) -> None:
    admin = await api.admin()
    project = await make_project(admin)
    user, uid = await api.new_user(admin)
    assert (await user.get(f"/api/v1/projects/{project}")).status_code == 404
    assert cached_entry(api, lambda rt: role_key(rt, uuid.UUID(uid), uuid.UUID(project))) == b"-"
    await member(admin, project, uid, "reporter")
    assert (await user.get(f"/api/v1/projects/{project}")).status_code == 200


async def test_demoted_member_loses_access_on_next_request(api: ApiClient) -> None:
    admin = await api.admin()
    project = await make_project(admin)
    pipeline = await make_pipeline(admin, project, ECHO)
    user, uid = await api.new_user(admin)
    await member(admin, project, uid, "developer")
    started = await user.post(f"/api/v1/pipelines/{pipeline}/runs", json={})
    assert started.status_code == 201, started.text
    assert cached_entry(api, lambda rt: role_key(rt, uuid.UUID(uid), uuid.UUID(project))) == b"developer"
    await member(admin, project, uid, "reporter")
    refused = await user.post(f"/api/v1/pipelines/{pipeline}/runs", json={})
    assert refused.status_code == 403, refused.text
    assert (await user.get(f"/api/v1/projects/{project}")).status_code == 200
    await wait_for(admin, started.json()["id"])


async def test_role_remove_member_hides_project_on_next_request(api: ApiClient) -> None:
    admin = await api.admin()
    project = await make_project(admin)
    user, uid = await api.new_user(admin)
    await member(admin, project, uid, "maintainer")
    assert (await user.get(f"/api/v1/projects/{project}")).status_code == 200
    assert cached_entry(api, lambda rt: role_key(rt, uuid.UUID(uid), uuid.UUID(project))) == b"maintainer"
    assert (await admin.delete(f"/api/v1/projects/{project}/members/{uid}")).status_code == 204
    assert (await user.get(f"/api/v1/projects/{project}")).status_code == 404


async def test_role_delete_project_drops_roles(api: ApiClient) -> None:
    admin = await api.admin()
    owner, uid = await api.new_user(admin)
    project = await make_project(owner)
    assert (await owner.get(f"/api/v1/projects/{project}")).status_code == 200
    assert cached_entry(api, lambda rt: role_key(rt, uuid.UUID(uid), uuid.UUID(project))) == b"owner"
    assert (await owner.delete(f"/api/v1/projects/{project}")).status_code == 204
    assert cached_entry(api, lambda rt: role_key(rt, uuid.UUID(uid), uuid.UUID(project))) is None
    assert (await owner.get(f"/api/v1/projects/{project}")).status_code == 404


# -- pipeline status ---------------------------------------------------------------------------------
# Token reads of the status keep a derived answer (app/lib/cache/derived.py): each test below reads
# until the app keeps one, so the write must reach the kept answer as well as the cached entries.

async def kept_status(api: ApiClient, client: ApiClient, pipeline: str) -> httpx.Response:
    """Read the status (bearer token) until the app keeps the derived answer; return that read."""
    token = client.headers["Authorization"].removeprefix("Bearer ")
    answer_key = ("pipeline-status", token, uuid.UUID(pipeline))

    async def kept(rt: Runtime) -> bool:
        return ansflow_cache(rt.cache).answers.get(answer_key) is not None

    for _ in range(3):
        response = await client.get(f"/api/v1/pipelines/{pipeline}/status")
        assert response.status_code == 200, response.text
        if in_app(api, kept):
            return response
    raise AssertionError("the status read was never answered from a kept answer")


async def test_status_invalidated_by_execution_creation(api: ApiClient) -> None:
    admin = await api.admin()
    pipeline = await make_pipeline(admin, await make_project(admin), ECHO)
    before = await kept_status(api, admin, pipeline)
    assert before.status_code == 200 and before.json()["execution_id"] is None
    assert cached_entry(api, lambda rt: status_key(rt, pipeline)) is not None
    execution = await run(admin, pipeline)
    after = (await admin.get(f"/api/v1/pipelines/{pipeline}/status")).json()
    assert after["execution_id"] == execution["id"] and after["number"] == 1
    await wait_for(admin, execution["id"])


async def test_status_invalidated_by_status_change(api: ApiClient) -> None:
    admin = await api.admin()
    pipeline = await make_pipeline(admin, await make_project(admin), GATED)
    execution = (await run(admin, pipeline))["id"]
    try:
        await wait_for(admin, execution, {"waiting_approval"})
        waiting = (await kept_status(api, admin, pipeline)).json()
        assert waiting["status"] == "waiting_approval"
        assert cached_entry(api, lambda rt: status_key(rt, pipeline)) is not None
        approved = await admin.post(f"/api/v1/executions/{execution}/steps/gate/approve", json={})
        assert approved.status_code == 200, approved.text
        assert (await wait_for(admin, execution))["status"] == "success"
        assert (await admin.get(f"/api/v1/pipelines/{pipeline}/status")).json()["status"] == "success"
    finally:  # never leave a worker thread parked on an approval
        await admin.post(f"/api/v1/executions/{execution}/cancel")


async def test_status_invalidated_by_pipeline_deletion(api: ApiClient) -> None:
    admin = await api.admin()
    pipeline = await make_pipeline(admin, await make_project(admin), ECHO)
    await kept_status(api, admin, pipeline)
    assert (await admin.delete(f"/api/v1/pipelines/{pipeline}")).status_code == 204
    assert (await admin.get(f"/api/v1/pipelines/{pipeline}/status")).status_code == 404


async def reporter_with_kept_status(api: ApiClient, admin: ApiClient) -> tuple[ApiClient, str, str, str]:
    """A reporter of a new project whose status read of its pipeline is kept: (client, user, project, pipeline)."""
    project = await make_project(admin)
    pipeline = await make_pipeline(admin, project, ECHO)
    user, uid = await api.new_user(admin)
    await member(admin, project, uid, "reporter")
    await kept_status(api, user, pipeline)
    return user, uid, project, pipeline


async def test_status_refused_on_next_request_after_member_removal(api: ApiClient) -> None:
    admin = await api.admin()
    user, uid, project, pipeline = await reporter_with_kept_status(api, admin)
    assert (await admin.delete(f"/api/v1/projects/{project}/members/{uid}")).status_code == 204
    assert (await user.get(f"/api/v1/pipelines/{pipeline}/status")).status_code == 404


async def test_status_refused_on_next_request_after_token_revocation(api: ApiClient) -> None:
    admin = await api.admin()
    pipeline = await make_pipeline(admin, await make_project(admin), ECHO)
    await kept_status(api, admin, pipeline)
    tokens = (await admin.get("/api/v1/auth/tokens")).json()
    token_id = next(t["id"] for t in tokens if admin.headers["Authorization"][7:].startswith(t["prefix"]))
    assert (await admin.delete(f"/api/v1/auth/tokens/{token_id}")).status_code == 204
    assert (await admin.get(f"/api/v1/pipelines/{pipeline}/status")).status_code == 401


async def test_status_refused_on_next_request_after_user_deactivation(api: ApiClient) -> None:
    admin = await api.admin()
    user, uid, _, pipeline = await reporter_with_kept_status(api, admin)
    assert (await admin.patch(f"/api/v1/users/{uid}", json={"is_active": False})).status_code == 200
    assert (await user.get(f"/api/v1/pipelines/{pipeline}/status")).status_code == 401


# -- system settings -----------------------------------------------------------------------------------

async def test_system_settings_invalidated_by_put(api: ApiClient) -> None:
    admin = await api.admin()
    current = (await admin.get("/api/v1/settings/system")).json()
    assert cached_entry(api, lambda rt: key(rt.settings, "system-settings")) is not None
    changed = {**current, "execution_retention_days": current["execution_retention_days"] % 3000 + 7}
    assert (await admin.put("/api/v1/settings/system", json=changed)).status_code == 200
    assert (await admin.get("/api/v1/settings/system")).json() == changed


# -- pipeline list (per project and page) --------------------------------------------------------------

async def _names(client: ApiClient, project: str) -> list[str]:
    response = await client.get(f"/api/v1/projects/{project}/pipelines")
    assert response.status_code == 200, response.text
    return [p["name"] for p in response.json()["items"]]


def _list_key(project: str) -> Callable[[Runtime], str]:
    return lambda rt: key(rt.settings, "pipeline-list", project, 20, 0)


async def test_pipeline_list_invalidated_by_create(api: ApiClient) -> None:
    admin = await api.admin()
    project = await make_project(admin)
    assert await _names(admin, project) == []
    assert cached_entry(api, _list_key(project)) is not None
    await make_pipeline(admin, project, ECHO, name="first")
    assert await _names(admin, project) == ["first"]


async def test_pipeline_list_invalidated_by_update(api: ApiClient) -> None:
    admin = await api.admin()
    project = await make_project(admin)
    pipeline = await make_pipeline(admin, project, ECHO, name="old-name")
    assert await _names(admin, project) == ["old-name"]
    assert cached_entry(api, _list_key(project)) is not None
    assert (await admin.put(f"/api/v1/pipelines/{pipeline}", json={"name": "new-name"})).status_code == 200
    assert await _names(admin, project) == ["new-name"]


async def test_pipeline_list_invalidated_by_delete(api: ApiClient) -> None:
    admin = await api.admin()
    project = await make_project(admin)
    pipeline = await make_pipeline(admin, project, ECHO, name="doomed")
    assert await _names(admin, project) == ["doomed"]
    assert cached_entry(api, _list_key(project)) is not None
    assert (await admin.delete(f"/api/v1/pipelines/{pipeline}")).status_code == 204
    assert await _names(admin, project) == []


async def test_pipeline_list_invalidated_by_run(api: ApiClient) -> None:
    """Starting a run updates the pipeline row (its updated_at), which the list shows."""
    admin = await api.admin()
    project = await make_project(admin)
    pipeline = await make_pipeline(admin, project, ECHO)
    listed = (await admin.get(f"/api/v1/projects/{project}/pipelines")).json()["items"][0]
    assert cached_entry(api, _list_key(project)) is not None
    await wait_for(admin, (await run(admin, pipeline))["id"])
    fresh = (await admin.get(f"/api/v1/pipelines/{pipeline}")).json()
    relisted = (await admin.get(f"/api/v1/projects/{project}/pipelines")).json()["items"][0]
    assert relisted["updated_at"] == fresh["updated_at"]
    assert (fresh["updated_at"] != listed["updated_at"]) or fresh == listed


# -- API endpoint registry -------------------------------------------------------------------------------

async def test_api_endpoint_snapshot_invalidated_by_stats_flush(api: ApiClient) -> None:
    from app.domain.monitoring.requests import REQUEST_STATS

    admin = await api.admin()
    path = f"/api/v1/projects/{uuid.uuid4()}"
    for _ in range(3):
        await admin.get(path)

    async def count() -> int:
        response = await admin.get("/api/v1/settings/api-endpoints", params={"limit": 200})
        assert response.status_code == 200, response.text
        rows = [r for r in response.json()["items"] if r["path"] == "/api/v1/projects/{project_id}"
                and r["method"] == "GET"]
        return int(rows[0]["call_count"])

    seen = await count()
    assert seen >= 3
    assert cached_entry(api, lambda rt: key(rt.settings, "api-stats-snapshot")) is not None

    async def flush(rt: Runtime) -> None:
        await REQUEST_STATS.flush(rt)

    in_app(api, flush)
    assert cached_entry(api, lambda rt: key(rt.settings, "api-stats-snapshot")) is None
    await admin.get(path)
    assert await count() == seen + 1  # moved from pending to the store: neither lost nor counted twice

