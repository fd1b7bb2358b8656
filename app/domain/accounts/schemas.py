"""Request and response shapes for accounts (msgspec Structs; inputs reject unknown fields)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: reject it at the boundary on every backend
# msgspec matches with Python's re, where ``$`` also matches before a final newline ("abc\n" passed);
# ``$(?!\n)`` means end of text there and in JSON Schema (ECMA 262) alike.
END = r"$(?!\n)"
Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+" + END)]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
# No ``\s``: Python's and JSON Schema's (ECMA 262) ``\s`` differ (\x1c-\x1f, \x85, \ufeff), so the documented
# pattern would accept what the server rejects. Spell out every whitespace/control character instead.
_EMAIL_CHAR = r"[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
Email = Annotated[str, msgspec.Meta(max_length=255, pattern=f"^{_EMAIL_CHAR}+@{_EMAIL_CHAR}+{END}")]
TokenName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]
    password: Annotated[str, msgspec.Meta(max_length=256)]


class UserOut(msgspec.Struct):
    id: uuid.UUID
    username: str
    email: str | None
    is_admin: bool
    is_active: bool
    created_at: datetime


class LoginOut(msgspec.Struct):
    user: UserOut
    csrf_token: str


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password
    email: Email | None = None
    is_admin: bool = False


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET
    is_admin: bool | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


class MeUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A user changes their own email or password; the current password proves it is them."""

    current_password: Annotated[str, msgspec.Meta(max_length=256)]
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET


class TokenCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: TokenName
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None


class TokenCreated(msgspec.Struct):
    id: uuid.UUID
    name: str
    token: str
    expires_at: datetime | None
    created_at: datetime


class TokenOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime
