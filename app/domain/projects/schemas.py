"""Project, member and secret shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app.domain.accounts.schemas import END, NO_NUL

ProjectName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*" + END)]
Branch = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Url = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]
Description = Annotated[str, msgspec.Meta(max_length=5000, pattern=NO_NUL)]
Role = Literal["guest", "reporter", "developer", "maintainer", "owner"]
SecretName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*" + END)]


class ProjectCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: ProjectName
    description: Description = ""
    repository_url: Url | None = None
    default_branch: Branch = "main"


class ProjectUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: ProjectName | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    repository_url: Url | msgspec.UnsetType | None = msgspec.UNSET
    default_branch: Branch | msgspec.UnsetType = msgspec.UNSET


class ProjectOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    description: str
    repository_url: str | None
    default_branch: str
    created_at: datetime
    updated_at: datetime
    role: str | None = None


class MemberPut(msgspec.Struct, forbid_unknown_fields=True):
    role: Role


class MemberOut(msgspec.Struct):
    user_id: uuid.UUID
    username: str
    role: str
    created_at: datetime


class SecretPut(msgspec.Struct, forbid_unknown_fields=True):
    value: Annotated[str, msgspec.Meta(max_length=65536)]


class SecretOut(msgspec.Struct):
    name: str
    created_at: datetime
    updated_at: datetime
