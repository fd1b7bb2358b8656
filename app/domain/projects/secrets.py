"""Project secrets: values encrypted at rest, never returned; only names are listed."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.projects import ProjectSecret
from app.domain.accounts.principal import Principal
from app.domain.audit.service import record
from app.domain.projects.access import require
from app.domain.projects.permissions import Action
from app.domain.projects.schemas import SecretOut
from app.domain.runtime import Runtime
from app.lib.errors import FieldError, NotFound, ValidationFailed

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,99}")  # used with fullmatch: "$" would allow a final newline


async def list_secrets(session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID) -> list[SecretOut]:
    await require(session, rt, actor, project_id, Action.READ)
    rows = await session.scalars(
        select(ProjectSecret).where(ProjectSecret.project_id == project_id).order_by(ProjectSecret.name))
    return [SecretOut(name=s.name, created_at=s.created_at, updated_at=s.updated_at) for s in rows]


async def put_secret(
    session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID, name: str, value: str
) -> SecretOut:
    await require(session, rt, actor, project_id, Action.EDIT)
    if not _NAME.fullmatch(name):
        raise ValidationFailed("invalid secret name", [FieldError(
            "name", "letters, digits, '_' and '-', starting with a letter or '_', at most 100 chars")])
    secret = await session.scalar(
        select(ProjectSecret).where(ProjectSecret.project_id == project_id, ProjectSecret.name == name))
    created = secret is None
    if secret is None:
        secret = ProjectSecret(project_id=project_id, name=name, value_encrypted=rt.box.encrypt(value))
        session.add(secret)
    else:
        secret.value_encrypted = rt.box.encrypt(value)
    await session.flush()
    record(session, actor, "secret.create" if created else "secret.update", "secret", name,
           project_id=project_id)
    await session.commit()
    return SecretOut(name=secret.name, created_at=secret.created_at, updated_at=secret.updated_at)


async def delete_secret(session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID, name: str) -> None:
    await require(session, rt, actor, project_id, Action.EDIT)
    if not _NAME.fullmatch(name):  # cannot exist; and PostgreSQL rejects some such text (NUL) outright
        raise NotFound("secret not found")
    secret = await session.scalar(
        select(ProjectSecret).where(ProjectSecret.project_id == project_id, ProjectSecret.name == name))
    if secret is None:
        raise NotFound("secret not found")
    record(session, actor, "secret.delete", "secret", name, project_id=project_id)
    await session.delete(secret)
    await session.commit()


async def secret_names(session: AsyncSession, project_id: uuid.UUID) -> set[str]:
    return set(await session.scalars(select(ProjectSecret.name).where(ProjectSecret.project_id == project_id)))


async def secret_values(session: AsyncSession, rt: Runtime, project_id: uuid.UUID) -> dict[str, str]:
    """Decrypted values for the engine only; never pass these to a response or an event."""
    rows = await session.scalars(select(ProjectSecret).where(ProjectSecret.project_id == project_id))
    return {s.name: rt.box.decrypt(s.value_encrypted) for s in rows}
