"""Admin user management."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts import users
from app.domain.accounts.principal import Principal
from app.domain.accounts.schemas import UserCreate, UserOut, UserUpdate
from app.domain.runtime import Runtime
from app.web.deps import provide_admin
from app.web.pagination import Limit, Offset, Page
from app.web.problems import StrictBody, error_responses


class UsersController(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    dependencies = {"admin": Provide(provide_admin)}

    @get("/", responses=error_responses(400, 401, 403))
    async def list_users(
        self, admin: Principal, db: AsyncSession, limit: Limit = 20, offset: Offset = 0
    ) -> Page[UserOut]:
        items, total = await users.list_users(db, limit, offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @post("/", responses=error_responses(400, 401, 403, 409))
    async def create_user(self, data: StrictBody[UserCreate], admin: Principal, db: AsyncSession) -> UserOut:
        return await users.create_user(db, admin, data)

    @get("/{user_id:uuid}", responses=error_responses(400, 401, 403, 404))
    async def get_user(self, user_id: uuid.UUID, admin: Principal, db: AsyncSession) -> UserOut:
        return users.user_out(await users.get_user(db, user_id))

    @patch("/{user_id:uuid}", responses=error_responses(400, 401, 403, 404, 409))
    async def update_user(
        self, user_id: uuid.UUID, data: StrictBody[UserUpdate], admin: Principal, db: AsyncSession, rt: Runtime
    ) -> UserOut:
        return await users.update_user(db, admin, user_id, data, rt.cache)

    @delete("/{user_id:uuid}", responses=error_responses(400, 401, 403, 404, 409))
    async def delete_user(self, user_id: uuid.UUID, admin: Principal, db: AsyncSession, rt: Runtime) -> None:
        await users.delete_user(db, admin, user_id, rt.cache)
