"""Thin actor: load the worker runtime, hand the id to the engine (idempotent: a duplicate is a no-op)."""

from __future__ import annotations

from app.domain.executions.engine import run_execution
from workers.context import CONTEXT


async def run(execution_id: str) -> None:
    rt = await CONTEXT.get()
    await run_execution(rt, execution_id, CONTEXT.worker_id)
