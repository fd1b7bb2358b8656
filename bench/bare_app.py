"""The baseline: a bare Litestar app served by granian exactly like the real one (same flags, one worker).

- ``GET /json``: a small JSON object shaped like the pipeline status (what a cached read returns).
- ``GET /list``: a page of 20 execution summaries encoded per request (no database, no auth).
- ``POST /login``: decode the body and verify an argon2 hash with the app's own hasher (same parameters,
  same call on the event loop), then answer like the real login: the floor under the real endpoint.
"""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import UTC, datetime

import msgspec
from litestar import Litestar, get, post

from app.lib.security import hash_password, verify_password


class Status(msgspec.Struct):
    pipeline_id: uuid.UUID
    execution_id: uuid.UUID | None
    number: int | None
    status: str | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None


class Summary(msgspec.Struct):
    id: uuid.UUID
    pipeline_id: uuid.UUID
    project_id: uuid.UUID
    pipeline_version: int
    number: int
    status: str
    trigger: str
    priority: str
    queue_reason: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None


class Page(msgspec.Struct):
    items: list[Summary]
    total: int
    limit: int
    offset: int


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str


class LoginOut(msgspec.Struct):
    user: dict[str, str]
    csrf_token: str


NOW = datetime.now(UTC)
PIPELINE, PROJECT = uuid.uuid4(), uuid.uuid4()
STATUS = Status(PIPELINE, uuid.uuid4(), 7, "success", NOW, NOW, NOW, 1234)
ROWS = [Summary(uuid.uuid4(), PIPELINE, PROJECT, 1, n, "success", "manual", "normal", None, NOW, NOW, NOW, 50)
        for n in range(20)]


@get("/json")
async def status() -> Status:
    return STATUS


@get("/list")
async def page() -> Page:
    return Page(items=list(ROWS), total=200, limit=20, offset=0)


def create_app() -> Litestar:
    password = os.environ.get("BENCH_BARE_PASSWORD", "bench-password")
    password_hash = hash_password(password)

    @post("/login", status_code=200)
    async def login(data: LoginIn) -> LoginOut:
        if not verify_password(password_hash, data.password):
            raise ValueError("bad password")
        return LoginOut(user={"username": data.username}, csrf_token=secrets.token_urlsafe(32))

    return Litestar(route_handlers=[status, page, login], debug=False)
