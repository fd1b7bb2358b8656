"""Personal API tokens: shown once, stored hashed, expiring, revocable; never in responses, audit or logs."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.config import Settings
from app.db.engine import create_engine
from app.db.models.accounts import ApiToken
from app.db.models.audit import AuditLog
from app.domain.accounts.identity import forget_token
from app.lib.cache import create_cache
from app.lib.clock import ensure_utc, utcnow
from app.lib.security import hash_token
from tests.support.backends import BackendSet
from tests.support.client import ADMIN, ApiClient
from tests.support.workers import ROOT, settings_env


async def new_token(api: ApiClient, owner: ApiClient, **body: object) -> tuple[str, str, ApiClient]:
    created = await owner.post("/api/v1/auth/tokens", json={"name": "t", **body})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    return token, created.json()["id"], ApiClient(api.client, {"Authorization": f"Bearer {token}"})


async def db_rows(settings: Settings, model: type) -> list[dict[str, object]]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(select(model.__table__))  # type: ignore[attr-defined]
            return [dict(row._mapping) for row in result]
    finally:
        await engine.dispose()


async def set_expiry(settings: Settings, token_id: str, when: datetime) -> None:
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(ApiToken).where(ApiToken.id == uuid.UUID(token_id)).values(expires_at=when))
    finally:
        await engine.dispose()


async def test_revoked_token_is_rejected(api: ApiClient) -> None:
    admin = await api.admin()
    _, token_id, client = await new_token(api, admin)
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    revoked = await admin.delete(f"/api/v1/auth/tokens/{token_id}")
    assert revoked.status_code == 204, revoked.text
    after = await client.get("/api/v1/auth/me")
    assert after.status_code == 401, after.text
    assert after.headers["content-type"].startswith("application/problem+json")
    listed = {t["id"]: t for t in (await admin.get("/api/v1/auth/tokens")).json()}
    assert listed[token_id]["revoked_at"] is not None
    assert (await client.post("/api/v1/projects", json={"name": "revoked-write"})).status_code == 401


async def test_a_token_can_revoke_itself(api: ApiClient) -> None:
    admin = await api.admin()
    _, token_id, client = await new_token(api, admin)
    assert (await client.delete(f"/api/v1/auth/tokens/{token_id}")).status_code == 204
    assert (await client.get("/api/v1/auth/tokens")).status_code == 401


async def test_expired_token_is_rejected(api: ApiClient, backends: BackendSet) -> None:
    admin = await api.admin()
    before = utcnow()
    created = await admin.post("/api/v1/auth/tokens", json={"name": "short", "expires_in_days": 1})
    assert created.status_code == 201, created.text
    expires = created.json()["expires_at"]
    assert expires is not None
    client = ApiClient(api.client, {"Authorization": f"Bearer {created.json()['token']}"})
    assert (await client.get("/api/v1/auth/me")).status_code == 200, "valid until it expires"
    rows = {str(r["id"]): r for r in await db_rows(backends.settings, ApiToken)}
    stored = ensure_utc(rows[created.json()["id"]]["expires_at"])  # type: ignore[arg-type]
    assert timedelta(hours=23) < stored - before < timedelta(hours=25)
    await set_expiry(backends.settings, created.json()["id"], utcnow() - timedelta(seconds=1))
    # the edit bypasses the app, so drop the cached copy of the token as a writer would: on Redis
    # through a client of this test's own loop (the app's is bound to the app's loop); in process,
    # through the app's memory cache itself
    if backends.name == "real":
        cache = create_cache(backends.settings)
        await forget_token(cache, hash_token(created.json()["token"]))
        await cache.close()
    else:
        await forget_token(api.app.state.runtime.cache, hash_token(created.json()["token"]))
    expired = await client.get("/api/v1/auth/me")
    assert expired.status_code == 401, expired.text
    assert "expired" in expired.json()["detail"]


async def test_unknown_malformed_and_deactivated_tokens_are_rejected(api: ApiClient) -> None:
    admin = await api.admin()
    for header in ("Bearer nope", "Bearer ", "Bearer afp_" + "A" * 43, "Basic YWRtaW46eA==", "bearer"):
        response = await api.client.get("/api/v1/auth/me", headers={"Authorization": header})
        assert response.status_code == 401, (header, response.text)
    user, user_id = await api.new_user(admin, "deactivated")
    assert (await user.get("/api/v1/auth/me")).status_code == 200
    assert (await admin.patch(f"/api/v1/users/{user_id}", json={"is_active": False})).status_code == 200
    assert (await user.get("/api/v1/auth/me")).status_code == 401


async def test_token_is_stored_hashed_and_tracks_last_use(api: ApiClient, backends: BackendSet) -> None:
    admin = await api.admin()
    token, token_id, client = await new_token(api, admin)
    assert token.startswith("afp_") and len(token) >= 40
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    row = next(r for r in await db_rows(backends.settings, ApiToken) if str(r["id"]) == token_id)
    assert row["token_hash"] == hash_token(token)
    assert not any(token in str(value) or token[10:] in str(value) for value in row.values())
    assert row["last_used_at"] is not None
    listed = next(t for t in (await admin.get("/api/v1/auth/tokens")).json() if t["id"] == token_id)
    assert listed["last_used_at"] is not None


async def test_token_value_appears_only_in_the_creation_response(api: ApiClient, backends: BackendSet) -> None:
    admin = await api.admin()
    token, token_id, client = await new_token(api, admin, expires_in_days=30)
    secret_part = token[10:]  # the listed prefix is token[:10], for recognising a token, not using it
    seen = []
    for who in (admin, client):
        for url in ("/api/v1/auth/tokens", "/api/v1/auth/me", "/api/v1/audit-logs?limit=200",
                    "/api/v1/audit-logs?action=token.create", "/api/v1/users?limit=200"):
            response = await who.get(url)
            assert response.status_code == 200, (url, response.text)
            seen.append((url, response.text))
    seen.append(("revoke", (await client.delete(f"/api/v1/auth/tokens/{token_id}")).text))
    seen.append(("after revoke", (await client.get("/api/v1/auth/me")).text))
    leaks = [url for url, text in seen if token in text or secret_part in text]
    assert not leaks, f"token value returned again by {leaks}"
    audit = await db_rows(backends.settings, AuditLog)
    assert any(r["action"] == "token.create" and r["resource_id"] == token_id for r in audit)
    assert any(r["action"] == "token.revoke" and r["resource_id"] == token_id for r in audit)
    leaked_rows = [r for r in audit if any(secret_part in str(v) for v in r.values())]
    assert not leaked_rows, f"token value in audit rows: {leaked_rows}"


@pytest.mark.timeout(120)
def test_token_value_and_password_never_reach_the_logs(backends: BackendSet, tmp_path: Path) -> None:
    """A separate process logs at debug level (SQL statements with parameters included) while a token
    is created, used, rejected and revoked; neither the token nor the admin password shows up."""
    out = tmp_path / "token.txt"
    env = {**settings_env(backends.settings), "ANSFLOW_LOG_LEVEL": "debug", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, "-m", "tests.support.token_flow", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=110)
    logs = done.stdout + done.stderr
    assert done.returncode == 0, logs[-4000:]
    token = out.read_text()
    assert "api_tokens" in logs, "the capture saw no SQL log lines: is debug logging still wired to SQLAlchemy?"
    assert hash_token(token) in logs, "SQL parameters are logged, so a token passed to SQL would show"
    assert token[10:] not in logs, "the token value was logged"
    assert ADMIN[1] not in logs, "the admin password was logged"
