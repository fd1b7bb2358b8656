"""Maintenance: the sweeper (lease expiry, lost messages, execution and workspace retention)."""

from __future__ import annotations

from app.domain.executions.sweeper import sweep as sweep_once
from app.domain.settings.service import current_settings
from workers.context import CONTEXT


async def sweep() -> None:
    rt = await CONTEXT.get()
    system = await current_settings(rt)
    await sweep_once(rt, lost_after_s=system.lost_message_after_s, retention_days=system.workspace_retention_days,
                     execution_retention_days=system.execution_retention_days)
