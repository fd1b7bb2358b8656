"""(a) Cached read ``GET /api/v1/pipelines/{id}/status`` vs a bare Litestar JSON endpoint, one granian worker each."""

from __future__ import annotations

import httpx

from app.web.asgi import SESSION_COOKIE
from bench.common import TRUE_PIPELINE, load_rows
from bench.core import Row
from bench.load import http_load
from bench.stack import ADMIN_USER, Stack

NAME = "cached_read"
DESCRIPTION = ("cached GET /pipelines/{id}/status (API token; and a browser's session cookie) vs bare Litestar "
               "GET /json (wrk -t1 -c64)")
CONNECTIONS = 64


def session_cookie(stack: Stack) -> dict[str, str]:
    """A browser's login: the session cookie header (GETs need no CSRF token)."""
    with httpx.Client(base_url=stack.app().base_url, timeout=30) as client:
        login = client.post("/api/v1/auth/login", json={"username": ADMIN_USER, "password": stack.admin_password})
        login.raise_for_status()
        return {"Cookie": f"{SESSION_COOKIE}={login.cookies[SESSION_COOKIE]}"}


def run(stack: Stack) -> list[Row]:
    app, bare = stack.app(), stack.bare()
    pipeline = stack.pipeline("status", TRUE_PIPELINE)
    stack.wait(stack.run(pipeline)["id"])
    path = f"/api/v1/pipelines/{pipeline}/status"
    client = stack.client()
    warm = client.get(path)
    warm.raise_for_status()
    seconds = stack.load_seconds
    cookie = session_cookie(stack)
    app_runs, base_runs, cookie_runs = [], [], []
    http_load(app.base_url, path, headers=stack.auth, connections=CONNECTIONS, duration=1)  # warm-up
    http_load(bare.base_url, "/json", connections=CONNECTIONS, duration=1)
    app_one, base_one = [], []
    for _ in range(stack.repeat):
        app_runs.append(http_load(app.base_url, path, headers=stack.auth, connections=CONNECTIONS, duration=seconds))
        base_runs.append(http_load(bare.base_url, "/json", connections=CONNECTIONS, duration=seconds))
        cookie_runs.append(http_load(app.base_url, path, headers=cookie, connections=CONNECTIONS, duration=seconds))
        # unloaded: one connection, one request at a time (what a single user sees)
        app_one.append(http_load(app.base_url, path, headers=stack.auth, connections=1, duration=3))
        base_one.append(http_load(bare.base_url, "/json", connections=1, duration=3))
    rows = load_rows(NAME, app_runs, base_runs, "bare Litestar /json", note=f"c={CONNECTIONS}, {seconds:.0f}s/run")
    for row in rows[1:]:
        row.metric += f" @{CONNECTIONS}"
    errors = sum(r.errors + r.non2xx for r in cookie_runs)
    rows.append(Row(NAME, f"throughput, session cookie @{CONNECTIONS}", "req/s", [r.rps for r in cookie_runs],
                    "bare Litestar /json", [r.rps for r in base_runs], True,
                    note="a logged-in browser: server-side session read per request" +
                    (f"; {errors} errors/non-2xx" if errors else "")))
    rows.append(Row(NAME, f"p99 latency, session cookie @{CONNECTIONS}", "ms", [r.p(99) or 0 for r in cookie_runs],
                    "bare Litestar /json", [r.p(99) or 0 for r in base_runs], False))
    rows.append(Row(NAME, "p50 latency @1 connection", "ms", [r.p(50) or 0 for r in app_one], "bare Litestar /json",
                    [r.p(50) or 0 for r in base_one], False, note="sequential requests, 3 s per run"))
    rows.append(Row(NAME, "p99 latency @1 connection", "ms", [r.p(99) or 0 for r in app_one], "bare Litestar /json",
                    [r.p(99) or 0 for r in base_one], False))
    return rows
