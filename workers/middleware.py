"""Dramatiq middleware: run the sweeper at worker start and then periodically on the worker loop."""

from __future__ import annotations

import asyncio
from typing import Any

import dramatiq
import structlog
from dramatiq.asyncio import get_event_loop_thread

from app.domain.executions.sweeper import sweep
from app.domain.settings.service import current_settings
from workers.context import WorkerContext

log = structlog.get_logger("ansflow.worker")


class LoopMiddleware(dramatiq.Middleware):
    """Runs ``_loop`` on the worker's AsyncIO event loop from boot to shutdown (sweeper, schedules)."""

    def __init__(self, context: WorkerContext) -> None:
        self.context = context
        self._future: Any = None

    async def _loop(self) -> None:
        raise NotImplementedError

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = get_event_loop_thread()
        if thread is not None:
            self._future = asyncio.run_coroutine_threadsafe(self._loop(), thread.loop)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self._future is not None:
            self._future.cancel()
            self._future = None


RETENTION_EVERY = 20  # sweeps: every 5 minutes with the default 15 s sweep


class SweeperMiddleware(LoopMiddleware):
    """Sweeps every ``sweep_seconds``; retention (a scan of old rows) only every ``RETENTION_EVERY``-th sweep."""

    async def _loop(self) -> None:
        sweeps = 0
        while True:
            try:
                rt = await self.context.get()
                system = await current_settings(rt)
                retention = sweeps % RETENTION_EVERY == 0
                sweeps += 1
                report = await sweep(
                    rt, lost_after_s=system.lost_message_after_s,
                    retention_days=system.workspace_retention_days if retention else None,
                    execution_retention_days=system.execution_retention_days if retention else None,
                )
                removed = report.executions_removed or report.deliveries_removed
                if report.requeued or report.failed or report.resent or removed:
                    log.info("sweep", requeued=report.requeued, failed=report.failed, resent=report.resent,
                             executions_removed=report.executions_removed, deliveries_removed=report.deliveries_removed)
            except Exception:  # a database hiccup must not end the loop; the next period retries
                log.exception("sweep failed")
            await asyncio.sleep(self.context.settings.sweep_seconds if self.context.settings else 15.0)
