"""An API client bound to a running app (Litestar's AsyncTestClient), with login helpers."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from app.config import Settings
from app.web.asgi import create_app

ADMIN = ("admin", "admin-password-1")


class ApiClient:
    """Wraps one test client; ``as_user`` returns a token-authenticated view for another user."""

    def __init__(self, client: AsyncTestClient[Any], headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = headers or {}

    @property
    def app(self) -> Any:
        return self.client.app

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kwargs)

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("POST", url, **kw)

    async def put(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("PUT", url, **kw)

    async def patch(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("PATCH", url, **kw)

    async def delete(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("DELETE", url, **kw)

    async def token_for(self, username: str, password: str) -> str:
        """Log in (cookie) once to mint an API token, then drop the cookie."""
        login = await self.client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert login.status_code == 200, login.text
        csrf = login.json()["csrf_token"]
        created = await self.client.post("/api/v1/auth/tokens", json={"name": "test"}, headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201, created.text
        await self.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        self.client.cookies.clear()
        return str(created.json()["token"])

    async def as_user(self, username: str, password: str) -> ApiClient:
        token = await self.token_for(username, password)
        return ApiClient(self.client, {"Authorization": f"Bearer {token}"})

    async def admin(self) -> ApiClient:
        return await self.as_user(*ADMIN)

    async def new_user(self, admin: ApiClient, prefix: str = "user") -> tuple[ApiClient, str]:
        """Create a user through the admin API; returns a client for it and its id."""
        name = f"{prefix}-{secrets.token_hex(3)}"
        created = await admin.post("/api/v1/users", json={"username": name, "password": "password-123"})
        assert created.status_code == 201, created.text
        return await self.as_user(name, "password-123"), str(created.json()["id"])


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[ApiClient]:
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        yield ApiClient(client)
