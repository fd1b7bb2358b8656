"""Programmatic Alembic: upgrade to head, and tell whether a database is at head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advanced_alchemy.types import GUID
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def compare_type(
    context: Any, inspected: Any, metadata_column: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    """Alembic's type comparison minus a false positive: SQLite has no UUID type, advanced-alchemy's
    GUID is BINARY(16) there, and SQLite reflects an unknown BINARY as NUMERIC."""
    if isinstance(metadata_type, GUID) and context.dialect.name == "sqlite":
        return type(inspected_type).__name__.upper() not in {"NUMERIC", "BINARY", "BLOB", "NULLTYPE"}
    return None  # the default comparison


def alembic_config(settings: Settings) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["settings"] = settings
    cfg.attributes["skip_logging"] = True
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Apply migrations (blocking; run it outside an event loop or in a thread)."""
    command.upgrade(alembic_config(settings), revision)


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision())
