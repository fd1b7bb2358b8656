"""A cast of users for authorization tests: admin, a non-member and one member per project role.

Users and their API tokens live in the database, so the cast is built once per test session
(per database) and reused by every app the tests start; each test gets ``ApiClient`` views bound
to its own running app.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from tests.support.client import ADMIN, ApiClient

ROLES = ("guest", "reporter", "developer", "maintainer", "owner")
CALLERS = ("anonymous", "non_member", *ROLES, "admin")
PASSWORD = "password-123"


async def mint_token(api: ApiClient, username: str, password: str, name: str = "test") -> tuple[str, str]:
    """Log in with the cookie, create a token, log out; returns (token value, token id)."""
    login = await api.client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    csrf = login.json()["csrf_token"]
    created = await api.client.post("/api/v1/auth/tokens", json={"name": name}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    await api.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    api.client.cookies.clear()
    return str(created.json()["token"]), str(created.json()["id"])


@dataclass
class Person:
    username: str
    password: str
    user_id: str
    token: str


@dataclass
class Cast:
    """Who exists in the database; ``project_id`` is a project where each role has one member."""

    people: dict[str, Person]
    project_id: str
    other: Person  # a user the calls act on (member target, token owner); in no role of the project
    extra: dict[str, str] = field(default_factory=dict)


_CASTS: dict[str, Cast] = {}


def as_caller(api: ApiClient, cast: Cast, caller: str) -> ApiClient:
    """A view of ``api`` authenticated as ``caller`` (bearer token), or with no credentials at all."""
    if caller == "anonymous":
        return ApiClient(api.client)
    return ApiClient(api.client, {"Authorization": f"Bearer {cast.people[caller].token}"})


async def new_person(api: ApiClient, admin: ApiClient, prefix: str) -> Person:
    username = f"{prefix}-{secrets.token_hex(4)}"
    created = await admin.post("/api/v1/users", json={"username": username, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token, _ = await mint_token(api, username, PASSWORD)
    return Person(username, PASSWORD, str(created.json()["id"]), token)


async def project_with_members(owner: ApiClient, cast: Cast, *, with_other: bool = False) -> str:
    """A project created by the cast's owner, with the cast's members and one secret ``EXISTING``."""
    created = await owner.post("/api/v1/projects", json={"name": f"authz-{secrets.token_hex(5)}"})
    assert created.status_code == 201, created.text
    project_id = str(created.json()["id"])
    members = [(cast.people[role].user_id, role) for role in ROLES if role != "owner"]
    if with_other:
        members.append((cast.other.user_id, "reporter"))
    for user_id, role in members:
        put = await owner.put(f"/api/v1/projects/{project_id}/members/{user_id}", json={"role": role})
        assert put.status_code == 200, put.text
    secret = await owner.put(f"/api/v1/projects/{project_id}/secrets/EXISTING", json={"value": "s3cr3t"})
    assert secret.status_code == 200, secret.text
    return project_id


async def cast_for(api: ApiClient, key: str) -> Cast:
    """The session's cast for the database ``key`` (built on first use through the API)."""
    if key in _CASTS:
        return _CASTS[key]
    token, _ = await mint_token(api, *ADMIN)
    admin_view = ApiClient(api.client, {"Authorization": f"Bearer {token}"})
    me = await admin_view.get("/api/v1/auth/me")
    assert me.status_code == 200, me.text
    people = {"admin": Person(ADMIN[0], ADMIN[1], str(me.json()["id"]), token)}
    for caller in ("non_member", *ROLES):
        people[caller] = await new_person(api, admin_view, caller.replace("_", "-"))
    other = await new_person(api, admin_view, "other")
    cast = Cast(people=people, project_id="", other=other)
    cast.project_id = await project_with_members(as_caller(api, cast, "owner"), cast)
    _CASTS[key] = cast
    return cast
