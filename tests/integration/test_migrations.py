"""Migrations: from empty to head and back to base on SQLite and PostgreSQL; models and migrations agree.

SQLite runs on every backend; PostgreSQL runs with ``--backend=real`` on a throw-away database.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from app.config import ConfigError, Settings
from app.db.engine import create_engine
from app.db.migrate import alembic_config, compare_type, head_revision, upgrade
from app.db.models.registry import metadata
from tests.support.backends import PG_ADMIN_URL, BackendSet
from tests.support.client import running_app


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, backend_name: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a database with no tables at all."""
    if request.param == "sqlite":
        yield Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}", secret_key="m")
        return
    if backend_name != "real":
        pytest.skip("PostgreSQL migrations run with --backend=real")
    name = f"ansflow_migrate_{secrets.token_hex(4)}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    pg = urlparse(PG_ADMIN_URL)
    try:
        yield Settings(
            database_url=f"postgresql+asyncpg://{pg.username or 'postgres'}@{pg.hostname}:{pg.port or 5432}/{name}",
            secret_key="m")
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _inspect(settings: Settings, fn: Any) -> Any:
    async def run() -> Any:
        engine = create_engine(settings, pool_size=1)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def tables(settings: Settings) -> set[str]:
    return set(_inspect(settings, lambda conn: inspect(conn).get_table_names()))


def schema_diff(settings: Settings) -> list[Any]:
    def diff(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": compare_type,
                                                         "compare_server_default": False})
        return list(compare_metadata(context, metadata))

    return list(_inspect(settings, diff))


def enum_types(settings: Settings) -> list[str]:
    if settings.is_sqlite:
        return []
    return list(_inspect(settings, lambda conn: [r[0] for r in conn.execute(
        text("SELECT typname FROM pg_type WHERE typtype = 'e'"))]))


def test_one_head_and_every_revision_reversible() -> None:
    script = ScriptDirectory.from_config(alembic_config(Settings()))
    assert len(script.get_heads()) == 1, f"branched migration history: {script.get_heads()}"
    for revision in script.walk_revisions():
        source = Path(revision.path).read_text()
        assert "def downgrade" in source and "pass\n" not in source.split("def downgrade", 1)[1][:200], (
            f"{revision.revision} has no real downgrade")


def test_upgrade_from_empty_downgrade_to_base_and_up_again(empty_database: Settings) -> None:
    settings = empty_database
    assert tables(settings) == set()
    upgrade(settings)
    created = tables(settings)
    assert set(metadata.tables) <= created, f"missing after upgrade: {set(metadata.tables) - created}"
    command.downgrade(alembic_config(settings), "base")
    assert tables(settings) <= {"alembic_version"}, f"left behind by downgrade: {tables(settings)}"
    assert enum_types(settings) == [], "downgrades must drop enum types too"
    upgrade(settings)
    assert set(metadata.tables) <= tables(settings)
    assert schema_diff(settings) == []


def test_models_and_migrations_agree(empty_database: Settings) -> None:
    """``alembic revision --autogenerate`` against a migrated database would produce nothing."""
    upgrade(empty_database)
    diff = schema_diff(empty_database)
    assert diff == [], "models and migrations disagree; write a migration:\n" + "\n".join(map(str, diff))


def test_the_test_database_is_at_head(backends: BackendSet) -> None:
    async def current() -> str | None:
        engine = create_engine(backends.settings, pool_size=1)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
        finally:
            await engine.dispose()

    assert asyncio.run(current()) == head_revision(backends.settings)


async def test_app_refuses_to_start_on_an_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", secret_key="m",
                        workspace_dir=str(tmp_path / "ws"))
    with pytest.raises(BaseException) as raised:  # the test client wraps it in an ExceptionGroup
        async with running_app(settings):
            pass
    found = raised.value
    while isinstance(found, BaseExceptionGroup) and len(found.exceptions) == 1:
        found = found.exceptions[0]
    assert isinstance(found, ConfigError), repr(raised.value)
    assert "not migrated" in str(found) and "just migrate" in str(found)
