"""Authorization matrix: every foundation endpoint x every kind of caller -> the expected status.

Callers: anonymous, a non-member, one member per project role, an administrator. Rules (CONTRACT
§2): 401 without credentials, 404 for a non-member asking for a project's resources, 403 for a
member lacking the role, administrators may do everything.

``test_every_route_is_classified`` fails when the app gains a route that is neither a row here nor
listed in ``COVERED_ELSEWHERE``: whoever adds a route must decide where its authorization is tested.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from litestar import Litestar
from litestar.routes import ASGIRoute, HTTPRoute, WebSocketRoute

from app.config import Settings
from app.web.asgi import create_app
from tests.support.backends import BackendSet
from tests.support.client import ApiClient
from tests.support.world import CALLERS, PASSWORD, ROLES, Cast, as_caller, cast_for, project_with_members

Send = Callable[[ApiClient, Cast, ApiClient], Awaitable[httpx.Response]]
# send(caller, cast, api): perform the call as ``caller``; ``api`` is the raw client for set-up


@dataclass(frozen=True)
class Row:
    expect: dict[str, int]
    send: Send


# -- expectations -------------------------------------------------------------------------------

def public(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


def authenticated(status: int) -> dict[str, int]:
    return {**public(status), "anonymous": 401}


def admin_only(status: int) -> dict[str, int]:
    return {**public(403), "anonymous": 401, "admin": status}


def project_role(least: str, status: int) -> dict[str, int]:
    """Members from ``least`` up and admins get ``status``; weaker members 403; non-members 404."""
    expect = {"anonymous": 401, "non_member": 404, "admin": status}
    for i, role in enumerate(ROLES):
        expect[role] = status if i >= ROLES.index(least) else 403
    return expect


# -- calls --------------------------------------------------------------------------------------

def path_of(cast: Cast, template: str, **values: str) -> str:
    values = {"project_id": cast.project_id, "user_id": cast.other.user_id, "name": "EXISTING", **values}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


def simple(method: str, template: str, body: object = None) -> Send:
    async def send(who: ApiClient, cast: Cast, api: ApiClient) -> httpx.Response:
        kwargs = {} if body is None else {"json": body}
        return await who.request(method, path_of(cast, template), **kwargs)
    return send


async def login(who: ApiClient, cast: Cast, api: ApiClient) -> httpx.Response:
    body = {"username": cast.other.username, "password": cast.other.password}
    return await who.post("/api/v1/auth/login", json=body)


async def update_me(who: ApiClient, cast: Cast, api: ApiClient) -> httpx.Response:
    me = await who.get("/api/v1/auth/me")
    name = me.json()["username"] if me.status_code == 200 else None
    password = next((p.password for p in cast.people.values() if p.username == name), PASSWORD)
    return await who.patch("/api/v1/auth/me", json={"current_password": password,
                                                    "email": f"{secrets.token_hex(3)}@example.com"})


async def revoke_others_token(who: ApiClient, cast: Cast, api: ApiClient) -> httpx.Response:
    other = ApiClient(api.client, {"Authorization": f"Bearer {cast.other.token}"})
    created = await other.post("/api/v1/auth/tokens", json={"name": "victim"})
    assert created.status_code == 201, created.text
    return await who.delete(f"/api/v1/auth/tokens/{created.json()['id']}")


async def create_user(who: ApiClient, cast: Cast, api: ApiClient) -> httpx.Response:
    return await who.post("/api/v1/users", json={"username": f"new-{secrets.token_hex(4)}", "password": PASSWORD})


async def delete_user(who: ApiClient, cast: Cast, api: ApiClient) -> httpx.Response:
    admin = as_caller(api, cast, "admin")
    created = await admin.post("/api/v1/users", json={"username": f"doomed-{secrets.token_hex(4)}",
                                                      "password": PASSWORD})
    assert created.status_code == 201, created.text
    return await who.delete(f"/api/v1/users/{created.json()['id']}")


async def create_project(who: ApiClient, cast: Cast, api: ApiClient) -> httpx.Response:
    response = await who.post("/api/v1/projects", json={"name": f"created-{secrets.token_hex(5)}"})
    if response.status_code == 201:  # leave no caller owning a project: the audit row depends on it
        deleted = await as_caller(api, cast, "admin").delete(f"/api/v1/projects/{response.json()['id']}")
        assert deleted.status_code == 204, deleted.text
    return response


async def delete_project(who: ApiClient, cast: Cast, api: ApiClient) -> httpx.Response:
    project_id = await project_with_members(as_caller(api, cast, "owner"), cast)
    return await who.delete(f"/api/v1/projects/{project_id}")


async def remove_member(who: ApiClient, cast: Cast, api: ApiClient) -> httpx.Response:
    project_id = await project_with_members(as_caller(api, cast, "owner"), cast, with_other=True)
    return await who.delete(f"/api/v1/projects/{project_id}/members/{cast.other.user_id}")


async def delete_secret(who: ApiClient, cast: Cast, api: ApiClient) -> httpx.Response:
    owner = as_caller(api, cast, "owner")
    put = await owner.put(path_of(cast, "/api/v1/projects/{project_id}/secrets/DOOMED"), json={"value": "x"})
    assert put.status_code == 200, put.text
    return await who.delete(path_of(cast, "/api/v1/projects/{project_id}/secrets/DOOMED"))


P = "/api/v1/projects/{project_id}"
audit_expect = {**project_role("owner", 200), "non_member": 403}  # not a project resource: no 404

MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/health"): Row(public(200), simple("GET", "/health")),
    ("GET", "/ready"): Row(public(200), simple("GET", "/ready")),
    # auth
    ("POST", "/api/v1/auth/login"): Row(public(200), login),
    ("POST", "/api/v1/auth/logout"): Row(authenticated(204), simple("POST", "/api/v1/auth/logout")),
    ("GET", "/api/v1/auth/me"): Row(authenticated(200), simple("GET", "/api/v1/auth/me")),
    ("PATCH", "/api/v1/auth/me"): Row(authenticated(200), update_me),
    ("POST", "/api/v1/auth/tokens"): Row(authenticated(201), simple("POST", "/api/v1/auth/tokens", {"name": "m"})),
    ("GET", "/api/v1/auth/tokens"): Row(authenticated(200), simple("GET", "/api/v1/auth/tokens")),
    ("DELETE", "/api/v1/auth/tokens/{token_id}"): Row({**public(404), "anonymous": 401, "admin": 204},
                                                       revoke_others_token),
    # users (administrators only)
    ("GET", "/api/v1/users"): Row(admin_only(200), simple("GET", "/api/v1/users")),
    ("POST", "/api/v1/users"): Row(admin_only(201), create_user),
    ("GET", "/api/v1/users/{user_id}"): Row(admin_only(200), simple("GET", "/api/v1/users/{user_id}")),
    ("PATCH", "/api/v1/users/{user_id}"): Row(admin_only(200), simple("PATCH", "/api/v1/users/{user_id}",
                                                                      {"email": "other@example.com"})),
    ("DELETE", "/api/v1/users/{user_id}"): Row(admin_only(204), delete_user),
    # projects
    ("GET", "/api/v1/projects"): Row(authenticated(200), simple("GET", "/api/v1/projects")),
    ("POST", "/api/v1/projects"): Row(authenticated(201), create_project),
    ("GET", P): Row(project_role("guest", 200), simple("GET", P)),
    ("PATCH", P): Row(project_role("maintainer", 200), simple("PATCH", P, {"description": "changed"})),
    ("DELETE", P): Row(project_role("owner", 204), delete_project),
    # members
    ("GET", P + "/members"): Row(project_role("guest", 200), simple("GET", P + "/members")),
    ("PUT", P + "/members/{user_id}"): Row(project_role("maintainer", 200),
                                           simple("PUT", P + "/members/{user_id}", {"role": "developer"})),
    ("DELETE", P + "/members/{user_id}"): Row(project_role("maintainer", 204), remove_member),
    # secrets
    ("GET", P + "/secrets"): Row(project_role("guest", 200), simple("GET", P + "/secrets")),
    ("PUT", P + "/secrets/{name}"): Row(project_role("maintainer", 200),
                                        simple("PUT", P + "/secrets/{name}", {"value": "v"})),
    ("DELETE", P + "/secrets/{name}"): Row(project_role("maintainer", 204), delete_secret),
    # audit
    ("GET", "/api/v1/audit-logs"): Row(audit_expect, simple("GET", "/api/v1/audit-logs")),
}

# Routes whose authorization is tested with the feature that owns them. Entries may name routes
# the contract promises but nobody has built yet; an app route in neither table fails the test.
COVERED_ELSEWHERE: dict[tuple[str, str], str] = {
    **{(m, p): "pipelines" for m, p in [
        ("GET", P + "/pipelines"), ("POST", P + "/pipelines"),
        ("GET", "/api/v1/pipelines/{pipeline_id}"), ("PUT", "/api/v1/pipelines/{pipeline_id}"),
        ("DELETE", "/api/v1/pipelines/{pipeline_id}"), ("GET", "/api/v1/pipelines/{pipeline_id}/versions"),
        ("POST", "/api/v1/pipelines/{pipeline_id}/runs"), ("GET", "/api/v1/pipelines/{pipeline_id}/status"),
        ("POST", "/api/v1/pipelines/validate"),
        ("POST", "/api/v1/hooks/{provider}/{project_id}"), ("GET", P + "/webhook"), ("PUT", P + "/webhook"),
        ("GET", P + "/webhook/deliveries"),
    ]},
    **{(m, p): "executions" for m, p in [
        ("GET", "/api/v1/executions"), ("GET", "/api/v1/executions/{execution_id}"),
        ("POST", "/api/v1/executions/{execution_id}/cancel"), ("POST", "/api/v1/executions/{execution_id}/retry"),
        ("POST", "/api/v1/executions/{execution_id}/steps/{step_name}/approve"),
        ("POST", "/api/v1/executions/{execution_id}/steps/{step_name}/reject"),
        ("GET", "/api/v1/executions/{execution_id}/logs"), ("GET", "/api/v1/executions/{execution_id}/logs.txt"),
        ("GET", "/api/v1/executions/{execution_id}/events"),
    ]},
    ("WS", "/ws/executions/{execution_id}"): "live view",
    ("WS", "/ws/monitor"): "live view",
    ("WS", "/ws/notifications"): "live view",
    ("GET", "/api/v1/monitoring/overview"): "monitoring",
    ("GET", "/metrics"): "monitoring",
    ("GET", "/api/v1/settings/api-endpoints"): "settings",
    ("GET", "/api/v1/settings/system"): "settings",
    ("PUT", "/api/v1/settings/system"): "settings",
    ("GET", "/"): "web UI",
    ("GET", "/static/{file_path}"): "web UI",
    ("HEAD", "/static/{file_path}"): "web UI",
    **{("GET", "/schema" + suffix): "OpenAPI (test_schemathesis)" for suffix in [
        "", "/openapi.json", "/openapi.yaml", "/openapi.yml", "/swagger", "/redoc", "/rapidoc", "/elements",
        "/oauth2-redirect.html", "/{path}",
    ]},
}


def normalized(path: str) -> str:
    """``/x/{project_id:uuid}`` -> ``/x/{project_id}``."""
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


def app_routes(app: Litestar) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        path = normalized(route.path)
        if isinstance(route, WebSocketRoute):
            found.add(("WS", path))
        elif isinstance(route, HTTPRoute):
            found.update((method, path) for method in route.methods if method != "OPTIONS")
        elif isinstance(route, ASGIRoute):
            found.add(("ASGI", path))
        else:  # a new kind of route: classify it explicitly
            found.add((type(route).__name__, path))
    return found


def test_every_route_is_classified(backends: BackendSet) -> None:
    routes = app_routes(create_app(backends.settings))
    unclassified = sorted(routes - MATRIX.keys() - COVERED_ELSEWHERE.keys())
    assert not unclassified, (
        f"routes without an authorization row: {unclassified}; add them to MATRIX in this file, or to "
        "COVERED_ELSEWHERE naming the test that checks who may call them"
    )
    stale = sorted(MATRIX.keys() - routes)
    assert not stale, f"MATRIX rows for routes the app no longer has: {stale}"
    overlap = sorted(MATRIX.keys() & COVERED_ELSEWHERE.keys())
    assert not overlap, overlap


def test_matrix_covers_every_caller() -> None:
    for key, row in MATRIX.items():
        assert set(row.expect) == set(CALLERS), key


def _cast_key(settings: Settings) -> str:
    return f"{settings.database_url}|{settings.key_prefix}"


@pytest.mark.parametrize("key", list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
async def test_authorization(api: ApiClient, backends: BackendSet, key: tuple[str, str]) -> None:
    cast = await cast_for(api, _cast_key(backends.settings))
    row = MATRIX[key]
    got: dict[str, int] = {}
    bodies: dict[str, str] = {}
    for caller in CALLERS:
        api.client.cookies.clear()  # bearer tokens only: a cookie left by a login must not leak
        response = await row.send(as_caller(api, cast, caller), cast, api)
        api.client.cookies.clear()
        got[caller] = response.status_code
        bodies[caller] = response.text[:200]
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json"), response.text
    wrong = {c: f"expected {row.expect[c]}, got {got[c]}: {bodies[c]}" for c in CALLERS if got[c] != row.expect[c]}
    assert not wrong, f"{key[0]} {key[1]}:\n" + "\n".join(f"  {c}: {w}" for c, w in wrong.items())
