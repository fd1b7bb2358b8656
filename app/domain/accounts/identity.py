"""Cached identity lookups for the per-request auth path (token -> user, session user id -> user).

Every authenticated request resolved its principal with a database query; these entries keep
that off the hot path. Writers invalidate: revoking a token drops its entry, and any change to a
user (update, deactivate, delete, own password) drops the user's entries by tag, so the next
request sees the change.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import ApiToken, User
from app.lib.cache import AnsflowCache, key

TTL_S = 60.0


class UserEntry(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    username: str
    is_admin: bool
    is_active: bool


class TokenEntry(msgspec.Struct, frozen=True):
    token_id: uuid.UUID
    user: UserEntry
    revoked: bool
    expires_at: datetime | None
    last_used_at: datetime | None


_user_decoder: msgspec.json.Decoder[UserEntry | None] = msgspec.json.Decoder(UserEntry | None)
_token_decoder: msgspec.json.Decoder[TokenEntry | None] = msgspec.json.Decoder(TokenEntry | None)


def user_tag(user_id: uuid.UUID) -> str:
    return f"identity-user:{user_id}"


def _entry(user: User) -> UserEntry:
    return UserEntry(user_id=user.id, username=user.username, is_admin=user.is_admin, is_active=user.is_active)


async def load_user(session: AsyncSession, cache: AnsflowCache | None, user_id: uuid.UUID) -> UserEntry | None:
    async def load() -> bytes:
        user = await session.get(User, user_id)
        return msgspec.json.encode(_entry(user) if user else None)

    if cache is None:
        return _user_decoder.decode(await load())
    return await cache.cached_as(
        "identity_user", key(cache.settings, "identity", "user", user_id), load, _user_decoder.decode,
        ttl=TTL_S, tags=[user_tag(user_id)],
    )


async def load_token(session: AsyncSession, cache: AnsflowCache | None, token_hash: str) -> TokenEntry | None:
    async def load() -> bytes:
        row = (
            await session.execute(
                select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == token_hash)
            )
        ).first()
        if row is None:
            return msgspec.json.encode(None)
        token, user = row
        if cache is not None:
            await cache.tag(token_key(cache, token_hash), user_tag(user.id))
        return msgspec.json.encode(
            TokenEntry(
                token_id=token.id,
                user=_entry(user),
                revoked=token.revoked_at is not None,
                expires_at=token.expires_at,
                last_used_at=token.last_used_at,
            )
        )

    if cache is None:
        return _token_decoder.decode(await load())
    return await cache.cached_as("identity_token", token_key(cache, token_hash), load, _token_decoder.decode, ttl=TTL_S)


def token_key(cache: AnsflowCache, token_hash: str) -> str:
    return key(cache.settings, "identity", "token", token_hash)


async def forget_user(cache: AnsflowCache | None, user_id: uuid.UUID) -> None:
    if cache is not None:
        await cache.invalidate_tags(user_tag(user_id))


async def forget_token(cache: AnsflowCache | None, token_hash: str) -> None:
    if cache is not None:
        await cache.delete(token_key(cache, token_hash))
