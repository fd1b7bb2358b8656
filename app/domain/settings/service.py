"""Typed system settings: one validated document, cached, invalidated and audited on write.

Cached: the whole document under ``system-settings`` for ``TTL_S`` seconds (workers read it on
every message); ``update_settings`` deletes it after its commit, in every process.
Field ranges are msgspec constraints (a PUT outside them is a 400 naming the field); rules that
span fields or need parsing are checked in ``_check`` and reported the same way.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.settings import SystemSetting
from app.domain.accounts.principal import Principal
from app.domain.audit.service import record
from app.domain.runtime import Runtime
from app.lib.cache import ansflow_cache, key
from app.lib.errors import FieldError, Forbidden, ValidationFailed

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
    async def load() -> bytes:
        async with rt.sessionmaker() as session:
            return msgspec.json.encode(await _load(session))

    raw = await ansflow_cache(rt.cache).cached("system-settings", _cache_key(rt), load, ttl=TTL_S)
    return msgspec.json.decode(raw, type=SystemSettings)


def _check(data: SystemSettings) -> None:
    problems: list[FieldError] = []
    url = data.notification_webhook_url
    if url is not None and urlparse(url).scheme not in ("http", "https"):
        problems.append(FieldError("notification_webhook_url", "must be an http:// or https:// URL"))
    if url is not None and not urlparse(url).hostname:
        problems.append(FieldError("notification_webhook_url", "must name a host"))
    if data.default_step_timeout_s is not None and data.default_step_timeout_s > data.default_execution_timeout_s:
        problems.append(FieldError("default_step_timeout_s", "must not exceed default_execution_timeout_s"))
    if problems:
        raise ValidationFailed("the settings are invalid", problems)


async def update_settings(session: AsyncSession, rt: Runtime, actor: Principal, data: SystemSettings) -> SystemSettings:
    if not actor.is_admin:
        raise Forbidden("administrators only")
    _check(data)
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
    await ansflow_cache(rt.cache).delete(_cache_key(rt))
    return data
