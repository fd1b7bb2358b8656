"""Personal API tokens: shown once, stored as SHA-256, expirable, revocable, last-use tracked."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import ApiToken
from app.domain.accounts.identity import forget_token, load_token
from app.domain.accounts.principal import Principal, RequestMeta
from app.domain.accounts.schemas import TokenCreate, TokenCreated, TokenOut
from app.domain.audit.service import record
from app.lib.cache import AnsflowCache
from app.lib.cache.derived import note_valid_for
from app.lib.clock import ensure_utc, utcnow
from app.lib.errors import NotAuthenticated, NotFound
from app.lib.security import hash_token, new_api_token

LAST_USED_RESOLUTION = timedelta(minutes=1)  # avoid a write on every request


def token_out(t: ApiToken) -> TokenOut:
    return TokenOut(id=t.id, name=t.name, prefix=t.prefix, expires_at=t.expires_at,
                    revoked_at=t.revoked_at, last_used_at=t.last_used_at, created_at=t.created_at)


async def create_token(session: AsyncSession, actor: Principal, data: TokenCreate) -> TokenCreated:
    value = new_api_token()
    expires = utcnow() + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    token = ApiToken(user_id=actor.user_id, name=data.name, token_hash=hash_token(value),
                     prefix=value[:10], expires_at=expires)
    session.add(token)
    await session.flush()
    record(session, actor, "token.create", "token", token.id, detail={"name": data.name})
    await session.commit()
    return TokenCreated(id=token.id, name=token.name, token=value, expires_at=expires,
                        created_at=token.created_at)


async def list_tokens(session: AsyncSession, actor: Principal) -> list[TokenOut]:
    rows = await session.scalars(
        select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.created_at.desc())
    )
    return [token_out(t) for t in rows]


async def revoke_token(
    session: AsyncSession, actor: Principal, token_id: uuid.UUID, cache: AnsflowCache | None = None
) -> None:
    token = await session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.user_id and not actor.is_admin):
        raise NotFound("token not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    record(session, actor, "token.revoke", "token", token.id, detail={"name": token.name})
    await session.commit()
    await forget_token(cache, token.token_hash)


async def principal_for_token(
    session: AsyncSession, value: str, meta: RequestMeta, cache: AnsflowCache | None = None
) -> Principal:
    """Resolve a bearer token; revoked, expired and unknown tokens are all just 'not authenticated'."""
    token_hash = hash_token(value)
    entry = await load_token(session, cache, token_hash)
    if entry is None:
        raise NotAuthenticated("invalid API token")
    now = utcnow()
    if entry.revoked or not entry.user.is_active:
        raise NotAuthenticated("API token revoked")
    if entry.expires_at is not None and ensure_utc(entry.expires_at) <= now:
        raise NotAuthenticated("API token expired")
    if entry.last_used_at is None or now - ensure_utc(entry.last_used_at) > LAST_USED_RESOLUTION:
        await session.execute(update(ApiToken).where(ApiToken.id == entry.token_id).values(last_used_at=now))
        await session.commit()
        await forget_token(cache, token_hash)
    else:  # an answer derived from this check must be re-checked when it would stamp or expire
        valid_until = ensure_utc(entry.last_used_at) + LAST_USED_RESOLUTION
        if entry.expires_at is not None:
            valid_until = min(valid_until, ensure_utc(entry.expires_at))
        note_valid_for((valid_until - now).total_seconds())
    user = entry.user
    return Principal(user_id=user.user_id, username=user.username, is_admin=user.is_admin, via="token", meta=meta)
