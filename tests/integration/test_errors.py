"""Every error is an RFC 9457 problem (application/problem+json); validation names the field; no
stack trace or internal detail ever reaches a client."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import httpx
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from app.web.errors import EXCEPTION_HANDLERS
from tests.support.client import ApiClient

NIL = "00000000-0000-0000-0000-000000000000"
LEAKS = ("Traceback", 'File "', ".py\"", "line ", "sqlalchemy", "asyncpg", "aiosqlite", "litestar.", "msgspec.")


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    leaked = [marker for marker in LEAKS if marker in response.text]
    assert not leaked, f"internal detail in a response body ({leaked}): {response.text}"
    return body


def fields(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in body.get("errors", [])}


async def test_unknown_paths_are_404_problems(api: ApiClient) -> None:
    for url in ("/api/v1/nope", "/nope", "/api/v1/projects/not-a-uuid", f"/api/v1/projects/{NIL}/nope"):
        assert_problem(await api.get(url), 404)
    admin = await api.admin()
    assert_problem(await admin.get(f"/api/v1/projects/{uuid.uuid4()}"), 404)
    assert_problem(await admin.get(f"/api/v1/users/{uuid.uuid4()}"), 404)


async def test_wrong_method_is_a_405_problem_with_allow(api: ApiClient) -> None:
    admin = await api.admin()
    response = await admin.put("/api/v1/auth/me", json={})
    assert_problem(response, 405)
    assert {"GET", "PATCH"} <= {m.strip() for m in response.headers["allow"].split(",")}
    assert_problem(await api.delete("/health"), 405)


async def test_auth_errors_are_problems(api: ApiClient) -> None:
    assert_problem(await api.get("/api/v1/auth/me"), 401)
    bad = await api.post("/api/v1/auth/login", json={"username": "admin", "password": f"wrong-{secrets.token_hex(2)}"})
    assert_problem(bad, 401)
    admin = await api.admin()
    user, _ = await api.new_user(admin)
    assert_problem(await user.get("/api/v1/users"), 403)


async def test_conflicts_are_409_problems(api: ApiClient) -> None:
    admin = await api.admin()
    name = f"dup-{secrets.token_hex(4)}"
    assert (await admin.post("/api/v1/projects", json={"name": name})).status_code == 201
    assert_problem(await admin.post("/api/v1/projects", json={"name": name}), 409)
    user = {"username": f"dup-{secrets.token_hex(4)}", "password": "password-123"}
    assert (await admin.post("/api/v1/users", json=user)).status_code == 201
    assert_problem(await admin.post("/api/v1/users", json=user), 409)


async def test_validation_errors_name_the_field(api: ApiClient) -> None:
    admin = await api.admin()
    project = (await admin.post("/api/v1/projects", json={"name": f"v-{secrets.token_hex(4)}"})).json()["id"]
    cases: list[tuple[str, str, Any, str]] = [
        ("POST", "/api/v1/projects", {"name": 5}, "name"),                            # wrong type
        ("POST", "/api/v1/projects", {"name": ""}, "name"),                           # too short
        ("POST", "/api/v1/projects", {"name": "abc\n"}, "name"),                      # pattern, trailing newline
        ("POST", "/api/v1/projects", {"name": "ok", "bogus": 1}, "bogus"),            # unknown field
        ("POST", "/api/v1/projects", {"description": "no name"}, "name"),             # missing field
        ("PATCH", f"/api/v1/projects/{project}", {"default_branch": 7}, "default_branch"),
        ("PATCH", f"/api/v1/projects/{project}", {"owner": "me"}, "owner"),
        ("POST", "/api/v1/users", {"password": "password-123"}, "username"),
        ("POST", "/api/v1/users", {"username": "a b", "password": "password-123"}, "username"),
        ("POST", "/api/v1/users", {"username": "u", "password": "short"}, "password"),
        ("POST", "/api/v1/users", {"username": "u", "password": "password-123", "email": "nope"}, "email"),
        ("POST", "/api/v1/users", {"username": "u", "password": "password-123", "is_admin": "yes"}, "is_admin"),
        ("POST", "/api/v1/auth/tokens", {"name": "t", "expires_in_days": 0}, "expires_in_days"),
        ("POST", "/api/v1/auth/tokens", {"name": "nul\u0000byte"}, "name"),
        ("PUT", f"/api/v1/projects/{project}/members/{NIL}", {"role": "king"}, "role"),
        ("PUT", f"/api/v1/projects/{project}/secrets/A", {"value": 1}, "value"),
        ("PUT", f"/api/v1/projects/{project}/secrets/A", {}, "value"),
        ("POST", "/api/v1/projects", [1], "body"),                                    # not an object
        ("GET", "/api/v1/users?limit=abc", None, "limit"),
        ("GET", "/api/v1/users?limit=0", None, "limit"),
        ("GET", "/api/v1/users?limit=201", None, "limit"),
        ("GET", "/api/v1/projects?offset=-1", None, "offset"),
        ("GET", "/api/v1/audit-logs?offset=99999999999999999999", None, "offset"),
    ]
    for method, url, body, field in cases:
        kwargs = {"json": body} if body is not None else {}
        problem = assert_problem(await admin.request(method, url, **kwargs), 400)
        assert field in fields(problem), (method, url, body, problem)
        assert "data" not in fields(problem), "the handler's parameter name is not a field the client sent"


async def test_unknown_field_message_says_so(api: ApiClient) -> None:
    admin = await api.admin()
    problem = assert_problem(await admin.post("/api/v1/auth/tokens", json={"name": "t", "scopes": ["all"]}), 400)
    assert fields(problem) == {"scopes": "unknown field"}


async def test_malformed_and_missing_bodies_are_400(api: ApiClient) -> None:
    admin = await api.admin()
    for raw in (b'{"name":', b"not json", b"{'name': 'single quotes'}", b"\xff\xfe"):
        response = await admin.post("/api/v1/projects", content=raw, headers={"content-type": "application/json"})
        problem = assert_problem(response, 400)
        assert "JSON" in problem["detail"], problem
    problem = assert_problem(await admin.post("/api/v1/projects"), 400)
    assert "body" in fields(problem), problem


async def test_secret_names_that_cannot_exist_are_404_on_delete(api: ApiClient) -> None:
    admin = await api.admin()
    project = (await admin.post("/api/v1/projects", json={"name": f"s-{secrets.token_hex(4)}"})).json()["id"]
    for name in ("nul%00byte", "trailing%0A", "9starts-with-digit"):
        assert_problem(await admin.delete(f"/api/v1/projects/{project}/secrets/{name}"), 404)
        assert_problem(await admin.put(f"/api/v1/projects/{project}/secrets/{name}", json={"value": "v"}), 400)


async def test_unexpected_errors_are_500_problems_without_details() -> None:
    """The app's handlers on a one-route app whose handler fails the way a bug would."""

    @get("/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail: password=hunter2 at /srv/app/secret.py")

    app = Litestar([boom], exception_handlers=EXCEPTION_HANDLERS, debug=False)
    async with AsyncTestClient(app) as client:
        response = await client.get("/boom")
    body = assert_problem(response, 500)
    assert "hunter2" not in response.text and "secret.py" not in response.text
    assert body["detail"] == "the server hit an unexpected error; it has been logged"
