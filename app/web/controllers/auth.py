"""Login/logout (server-side session + CSRF token), the current user, personal API tokens."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts import tokens, users
from app.domain.accounts.principal import Principal
from app.domain.accounts.ratelimit import LoginLimiter
from app.domain.accounts.schemas import LoginIn, LoginOut, MeUpdate, TokenCreate, TokenCreated, TokenOut, UserOut
from app.domain.audit.service import record
from app.domain.runtime import Runtime
from app.web.deps import drop_presented_session, request_meta
from app.web.problems import StrictBody, error_responses

CSRF_HEADER_NAME = "X-CSRF-Token"


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", status_code=200, responses=error_responses(400, 401, 429))
    async def login(
        self, request: Request[Any, Any, Any], data: StrictBody[LoginIn], db: AsyncSession, rt: Runtime
    ) -> LoginOut:
        """Check credentials and start a server-side session; the body carries the CSRF token."""
        limiter = LoginLimiter(rt.cache, rt.settings)
        user, csrf = await users.authenticate(db, limiter, data.username, data.password, request_meta(request))
        await drop_presented_session(request)  # a new session id on every login (no fixation)
        request.set_session({"user_id": str(user.id), "csrf": csrf})
        return LoginOut(user=users.user_out(user), csrf_token=csrf)

    @post("/logout", status_code=204,
          responses=error_responses(401, 403))
    async def logout(self, request: Request[Any, Any, Any], principal: Principal, db: AsyncSession) -> None:
        record(db, principal, "auth.logout", "user", principal.user_id)
        await db.commit()
        request.clear_session()

    @get("/me", responses=error_responses(401))
    async def me(self, request: Request[Any, Any, Any], principal: Principal, db: AsyncSession) -> Response[UserOut]:
        """The current user; a cookie session also gets its CSRF token back (for a new browser tab)."""
        user = users.user_out(await users.get_user(db, principal.user_id))
        csrf = request.session.get("csrf") if principal.via == "session" else None
        return Response(user, headers={CSRF_HEADER_NAME: str(csrf)} if csrf else None)

    @patch("/me", responses=error_responses(400, 401, 403))
    async def update_me(
        self, data: StrictBody[MeUpdate], principal: Principal, db: AsyncSession, rt: Runtime
    ) -> UserOut:
        return await users.update_me(db, principal, data, rt.cache)

    @post("/tokens", responses=error_responses(400, 401, 403))
    async def create_token(self, data: StrictBody[TokenCreate], principal: Principal, db: AsyncSession) -> TokenCreated:
        """The token value is in this response only; it is stored hashed."""
        return await tokens.create_token(db, principal, data)

    @get("/tokens", responses=error_responses(401))
    async def list_tokens(self, principal: Principal, db: AsyncSession) -> list[TokenOut]:
        return await tokens.list_tokens(db, principal)

    @delete("/tokens/{token_id:uuid}",
            responses=error_responses(400, 401, 403, 404))
    async def revoke_token(self, token_id: uuid.UUID, principal: Principal, db: AsyncSession, rt: Runtime) -> None:
        await tokens.revoke_token(db, principal, token_id, rt.cache)
