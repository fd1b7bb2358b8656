"""Cookie sessions: flags, CSRF on writes, logout, fixation, and surviving a restart (Redis store)."""

from __future__ import annotations

import time
from http.cookies import SimpleCookie

import httpx
import pytest

from app.web import sessions
from app.web.asgi import SESSION_COOKIE
from tests.support.backends import BackendSet
from tests.support.client import ADMIN, ApiClient, running_app

LOGIN = {"username": ADMIN[0], "password": ADMIN[1]}


def session_cookie(response: httpx.Response) -> tuple[str, str]:
    """(value, raw Set-Cookie header) of the session cookie set by ``response``."""
    for header in response.headers.get_list("set-cookie"):
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        if SESSION_COOKIE in parsed:
            return parsed[SESSION_COOKIE].value, header
    raise AssertionError(f"no {SESSION_COOKIE} cookie in {response.headers.get_list('set-cookie')}")


def with_cookie(value: str, csrf: str | None = None) -> dict[str, str]:
    headers = {"Cookie": f"{SESSION_COOKIE}={value}"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return headers


async def call(api: ApiClient, method: str, url: str, cookie: str | None = None, csrf: str | None = None,
               **kwargs: object) -> httpx.Response:
    """One request with exactly the cookie given: the client's cookie jar is emptied before and after."""
    api.client.cookies.clear()
    headers = with_cookie(cookie, csrf) if cookie is not None else {}
    try:
        return await api.client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]
    finally:
        api.client.cookies.clear()


async def login(api: ApiClient) -> tuple[str, str]:
    """(session id, csrf token) of a fresh admin session."""
    response = await call(api, "POST", "/api/v1/auth/login", json=LOGIN)
    assert response.status_code == 200, response.text
    return session_cookie(response)[0], response.json()["csrf_token"]


async def test_login_sets_httponly_lax_cookie_and_returns_user_and_csrf(api: ApiClient) -> None:
    response = await call(api, "POST", "/api/v1/auth/login", json=LOGIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["username"] == ADMIN[0] and body["user"]["is_admin"] is True
    assert len(body["csrf_token"]) >= 32
    value, header = session_cookie(response)
    attributes = {part.strip().lower() for part in header.split(";")}
    assert "httponly" in attributes, header
    assert "samesite=lax" in attributes, header
    assert "path=/" in attributes, header
    assert len(value) >= 32
    me = await call(api, "GET", "/api/v1/auth/me", value)
    assert me.status_code == 200 and me.json()["username"] == ADMIN[0]


async def test_cookie_writes_need_the_sessions_csrf_token(api: ApiClient) -> None:
    session, csrf = await login(api)
    missing = await call(api, "POST", "/api/v1/auth/tokens", session, json={"name": "c"})
    assert missing.status_code == 403, missing.text
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "csrf" in missing.json()["detail"].lower()
    for bad in ("x" * len(csrf), csrf[:-1], csrf + "x", "\u00e9" * 8, csrf.upper() if csrf.upper() != csrf else "X"):
        api.client.cookies.clear()
        wrong = await api.client.post("/api/v1/auth/tokens", json={"name": "c"},
                                      headers={"Cookie": f"{SESSION_COOKIE}={session}",
                                               "X-CSRF-Token": bad.encode("latin-1")})  # type: ignore[dict-item]
        assert wrong.status_code == 403, (bad, wrong.text)
    other_session, other_csrf = await login(api)
    assert other_session != session
    crossed = await call(api, "POST", "/api/v1/auth/tokens", session, other_csrf, json={"name": "c"})
    assert crossed.status_code == 403, "a CSRF token is bound to its own session"
    for method, url, body in [("PATCH", "/api/v1/projects/00000000-0000-0000-0000-000000000000", {}),
                              ("DELETE", "/api/v1/users/00000000-0000-0000-0000-000000000000", None),
                              ("PUT", "/api/v1/projects/00000000-0000-0000-0000-000000000000/secrets/A",
                               {"value": "v"}),
                              ("POST", "/api/v1/auth/logout", None)]:
        kwargs = {"json": body} if body is not None else {}
        refused = await call(api, method, url, other_session, **kwargs)
        assert refused.status_code == 403, (method, url, refused.text)
    ok = await call(api, "POST", "/api/v1/auth/tokens", session, csrf, json={"name": "c"})
    assert ok.status_code == 201, ok.text
    read = await call(api, "GET", "/api/v1/auth/tokens", session)
    assert read.status_code == 200, "reads need no CSRF token"


async def test_bearer_writes_need_no_csrf_token(api: ApiClient) -> None:
    admin = await api.admin()
    response = await admin.post("/api/v1/auth/tokens", json={"name": "bearer-write"})
    assert response.status_code == 201, response.text


async def test_logout_invalidates_the_session_server_side(api: ApiClient) -> None:
    session, csrf = await login(api)
    assert (await call(api, "GET", "/api/v1/auth/me", session)).status_code == 200
    out = await call(api, "POST", "/api/v1/auth/logout", session, csrf)
    assert out.status_code == 204, out.text
    cleared, _ = session_cookie(out)
    assert cleared in ("", "null"), "logout tells the browser to drop the cookie"
    replay = await call(api, "GET", "/api/v1/auth/me", session)
    assert replay.status_code == 401, "the old cookie value must be dead on the server, not just in the browser"
    write = await call(api, "POST", "/api/v1/auth/tokens", session, csrf, json={"name": "x"})
    assert write.status_code == 401


async def test_login_issues_a_new_session_id(api: ApiClient) -> None:
    """Session fixation: a session id planted before login must not become an authenticated one."""
    planted = "f" * 64
    response = await call(api, "POST", "/api/v1/auth/login", planted, json=LOGIN)
    assert response.status_code == 200, response.text
    issued, _ = session_cookie(response)
    assert issued != planted
    assert (await call(api, "GET", "/api/v1/auth/me", planted)).status_code == 401
    assert (await call(api, "GET", "/api/v1/auth/me", issued)).status_code == 200
    again = await call(api, "POST", "/api/v1/auth/login", issued, json=LOGIN)  # logging in again rotates too
    assert again.status_code == 200, again.text
    assert session_cookie(again)[0] != issued
    assert (await call(api, "GET", "/api/v1/auth/me", issued)).status_code == 401


async def test_unknown_or_garbage_session_cookie_is_401(api: ApiClient) -> None:
    for value in ("null", "deadbeef" * 8, "x" * 500, "%00%ff"):
        response = await call(api, "GET", "/api/v1/auth/me", value)
        assert response.status_code == 401, (value, response.text)
        dropped = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}=")]
        assert all(h.startswith(f"{SESSION_COOKIE}=null") or h.startswith(f'{SESSION_COOKIE}=""')
                   for h in dropped), f"an unknown session id is not echoed back: {dropped}"


