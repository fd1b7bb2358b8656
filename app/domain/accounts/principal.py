"""Who is acting, and from where: passed from adapters into every domain service call."""

from __future__ import annotations

import uuid

import msgspec


class RequestMeta(msgspec.Struct, frozen=True):
    ip: str | None = None
    user_agent: str | None = None


class Principal(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    username: str
    is_admin: bool
    via: str = "session"  # session | token | system
    meta: RequestMeta = RequestMeta()


SYSTEM = Principal(user_id=uuid.UUID(int=0), username="system", is_admin=True, via="system")
