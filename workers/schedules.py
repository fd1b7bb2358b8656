"""Dramatiq middleware: evaluate cron schedules every ~20 s on the worker's event loop.

Every worker process runs it; that is safe because firing a slot is once-only in the database
(see app.domain.triggers.schedules). Ticks are aligned to the wall clock (:01, :21, :41 of each
minute), so a due minute starts within about a second of its start.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from app.domain.triggers.schedules import evaluate_schedules
from workers.context import WorkerContext
from workers.middleware import LoopMiddleware

log = structlog.get_logger("ansflow.worker")
INTERVAL_S = 20.0
OFFSET_S = 1.0  # a little after the boundary, so a clock slightly behind still lands in the due minute


def seconds_to_next_tick(now: float, interval: float = INTERVAL_S) -> float:
    return interval - (now % interval) + OFFSET_S


class ScheduleMiddleware(LoopMiddleware):
    def __init__(self, context: WorkerContext, interval_s: float = INTERVAL_S) -> None:
        super().__init__(context)
        self.interval_s = interval_s

    async def _loop(self) -> None:
        while True:
            try:
                await evaluate_schedules(await self.context.get())
            except Exception:  # a database hiccup must not end the loop; the next tick retries
                log.exception("schedule evaluation failed")
            await asyncio.sleep(seconds_to_next_tick(time.time(), self.interval_s))
