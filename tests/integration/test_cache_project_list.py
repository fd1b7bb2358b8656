"""Project lists per user: each write that changes a user's list invalidates it (one test per pair).

The list is read through ``list_projects(..., rt=runtime)`` on the app's own loop with the app's
runtime (the same cache the API writes invalidate); the writes go through the HTTP API.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from app.domain.accounts.principal import Principal
from app.domain.projects.service import list_projects
from app.domain.runtime import Runtime
from app.lib.cache import key
from tests.support.client import ApiClient
from tests.support.flows import make_project

T = TypeVar("T")


def in_app(api: ApiClient, fn: Callable[[Runtime], Awaitable[T]]) -> T:
    rt: Runtime = api.app.state.runtime
    result: T = api.client.blocking_portal.call(fn, rt)
    return result


def listed(api: ApiClient, user_id: str, is_admin: bool = False) -> dict[str, Any]:
    """The user's first page as {project id: (name, role)}, read through the cache."""
    principal = Principal(user_id=uuid.UUID(user_id), username="u", is_admin=is_admin)

    async def read(rt: Runtime) -> dict[str, Any]:
        async with rt.sessionmaker() as session:
            items, _ = await list_projects(session, principal, 200, 0, rt=rt)
        return {str(p.id): (p.name, p.role) for p in items}

    return in_app(api, read)


def is_cached(api: ApiClient, user_id: str, is_admin: bool = False) -> bool:
    async def read(rt: Runtime) -> bool:
        return await rt.cache.get(key(rt.settings, "project-list", user_id, int(is_admin), 200, 0)) is not None

    return in_app(api, read)


async def admin_id(admin: ApiClient) -> str:
    return str((await admin.get("/api/v1/auth/me")).json()["id"])


async def test_project_list_invalidated_by_create_for_creator_and_admins(api: ApiClient) -> None:
    admin = await api.admin()
    user, uid = await api.new_user(admin)
    aid = await admin_id(admin)
    assert listed(api, uid) == {}
    before_admin = listed(api, aid, is_admin=True)
    assert is_cached(api, uid) and is_cached(api, aid, is_admin=True)
    project = await make_project(user)
    assert listed(api, uid)[project][1] == "owner"
    assert project in listed(api, aid, is_admin=True) and project not in before_admin


async def test_project_list_invalidated_by_update(api: ApiClient) -> None:
    admin = await api.admin()
    _, uid = await api.new_user(admin)
    project = await make_project(admin)
    assert (await admin.put(f"/api/v1/projects/{project}/members/{uid}", json={"role": "guest"})).status_code == 200
    old_name = listed(api, uid)[project][0]
    assert is_cached(api, uid)
    renamed = f"renamed-{uuid.uuid4().hex[:6]}"
    assert (await admin.patch(f"/api/v1/projects/{project}", json={"name": renamed})).status_code == 200
    assert listed(api, uid)[project][0] == renamed != old_name


async def test_project_list_invalidated_by_delete(api: ApiClient) -> None:
    admin = await api.admin()
    user, uid = await api.new_user(admin)
    project = await make_project(user)
    aid = await admin_id(admin)
    assert project in listed(api, uid) and project in listed(api, aid, is_admin=True)
    assert (await user.delete(f"/api/v1/projects/{project}")).status_code == 204
    assert project not in listed(api, uid)
    assert project not in listed(api, aid, is_admin=True)


async def test_project_list_invalidated_by_put_member(api: ApiClient) -> None:
    admin = await api.admin()
    _, uid = await api.new_user(admin)
    project = await make_project(admin)
    assert project not in listed(api, uid)
    assert is_cached(api, uid)
    assert (await admin.put(f"/api/v1/projects/{project}/members/{uid}", json={"role": "reporter"})).status_code == 200
    assert listed(api, uid)[project][1] == "reporter"
    assert (await admin.put(f"/api/v1/projects/{project}/members/{uid}", json={"role": "developer"})).status_code == 200
    assert listed(api, uid)[project][1] == "developer"


async def test_project_list_invalidated_by_remove_member(api: ApiClient) -> None:
    admin = await api.admin()
    _, uid = await api.new_user(admin)
    project = await make_project(admin)
    assert (await admin.put(f"/api/v1/projects/{project}/members/{uid}", json={"role": "reporter"})).status_code == 200
    assert project in listed(api, uid)
    assert is_cached(api, uid)
    assert (await admin.delete(f"/api/v1/projects/{project}/members/{uid}")).status_code == 204
    assert project not in listed(api, uid)