async def test_session_survives_an_app_restart_in_production_mode(backends: BackendSet) -> None:
    """With ANSFLOW_REDIS_URL the session store is Redis: a restarted app still knows the session.

    On embedded defaults sessions live in process memory, so a restart logs everyone out (401).
    """
    async with running_app(backends.settings) as first:
        session, csrf = await login(first)
        assert (await call(first, "GET", "/api/v1/auth/me", session)).status_code == 200
    async with running_app(backends.settings) as restarted:
        me = await call(restarted, "GET", "/api/v1/auth/me", session)
        if not backends.settings.redis_url:
            assert me.status_code == 401, me.text
            return
        assert me.status_code == 200, me.text
        write = await call(restarted, "POST", "/api/v1/auth/tokens", session, csrf, json={"name": "after-restart"})
        assert write.status_code == 201, write.text
        out = await call(restarted, "POST", "/api/v1/auth/logout", session, csrf)
        assert out.status_code == 204
    async with running_app(backends.settings) as again:  # the logout is shared too
        assert (await call(again, "GET", "/api/v1/auth/me", session)).status_code == 401


async def test_public_routes_neither_adopt_nor_choke_on_unknown_session_ids(api: ApiClient) -> None:
    planted = "deadbeef" * 8
    response = await call(api, "GET", "/health", planted)
    echoed = [h for h in response.headers.get_list("set-cookie") if planted in h]
    garbage = await call(api, "GET", "/health", "%00%ff")
    assert (response.status_code, echoed, garbage.status_code) == (200, [], 200)


async def test_reads_do_not_rewrite_the_session_but_it_is_refreshed_hourly(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read with an unchanged session sends no Set-Cookie (no store write); after REFRESH_S it does,
    so an active user's session keeps sliding forward."""
    cookie, _ = await login(api)
    read = await call(api, "GET", "/api/v1/auth/me", cookie=cookie)
    assert read.status_code == 200, read.text
    assert not read.headers.get_list("set-cookie"), "a read rewrote an unchanged session"
    later = time.time() + sessions.REFRESH_S + 1
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    refreshed = await call(api, "GET", "/api/v1/auth/me", cookie=cookie)
    assert refreshed.status_code == 200, refreshed.text
    assert session_cookie(refreshed)[0] == cookie, "the same session, written back with a new expiry"
    monkeypatch.undo()
    again = await call(api, "GET", "/api/v1/auth/me", cookie=cookie)
    assert again.status_code == 200 and not again.headers.get_list("set-cookie")
