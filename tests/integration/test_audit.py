"""Audit log: every mutation, login (success and failure), logout and token creation is recorded
with actor, action, resource, ip, user agent, result and time; admins see all, project owners see
their projects' records, filters work."""

from __future__ import annotations

import secrets
from typing import Any

from tests.support.client import ADMIN, ApiClient

UA = {"User-Agent": "audit-test/1.0"}


async def audit(admin: ApiClient, **filters: str) -> list[dict[str, Any]]:
    response = await admin.get("/api/v1/audit-logs", params={"limit": 200, **filters})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "total", "limit", "offset"}
    items: list[dict[str, Any]] = body["items"]
    return items


def one(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"{match}: {len(found)} rows among {[(r['action'], r['resource_id']) for r in rows]}"
    return found[0]


async def test_every_foundation_mutation_is_recorded(api: ApiClient) -> None:
    admin = await api.admin()
    admin = ApiClient(admin.client, {**admin.headers, **UA})
    username = f"audited-{secrets.token_hex(3)}"
    user = (await admin.post("/api/v1/users", json={"username": username, "password": "password-123"})).json()
    assert (await admin.patch(f"/api/v1/users/{user['id']}", json={"email": "a@example.com"})).status_code == 200
    project = (await admin.post("/api/v1/projects", json={"name": f"audited-{secrets.token_hex(3)}"})).json()
    pid = project["id"]
    assert (await admin.patch(f"/api/v1/projects/{pid}", json={"description": "d"})).status_code == 200
    assert (await admin.put(f"/api/v1/projects/{pid}/members/{user['id']}", json={"role": "guest"})).status_code == 200
    assert (await admin.put(f"/api/v1/projects/{pid}/secrets/TOKEN", json={"value": "v4lue-1"})).status_code == 200
    assert (await admin.put(f"/api/v1/projects/{pid}/secrets/TOKEN", json={"value": "v4lue-2"})).status_code == 200
    assert (await admin.delete(f"/api/v1/projects/{pid}/secrets/TOKEN")).status_code == 204
    assert (await admin.delete(f"/api/v1/projects/{pid}/members/{user['id']}")).status_code == 204
    token = (await admin.post("/api/v1/auth/tokens", json={"name": "audited"})).json()
    assert (await admin.delete(f"/api/v1/auth/tokens/{token['id']}")).status_code == 204
    assert (await admin.delete(f"/api/v1/projects/{pid}")).status_code == 204
    assert (await admin.delete(f"/api/v1/users/{user['id']}")).status_code == 204

    rows = await audit(admin, actor=ADMIN[0])
    expected = [
        ("user.create", "user", user["id"]), ("user.update", "user", user["id"]),
        ("project.create", "project", pid), ("project.update", "project", pid),
        ("member.put", "member", user["id"]), ("secret.create", "secret", "TOKEN"),
        ("secret.update", "secret", "TOKEN"), ("secret.delete", "secret", "TOKEN"),
        ("member.remove", "member", user["id"]), ("token.create", "token", token["id"]),
        ("token.revoke", "token", token["id"]), ("project.delete", "project", pid),
        ("user.delete", "user", user["id"]),
    ]
    for action, resource_type, resource_id in expected:
        row = one(rows, action=action, resource_id=resource_id)
        assert row["resource_type"] == resource_type
        assert row["actor"] == ADMIN[0] and row["actor_id"]
        assert row["result"] == "success" and row["created_at"]
        assert row["user_agent"] == "audit-test/1.0" and row["ip"]
        if resource_type in ("member", "secret") or action.startswith("project."):
            assert row["project_id"] == pid
    text = str(rows)
    assert "v4lue-1" not in text and "v4lue-2" not in text and "password-123" not in text


async def test_logins_failures_and_logouts_are_recorded(api: ApiClient) -> None:
    admin = await api.admin()
    _, user_id = await api.new_user(admin, "login-audit")  # logs in, creates a token, logs out
    username = (await admin.get(f"/api/v1/users/{user_id}")).json()["username"]
    failed = await api.client.post("/api/v1/auth/login", json={"username": username, "password": "wrong-password"},
                                   headers=UA)
    assert failed.status_code == 401
    ghost = f"ghost-{secrets.token_hex(3)}"
    unknown_user = await api.client.post("/api/v1/auth/login", json={"username": ghost, "password": "x" * 8})
    assert unknown_user.status_code == 401
    rows = await audit(admin, actor=username)
    assert {r["action"] for r in rows} >= {"auth.login", "auth.logout", "token.create", "auth.login_failed"}
    failure = one(rows, action="auth.login_failed")
    assert failure["result"] == "failure" and failure["resource_id"] == user_id and failure["actor_id"] is None
    assert failure["user_agent"] == "audit-test/1.0"
    unknown = one(await audit(admin, actor=ghost), action="auth.login_failed")
    assert unknown["resource_id"] is None and unknown["result"] == "failure"


async def test_rate_limited_logins_are_refused_and_recorded(api: ApiClient) -> None:
    admin = await api.admin()
    _, user_id = await api.new_user(admin, "limited")
    username = (await admin.get(f"/api/v1/users/{user_id}")).json()["username"]
    statuses = []
    for _ in range(6):
        response = await api.client.post("/api/v1/auth/login", json={"username": username, "password": "bad-guess"})
        statuses.append(response.status_code)
    assert statuses[:5] == [401] * 5 and statuses[5] == 429, statuses
    right = await api.client.post("/api/v1/auth/login", json={"username": username, "password": "password-123"})
    assert right.status_code == 429, "the right password does not lift the limit early"
    assert int(right.headers["retry-after"]) > 0
    assert right.json()["retry_after"] == int(right.headers["retry-after"])
    rows = await audit(admin, actor=username, action="auth.login_failed")
    assert sorted(r["result"] for r in rows) == ["failure"] * 5 + ["rate_limited"] * 2


async def test_filters_and_pagination(api: ApiClient) -> None:
    admin = await api.admin()
    for _ in range(3):
        await admin.post("/api/v1/projects", json={"name": f"page-{secrets.token_hex(3)}"})
    page = await admin.get("/api/v1/audit-logs", params={"action": "project.create", "limit": 2, "offset": 1})
    body = page.json()
    assert body["limit"] == 2 and body["offset"] == 1 and len(body["items"]) == 2 and body["total"] >= 3
    assert all(r["action"] == "project.create" for r in body["items"])
    stamps = [r["created_at"] for r in (await audit(admin, resource_type="project"))]
    assert stamps == sorted(stamps, reverse=True), "newest first"
    assert await audit(admin, action="no.such-action") == []


async def test_project_owners_see_only_their_projects_records(api: ApiClient) -> None:
    admin = await api.admin()
    owner, _ = await api.new_user(admin, "owner")
    mine = (await owner.post("/api/v1/projects", json={"name": f"mine-{secrets.token_hex(3)}"})).json()["id"]
    theirs = (await admin.post("/api/v1/projects", json={"name": f"theirs-{secrets.token_hex(3)}"})).json()["id"]
    await owner.put(f"/api/v1/projects/{mine}/secrets/A", json={"value": "x"})
    rows = await audit(owner)
    assert rows and {r["project_id"] for r in rows} == {mine}
    assert {"project.create", "secret.create"} <= {r["action"] for r in rows}
    assert all(r["project_id"] != theirs for r in rows)
    assert not any(r["action"].startswith(("user.", "auth.")) for r in rows), "account records are admin-only"
