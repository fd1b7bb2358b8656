"""``app.db.engine.create_engine`` on SQLite and PostgreSQL: connects, and integrity errors are told
apart the same way on both (``app.db.errors.is_unique_violation``)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.engine import create_engine, create_sessionmaker
from app.db.errors import is_unique_violation
from app.db.models.accounts import ApiToken, User
from app.web.errors import _is_nul_in_text


@pytest.fixture
async def engine(contract_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(contract_settings)
    yield engine
    await engine.dispose()


async def test_connects_to_the_configured_database(engine: AsyncEngine, flavour: str) -> None:
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1
    assert engine.dialect.name == ("sqlite" if flavour == "memory" else "postgresql")


async def test_duplicate_key_is_a_unique_violation(engine: AsyncEngine) -> None:
    name = f"contract-{secrets.token_hex(4)}"
    sessions = create_sessionmaker(engine)
    async with sessions() as session:
        session.add(User(username=name, password_hash="x"))
        await session.commit()
    try:
        async with sessions() as session:
            session.add(User(username=name, password_hash="y"))
            with pytest.raises(IntegrityError) as raised:
                await session.commit()
        assert is_unique_violation(raised.value)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM users WHERE username = :n"), {"n": name})


async def test_other_integrity_errors_are_not_unique_violations(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    async with sessions() as session:  # a foreign key to nobody (SQLite needs PRAGMA foreign_keys=ON)
        session.add(ApiToken(user_id=uuid.uuid4(), name="t", token_hash=secrets.token_hex(32), prefix="p"))
        with pytest.raises(IntegrityError) as fk:
            await session.commit()
    assert not is_unique_violation(fk.value)
    async with sessions() as session:  # NOT NULL
        session.add(User(username=f"contract-{secrets.token_hex(4)}", password_hash=None))
        with pytest.raises(IntegrityError) as not_null:
            await session.commit()
    assert not is_unique_violation(not_null.value)
    assert not is_unique_violation(ValueError("unique constraint"))


async def test_text_with_nul(engine: AsyncEngine, flavour: str) -> None:
    """SQLite stores NUL; PostgreSQL refuses it with SQLSTATE 22021, which the web layer maps to a 400."""
    async with engine.connect() as conn:
        if flavour == "memory":
            assert await conn.scalar(text("SELECT :v"), {"v": "a\x00b"}) == "a\x00b"
            return
        with pytest.raises(DBAPIError) as raised:
            await conn.scalar(text("SELECT :v"), {"v": "a\x00b"})
    assert _is_nul_in_text(raised.value)


async def test_sqlite_pragmas(engine: AsyncEngine, flavour: str) -> None:
    if flavour != "memory":
        pytest.skip("SQLite only")
    async with engine.connect() as conn:
        assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
        assert str(await conn.scalar(text("PRAGMA journal_mode"))).lower() == "wal"
        assert await conn.scalar(text("PRAGMA busy_timeout")) == 30000
