"""``/api/v1/settings/system`` (read: any user; write: admins, validated, audited) and
``/api/v1/settings/api-endpoints`` (every route of the app's routing table, with measured timings)."""

from __future__ import annotations

from typing import Any

from litestar.routes import HTTPRoute, WebSocketRoute

from tests.support.client import ApiClient

SYSTEM = "/api/v1/settings/system"


async def test_system_settings_read_by_any_user_written_by_admins(api: ApiClient) -> None:
    assert (await api.get(SYSTEM)).status_code == 401
    admin = await api.admin()
    user, _ = await api.new_user(admin)
    current = (await user.get(SYSTEM)).json()
    assert {"execution_retention_days", "default_execution_timeout_s", "max_concurrent_executions_per_worker",
            "notify_on_failure"} <= current.keys()
    assert (await api.put(SYSTEM, json=current)).status_code == 401
    assert (await user.put(SYSTEM, json=current)).status_code == 403
    changed = {**current, "notify_on_success": not current["notify_on_success"]}
    saved = await admin.put(SYSTEM, json=changed)
    assert saved.status_code == 200 and saved.json() == changed
    assert (await user.get(SYSTEM)).json() == changed
    audit = (await admin.get("/api/v1/audit-logs", params={"action": "settings.update", "limit": 200})).json()
    assert any(r["actor"] == "admin" and "notify_on_success" in r["detail"]["fields"] for r in audit["items"])


async def _problem(admin: ApiClient, body: dict[str, Any]) -> tuple[int, list[str]]:
    response = await admin.put(SYSTEM, json=body)
    problem = response.json()
    if response.status_code == 400:
        assert response.headers["content-type"].startswith("application/problem+json")
    return response.status_code, [e["field"] for e in problem.get("errors", [])]


async def test_system_settings_validation_names_the_field(api: ApiClient) -> None:
    admin = await api.admin()
    current = (await admin.get(SYSTEM)).json()
    assert await _problem(admin, {**current, "execution_retention_days": 0}) == (400, ["execution_retention_days"])
    assert await _problem(admin, {**current, "max_concurrent_executions_per_worker": "many"}) == (
        400, ["max_concurrent_executions_per_worker"])
    assert await _problem(admin, {**current, "surprise": 1}) == (400, ["surprise"])
    assert await _problem(admin, {**current, "notification_webhook_url": "ftp://example.com/x"}) == (
        400, ["notification_webhook_url"])
    assert await _problem(admin, {**current, "default_step_timeout_s": 7200, "default_execution_timeout_s": 3600}) == (
        400, ["default_step_timeout_s"])
    assert (await admin.get(SYSTEM)).json() == current  # nothing was saved


def _routes(api: ApiClient) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in api.app.routes:
        if isinstance(route, HTTPRoute):
            found.update((m, route.path_format) for m in route.methods if m != "OPTIONS")
        elif isinstance(route, WebSocketRoute):
            found.add(("WEBSOCKET", route.path_format))
    return found


async def test_api_endpoints_list_every_route_with_timings(api: ApiClient) -> None:
    assert (await api.get("/api/v1/settings/api-endpoints")).status_code == 401
    admin = await api.admin()
    user, _ = await api.new_user(admin)
    for _ in range(4):
        assert (await user.get("/api/v1/auth/me")).status_code == 200
    page = (await user.get("/api/v1/settings/api-endpoints", params={"limit": 200})).json()
    rows = {(r["method"], r["path"]): r for r in page["items"]}
    assert page["total"] == len(rows) == len(_routes(api)) and set(rows) == _routes(api)
    assert set(page["items"][0]) == {"method", "path", "auth", "call_count", "avg_response_ms", "p95_ms"}
    me = rows[("GET", "/api/v1/auth/me")]
    assert me["call_count"] >= 4 and me["avg_response_ms"] > 0 and me["p95_ms"] > 0 and me["auth"] == "user"
    assert rows[("GET", "/api/v1/users")]["auth"] == "admin"
    assert rows[("POST", "/api/v1/auth/login")]["auth"] == "none"
    assert rows[("PUT", SYSTEM)]["auth"] == "admin"
    first = (await user.get("/api/v1/settings/api-endpoints", params={"limit": 5, "offset": 0})).json()
    assert first["limit"] == 5 and len(first["items"]) == 5 and first["total"] == page["total"]
