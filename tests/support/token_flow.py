"""Run a token's whole life against a fresh app in this process; the caller captures its output.

``python -m tests.support.token_flow OUT_FILE`` with the ANSFLOW_* environment of a test backend
(and ANSFLOW_LOG_LEVEL=debug). The token value is written to OUT_FILE, never printed: the parent
test then searches everything the process logged for it. A fresh process, because structlog
loggers cached earlier in a test session keep writing to whatever stream was current then.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from app.config import Settings
from tests.support.client import ADMIN, running_app


async def flow(out: Path) -> None:
    async with running_app(Settings.from_env()) as api:
        # as verbose as anything can get, after Litestar applied its logging config at start-up
        logging.getLogger().setLevel(logging.DEBUG)
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # statements with their parameters
        login = await api.client.post("/api/v1/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
        assert login.status_code == 200, login.text
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        created = await api.client.post("/api/v1/auth/tokens", json={"name": "logged?", "expires_in_days": 3},
                                        headers=csrf)
        assert created.status_code == 201, created.text
        token, token_id = created.json()["token"], created.json()["id"]
        await asyncio.to_thread(out.write_text, token)
        await api.client.post("/api/v1/auth/logout", headers=csrf)
        api.client.cookies.clear()
        bearer = {"Authorization": f"Bearer {token}"}
        for url in ("/api/v1/auth/me", "/api/v1/auth/tokens", "/api/v1/audit-logs?limit=5", "/api/v1/projects",
                    "/api/v1/users/00000000-0000-0000-0000-000000000000", "/api/v1/nowhere"):
            await api.client.get(url, headers=bearer)
        bad = await api.client.post("/api/v1/projects", json={"name": 5}, headers=bearer)
        assert bad.status_code == 400, bad.text
        revoked = await api.client.delete(f"/api/v1/auth/tokens/{token_id}", headers=bearer)
        assert revoked.status_code == 204, revoked.text
        after = await api.client.get("/api/v1/auth/me", headers=bearer)
        assert after.status_code == 401, after.text
        wrong = await api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}x"})
        assert wrong.status_code == 401, wrong.text


if __name__ == "__main__":
    asyncio.run(flow(Path(sys.argv[1])))
