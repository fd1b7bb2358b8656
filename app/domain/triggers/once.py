"""``INSERT ... ON CONFLICT DO NOTHING RETURNING``: claim a unique key without raising on a lost race.

Why not insert and catch IntegrityError: on PostgreSQL the error aborts the transaction, and on
SQLite (aiosqlite) the failed statement's cursor is left for the garbage collector, which may
finalise it on the event-loop thread while that connection's worker thread waits for the write
lock, stalling the whole loop until the busy timeout. Both dialects wait for a concurrent
uncommitted twin and then do nothing, so exactly one caller gets the row.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.base import Base


async def insert_once(
    session: AsyncSession, model: type[Base], values: dict[str, Any], keys: list[str]
) -> uuid.UUID | None:
    """Insert the row unless one with the same ``keys`` (a unique constraint) exists; the new id, or None."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=keys).returning(model.id)
    new_id: uuid.UUID | None = (await session.execute(statement)).scalar()
    return new_id
