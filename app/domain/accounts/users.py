"""User accounts: login, bootstrap admin, admin management, self-service changes."""

from __future__ import annotations

import secrets
import uuid

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.errors import is_unique_violation
from app.db.models.accounts import User
from app.domain.accounts.identity import forget_user, load_user
from app.domain.accounts.principal import Principal, RequestMeta
from app.domain.accounts.ratelimit import LoginLimiter
from app.domain.accounts.schemas import MeUpdate, UserCreate, UserOut, UserUpdate
from app.domain.audit.service import record
from app.lib.cache import AnsflowCache
from app.lib.clock import utcnow
from app.lib.errors import Conflict, Forbidden, NotAuthenticated, NotFound, RateLimited, ValidationFailed
from app.lib.security import hash_password, verify_password


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id, username=user.username, email=user.email, is_admin=user.is_admin,
        is_active=user.is_active, created_at=user.created_at,
    )


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    return user


async def authenticate(
    session: AsyncSession, limiter: LoginLimiter, username: str, password: str, meta: RequestMeta
) -> tuple[User, str]:
    """Check credentials (rate limited) and return the user plus a fresh CSRF token."""
    try:
        await limiter.check(username, meta.ip)
    except RateLimited:  # refused attempts are audited too: a brute force stays visible
        record(session, None, "auth.login_failed", "user", None, result="rate_limited", meta=meta,
               actor_name=username[:64])
        await session.commit()
        raise
    user = await session.scalar(select(User).where(User.username == username))
    if user is None or not verify_password(user.password_hash, password) or not user.is_active:
        await limiter.failed(username, meta.ip)
        record(session, None, "auth.login_failed", "user", user.id if user else None,
               result="failure", meta=meta, actor_name=username[:64])
        await session.commit()
        raise NotAuthenticated("invalid username or password")
    await limiter.succeeded(username)
    user.last_login_at = utcnow()
    principal = Principal(user_id=user.id, username=user.username, is_admin=user.is_admin, meta=meta)
    record(session, principal, "auth.login", "user", user.id)
    await session.commit()
    return user, secrets.token_urlsafe(32)


async def ensure_admin(session: AsyncSession, username: str, password: str) -> bool:
    """Create the bootstrap admin if no user of that name exists. Returns True when created."""
    if not username or not password:
        return False
    if await session.scalar(select(User.id).where(User.username == username)):
        return False
    session.add(User(username=username, password_hash=hash_password(password), is_admin=True))
    try:
        await session.commit()
    except IntegrityError:  # another process created it at the same moment
        await session.rollback()
        return False
    return True


async def list_users(session: AsyncSession, limit: int, offset: int) -> tuple[list[UserOut], int]:
    total = await session.scalar(select(func.count()).select_from(User)) or 0
    rows = await session.scalars(select(User).order_by(User.username).limit(limit).offset(offset))
    return [user_out(u) for u in rows], total


async def create_user(session: AsyncSession, actor: Principal, data: UserCreate) -> UserOut:
    user = User(
        username=data.username, email=data.email, password_hash=hash_password(data.password),
        is_admin=data.is_admin,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        if is_unique_violation(exc):
            raise Conflict(f"username {data.username!r} is taken") from exc
        raise
    record(session, actor, "user.create", "user", user.id, detail={"username": user.username})
    await session.commit()
    return user_out(user)


async def update_user(
    session: AsyncSession, actor: Principal, user_id: uuid.UUID, data: UserUpdate, cache: AnsflowCache | None = None
) -> UserOut:
    user = await get_user(session, user_id)
    changed = [f for f in data.__struct_fields__ if getattr(data, f) is not msgspec.UNSET]
    if user.id == actor.user_id and (data.is_admin is False or data.is_active is False):
        raise Conflict("you cannot remove your own admin rights or deactivate yourself")
    if not isinstance(data.email, msgspec.UnsetType):
        user.email = data.email
    if not isinstance(data.password, msgspec.UnsetType):
        user.password_hash = hash_password(data.password)
    if not isinstance(data.is_admin, msgspec.UnsetType):
        user.is_admin = data.is_admin
    if not isinstance(data.is_active, msgspec.UnsetType):
        user.is_active = data.is_active
    record(session, actor, "user.update", "user", user.id, detail={"fields": changed})
    await session.commit()
    await forget_user(cache, user_id)
    return user_out(user)


async def delete_user(
    session: AsyncSession, actor: Principal, user_id: uuid.UUID, cache: AnsflowCache | None = None
) -> None:
    user = await get_user(session, user_id)
    if user.id == actor.user_id:
        raise Conflict("you cannot delete yourself")
    record(session, actor, "user.delete", "user", user.id, detail={"username": user.username})
    await session.delete(user)
    await session.commit()
    await forget_user(cache, user_id)


async def update_me(
    session: AsyncSession, actor: Principal, data: MeUpdate, cache: AnsflowCache | None = None
) -> UserOut:
    user = await get_user(session, actor.user_id)
    if not verify_password(user.password_hash, data.current_password):
        raise Forbidden("current password is wrong")
    if isinstance(data.email, msgspec.UnsetType) and isinstance(data.password, msgspec.UnsetType):
        raise ValidationFailed("nothing to change: give email or password")
    if not isinstance(data.email, msgspec.UnsetType):
        user.email = data.email
    if not isinstance(data.password, msgspec.UnsetType):
        user.password_hash = hash_password(data.password)
    record(session, actor, "user.update_self", "user", user.id)
    await session.commit()
    await forget_user(cache, actor.user_id)
    return user_out(user)


async def load_principal(
    session: AsyncSession, user_id: uuid.UUID, via: str, meta: RequestMeta, cache: AnsflowCache | None = None
) -> Principal:
    user = await load_user(session, cache, user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("session is no longer valid")
    return Principal(user_id=user.user_id, username=user.username, is_admin=user.is_admin, via=via, meta=meta)
