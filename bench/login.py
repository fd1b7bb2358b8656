"""(c) ``POST /api/v1/auth/login`` (argon2, session, audit row) vs a bare endpoint doing the same argon2 verify."""

from __future__ import annotations

import json

from bench.common import load_rows
from bench.core import Row
from bench.load import http_load
from bench.stack import ADMIN_USER, Stack

NAME = "login"
DESCRIPTION = "POST /auth/login vs bare Litestar POST /login with the app's argon2 hasher (wrk -t1 -c8)"
CONNECTIONS = 8


def run(stack: Stack) -> list[Row]:
    app, bare = stack.app(), stack.bare()
    body = json.dumps({"username": ADMIN_USER, "password": stack.admin_password})
    check = stack.client().post("/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"})
    check.raise_for_status()
    seconds = stack.load_seconds
    app_runs, base_runs = [], []
    for _ in range(stack.repeat):
        app_runs.append(http_load(app.base_url, "/api/v1/auth/login", method="POST", body=body,
                                  connections=CONNECTIONS, duration=seconds))
        base_runs.append(http_load(bare.base_url, "/login", method="POST", body=body, connections=CONNECTIONS,
                                   duration=seconds))
    return load_rows(NAME, app_runs, base_runs, "bare argon2 verify endpoint",
                     note=f"c={CONNECTIONS}, {seconds:.0f}s/run")
