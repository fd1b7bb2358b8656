"""Typed system settings: one validated document, cached, invalidated and audited on write."""

from __future__ import annotations

from typing import Annotated

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.settings import SystemSetting
from app.domain.accounts.principal import Principal
from app.domain.audit.service import record
from app.domain.runtime import Runtime
from app.lib.cache import key

SETTINGS_KEY = "system"
TTL_S = 300


class SystemSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What an administrator may tune at run time (validated on write)."""

    execution_retention_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 90
    workspace_retention_days: Annotated[float, msgspec.Meta(ge=0, le=3650)] = 7
    default_step_timeout_s: Annotated[int, msgspec.Meta(ge=1, le=7 * 86400)] | None = None
    default_execution_timeout_s: Annotated[int, msgspec.Meta(ge=1, le=30 * 86400)] = 6 * 3600
    max_concurrent_executions_per_worker: Annotated[int, msgspec.Meta(ge=1, le=256)] = 8
    lost_message_after_s: Annotated[float, msgspec.Meta(ge=5, le=86400)] = 120
    notify_on_failure: bool = True
    notify_on_success: bool = False
    notification_webhook_url: Annotated[str, msgspec.Meta(max_length=500)] | None = None


def _cache_key(rt: Runtime) -> str:
    return key(rt.settings, "system-settings")


async def _load(session: AsyncSession) -> SystemSettings:
    row = await session.scalar(select(SystemSetting).where(SystemSetting.key == SETTINGS_KEY))
    if row is None:
        return SystemSettings()
    return msgspec.convert(row.value, SystemSettings)


async def current_settings(rt: Runtime) -> SystemSettings:
    cached = await rt.cache.get(_cache_key(rt))
    if isinstance(cached, bytes):
        return msgspec.json.decode(cached, type=SystemSettings)
    async with rt.sessionmaker() as session:
        value = await _load(session)
    await rt.cache.set(_cache_key(rt), msgspec.json.encode(value), expire=TTL_S)
    return value


async def update_settings(session: AsyncSession, rt: Runtime, actor: Principal, data: SystemSettings) -> SystemSettings:
    row = await session.scalar(select(SystemSetting).where(SystemSetting.key == SETTINGS_KEY))
    before = msgspec.to_builtins(await _load(session))
    value = msgspec.to_builtins(data)
    if row is None:
        session.add(SystemSetting(key=SETTINGS_KEY, value=value, updated_by=actor.username))
    else:
        row.value, row.updated_by = value, actor.username
    changed = sorted(k for k in value if before.get(k) != value.get(k))
    record(session, actor, "settings.update", "settings", SETTINGS_KEY, detail={"fields": changed})
    await session.commit()
    await rt.cache.delete(_cache_key(rt))
    return data
