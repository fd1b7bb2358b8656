"""Drive one execution on a worker: lease, DAG scheduling, runners, retries, cancel, timeouts.

The execution row is the source of truth; this object only holds the lease while it works.
Every status change goes through ``transitions`` and is committed before it is published.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from pathlib import Path

import structlog
from sqlalchemy import select

from app.db.models.executions import Execution, ExecutionStep
from app.db.models.pipelines import PipelineVersion
from app.domain.executions import lease
from app.domain.executions.logstore import ExecutionLog, last_seq
from app.domain.executions.slots import SLOTS, send_again_later
from app.domain.executions.states import STEP_FINAL
from app.domain.executions.steps import run_step
from app.domain.executions.transitions import Outbox, announce_step, set_execution_status, set_step_status
from app.domain.notifications import notify_execution_finished
from app.domain.pipelines.plan import PlannedStep, RunContext, decide, expand_plan, hard_failures
from app.domain.pipelines.spec import parse_definition
from app.domain.projects.secrets import secret_values
from app.domain.runtime import Runtime
from app.domain.settings.service import current_settings
from app.lib.clock import ensure_utc, utcnow

log = structlog.get_logger("ansflow.engine")
POLL_S = 0.5


async def run_execution(rt: Runtime, execution_id: str, worker_id: str) -> None:
    """Actor entry point: a no-op unless this worker can claim the execution (and has a free slot)."""
    limit = (await current_settings(rt)).max_concurrent_executions_per_worker
    if not SLOTS.take(limit):
        await send_again_later(rt, uuid.UUID(execution_id))
        return
    try:
        execution = await lease.claim(rt, uuid.UUID(execution_id), worker_id)
        if execution is None:
            return
        try:
            await ExecutionRun(rt, execution, worker_id).run()
        finally:
            await lease.kick_queued(rt, execution.pipeline_id)
    finally:
        SLOTS.give_back()


class ExecutionRun:
    def __init__(self, rt: Runtime, execution: Execution, worker_id: str) -> None:
        self.rt, self.worker_id = rt, worker_id
        self.id = execution.id
        self.execution = execution
        self.workspace = Path(rt.settings.workspace_dir).resolve() / str(execution.id)
        self.statuses: dict[str, str] = {}
        self.step_ids: dict[str, uuid.UUID] = {}
        self.cancel_events: dict[str, asyncio.Event] = {}
        self.stop_reason: str | None = None  # cancelled | timed_out | lost
        self.log: ExecutionLog | None = None
        self.default_step_timeout: float | None = None
        self.default_execution_timeout: float | None = None

    # --- persistence helpers -------------------------------------------------------------

    async def change(
        self,
        step_name: str | None,
        new: str | None,
        *,
        execution_status: str | None = None,
        exit_code: int | None = None,
        message: str | None = None,
        attempt: int | None = None,
    ) -> None:
        """Apply one step and/or execution transition in its own short transaction, then publish."""
        outbox = Outbox()
        async with self.rt.sessionmaker() as session:
            execution = await session.get(Execution, self.id)
            assert execution is not None
            if step_name is not None and new is not None:
                step = await session.get(ExecutionStep, self.step_ids[step_name])
                assert step is not None
                if attempt is not None:
                    step.attempt = attempt
                if step.status != new:
                    set_step_status(self.rt, outbox, execution, step, new, exit_code=exit_code, message=message)
                elif attempt is not None:
                    announce_step(self.rt, outbox, execution, step)
                self.statuses[step_name] = new
            if execution_status is not None and execution.status != execution_status:
                set_execution_status(self.rt, outbox, execution, execution_status, message=message)
            await session.commit()
            self.execution = execution
        await outbox.flush(self.rt)

    async def system(self, text: str, step: str | None = None) -> None:
        assert self.log is not None
        await self.log.write(step, "system", text)

    # --- main loop -------------------------------------------------------------------------

    async def run(self) -> None:
        plan = await self._load()
        self.log = ExecutionLog(self.rt, self.id, await last_seq(self.rt, self.id))
        self.log.start()
        try:
            system = await current_settings(self.rt)  # administrators' default timeouts
            self.default_step_timeout = system.default_step_timeout_s
            self.default_execution_timeout = system.default_execution_timeout_s
            await self._prepare_workspace()
            secrets = await self._secrets()
            await self.system(
                f"execution #{self.execution.number} started on {self.worker_id} (attempt {self.execution.attempts})"
            )
            await self._schedule(plan, secrets)
            await self._finish(plan)
        except Exception as exc:  # never leave an execution running because of our own bug
            log.exception("execution crashed", execution_id=str(self.id))
            with contextlib.suppress(Exception):
                await self.system(f"internal error: {type(exc).__name__}: {exc}")
                await self._abort("failed", f"internal error: {type(exc).__name__}")
        finally:
            await self.log.close()

    async def _load(self) -> list[PlannedStep]:
        async with self.rt.sessionmaker() as session:
            definition = await session.scalar(
                select(PipelineVersion.definition).where(
                    PipelineVersion.pipeline_id == self.execution.pipeline_id,
                    PipelineVersion.version == self.execution.pipeline_version,
                )
            )
            steps = list(await session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == self.id)))
        parsed = parse_definition(definition or "")
        if parsed.spec is None:
            raise RuntimeError("stored pipeline version does not validate")
        self.spec = parsed.spec
        plan = expand_plan(parsed.spec)
        for s in steps:
            self.step_ids[s.name] = s.id
            self.statuses[s.name] = s.status
        return plan

    async def _prepare_workspace(self) -> None:
        if not self.workspace.exists() and self.execution.retry_of is not None:
            previous = self.workspace.parent / str(self.execution.retry_of)
            if previous.is_dir():
                await asyncio.to_thread(shutil.copytree, previous, self.workspace, symlinks=True)
                await self.system(f"workspace copied from execution {self.execution.retry_of}")
        self.workspace.mkdir(parents=True, exist_ok=True)

    async def _secrets(self) -> dict[str, str]:
        async with self.rt.sessionmaker() as session:
            return await secret_values(session, self.rt, self.execution.project_id)

    def _deadline(self) -> float | None:
        limit = self.execution.timeout_s or self.default_execution_timeout
        if not limit or self.execution.started_at is None:
            return None
        elapsed = (utcnow() - ensure_utc(self.execution.started_at)).total_seconds()
        return time.monotonic() + limit - elapsed

    async def _schedule(self, plan: list[PlannedStep], secrets: dict[str, str]) -> None:
        by_name = {p.name: p for p in plan}
        info = self.execution.trigger_info or {}
        context = RunContext(branch=info.get("branch"), event=str(info.get("event", "manual")))
        for name, status in list(self.statuses.items()):
            if status == "running":  # left over from a worker that died: run it again
                await self.change(name, "pending", message="re-run after worker loss")
        tasks: dict[str, asyncio.Task[None]] = {}
        deadline = self._deadline()
        next_renew = time.monotonic() + lease.renew_every(self.rt)
        while True:
            if self.stop_reason is None:
                decisions = decide(plan, self.statuses, context)
                for name in decisions.skip:
                    await self.change(name, "skipped", message="condition not met or upstream failed")
                    await self.system(f"step {name} skipped", name)
                for name in decisions.start:
                    if name not in tasks:
                        self.cancel_events[name] = asyncio.Event()
                        tasks[name] = asyncio.create_task(run_step(self, by_name[name], secrets, deadline))
                if decisions.skip and not decisions.start:
                    continue
            running = {n: t for n, t in tasks.items() if not t.done()}
            if not running:
                break
            await self._sync_execution_status(running)
            await asyncio.wait(running.values(), timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
            for name, task in list(tasks.items()):
                if task.done():
                    exc = task.exception()
                    if exc is not None:
                        raise exc
                    del tasks[name]
            if time.monotonic() >= next_renew:
                next_renew = time.monotonic() + lease.renew_every(self.rt)
                if not await lease.renew(self.rt, self.id, self.worker_id):
                    self._stop("lost")
            if self.stop_reason is None:
                await self._poll_control(deadline)

    async def _sync_execution_status(self, running: dict[str, asyncio.Task[None]]) -> None:
        """waiting_approval when every active step is an approval that waits, else running."""
        waiting = all(self.statuses.get(n) == "waiting_approval" for n in running)
        want = "waiting_approval" if waiting else "running"
        if self.execution.status != want and self.stop_reason is None:
            await self.change(None, None, execution_status=want)

    async def _poll_control(self, deadline: float | None) -> None:
        async with self.rt.sessionmaker() as session:
            cancel = await session.scalar(select(Execution.cancel_requested).where(Execution.id == self.id))
        if cancel:
            await self.system("cancel requested: stopping running steps")
            self._stop("cancelled")
        elif deadline is not None and time.monotonic() >= deadline:
            await self.system(
                f"execution timed out after {self.execution.timeout_s or self.default_execution_timeout:g}s"
            )
            self._stop("timed_out")

    def _stop(self, reason: str) -> None:
        self.stop_reason = reason
        for event in self.cancel_events.values():
            event.set()

    # --- the end ---------------------------------------------------------------------------

    async def _finish(self, plan: list[PlannedStep]) -> None:
        if self.stop_reason == "lost":
            await self.system("lease lost to another worker; leaving the execution to it")
            return
        for name, status in list(self.statuses.items()):
            if status not in STEP_FINAL:
                await self.change(name, "cancelled" if self.stop_reason else "skipped")
        if self.stop_reason in ("cancelled", "timed_out"):
            final = self.stop_reason
        else:
            failures = hard_failures(plan, self.statuses)
            if not failures:
                final = "success"
            elif all(self.statuses[n] == "timed_out" for n in failures):
                final = "timed_out"
            else:
                final = "failed"
        await self.system(f"execution {final}")
        assert self.log is not None
        await self.log.flush()
        await self.change(None, None, execution_status=final)
        await notify_execution_finished(self.rt, self.execution)

    async def _abort(self, final: str, message: str) -> None:
        self._stop("cancelled")
        for name, status in list(self.statuses.items()):
            if status in ("pending", "running", "waiting_approval"):
                await self.change(name, "cancelled")
        await self.change(None, None, execution_status=final, message=message)
        await notify_execution_finished(self.rt, self.execution)  # a timeout is announced, a cancel is not
