"""Start, cancel, retry executions; approve or reject approval steps. Jobs are sent after commit."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.executions import Execution, ExecutionStep
from app.db.models.pipelines import Pipeline, PipelineVersion
from app.db.models.projects import Project
from app.domain.accounts.principal import Principal
from app.domain.audit.service import record
from app.domain.executions.queries import load_execution, queue_position, steps_of
from app.domain.executions.schemas import ExecutionOut
from app.domain.executions.states import EXECUTION_FINAL
from app.domain.executions.transitions import Outbox, set_execution_status, set_step_status
from app.domain.executions.views import execution_out
from app.domain.pipelines.plan import expand_plan
from app.domain.pipelines.spec import parse_definition
from app.domain.pipelines.status import invalidate_status
from app.domain.projects.access import require
from app.domain.projects.permissions import Action, role_at_least
from app.domain.runtime import Runtime
from app.lib.clock import utcnow
from app.lib.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.lib.jobs import send

RUN_ACTOR = "executions.run"
log = structlog.get_logger("ansflow.executions")


def enqueue(rt: Runtime, execution: Execution) -> None:
    send_run(rt, execution.id, execution.priority)


def send_run(rt: Runtime, execution_id: uuid.UUID, priority: str, delay_ms: int | None = None) -> None:
    """Send the wake-up. The row is already committed, so a broker outage only delays the run:
    the sweeper re-sends messages for executions queued too long."""
    try:
        send(rt.broker, rt.queues.executions, RUN_ACTOR, str(execution_id), priority=priority, delay_ms=delay_ms)
    except Exception as exc:  # dramatiq raises its own ConnectionError family; never fail the request
        log.warning("could not enqueue; the sweeper will re-send", execution_id=str(execution_id),
                    error=type(exc).__name__)


async def create_execution(
    session: AsyncSession,
    rt: Runtime,
    actor: Principal | None,
    pipeline_id: uuid.UUID,
    *,
    variables: dict[str, str],
    priority: str | None,
    ref: str | None,
    trigger: str,
    event: str,
    version: int | None = None,
    retry_of: Execution | None = None,
    reuse_success: bool = False,
    extra_info: dict[str, Any] | None = None,
) -> Execution:
    """Insert the execution and its steps in one transaction, commit, then send the job."""
    pipeline = await session.scalar(select(Pipeline).where(Pipeline.id == pipeline_id).with_for_update())
    if pipeline is None:
        raise NotFound("pipeline not found")
    project = await session.get(Project, pipeline.project_id)
    assert project is not None
    number_version = version or pipeline.version
    definition = pipeline.definition
    if number_version != pipeline.version:
        stored = await session.scalar(
            select(PipelineVersion.definition).where(
                PipelineVersion.pipeline_id == pipeline.id, PipelineVersion.version == number_version
            )
        )
        if stored is None:
            raise NotFound(f"pipeline version {number_version} not found")
        definition = stored
    parsed = parse_definition(definition)
    if parsed.spec is None:
        raise ValidationFailed("the stored pipeline definition no longer validates; save a corrected version")
    spec = parsed.spec
    plan = expand_plan(spec)
    branch = ref or project.default_branch
    execution = Execution(
        pipeline_id=pipeline.id,
        project_id=pipeline.project_id,
        pipeline_version=number_version,
        number=pipeline.next_number,
        status="queued",
        trigger=trigger,
        trigger_info={
            "ref": branch,
            "branch": branch,
            "event": event,
            "actor": actor.username if actor else None,
            **(extra_info or {}),
        },
        variables={**spec.variables, **variables},
        priority=priority or spec.priority,
        concurrency=spec.concurrency,
        timeout_s=spec.timeout,
        queue_reason="waiting for a worker",
        retry_of=retry_of.id if retry_of else None,
        created_by=actor.user_id if actor and actor.via != "system" else None,
        enqueued_at=utcnow(),
    )
    pipeline.next_number += 1
    session.add(execution)
    await session.flush()
    reused: dict[str, ExecutionStep] = {}
    if retry_of is not None and reuse_success:
        reused = {s.name: s for s in await steps_of(session, retry_of.id) if s.status == "success"}
    for planned in plan:
        old = reused.get(planned.name)
        session.add(
            ExecutionStep(
                execution_id=execution.id,
                name=planned.name,
                kind=planned.kind,
                position=planned.index,
                needs=list(planned.needs),
                status="success" if old else "pending",
                attempt=old.attempt if old else 0,
                exit_code=old.exit_code if old else None,
                started_at=old.started_at if old else None,
                finished_at=old.finished_at if old else None,
                reused=old is not None,
                message=f"result reused from execution #{retry_of.number}" if old and retry_of else None,
                approval_role=planned.spec.approval.role if planned.spec.approval else None,
            )
        )
    await session.commit()
    await invalidate_status(rt, pipeline.id)
    enqueue(rt, execution)
    return execution


async def run_pipeline(
    session: AsyncSession,
    rt: Runtime,
    actor: Principal,
    pipeline_id: uuid.UUID,
    variables: dict[str, str],
    priority: str | None,
    ref: str | None,
) -> ExecutionOut:
    pipeline = await session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound("pipeline not found")
    await require(session, rt, actor, pipeline.project_id, Action.RUN, what="pipeline")
    trigger = "api" if actor.via == "token" else "manual"
    execution = await create_execution(
        session,
        rt,
        actor,
        pipeline_id,
        variables=variables,
        priority=priority,
        ref=ref,
        trigger=trigger,
        event="manual",
    )
    record(
        session,
        actor,
        "execution.create",
        "execution",
        execution.id,
        project_id=execution.project_id,
        detail={"pipeline_id": str(pipeline_id), "number": execution.number},
    )
    await session.commit()
    return execution_out(
        execution, await steps_of(session, execution.id), await queue_position(session, execution), pipeline.name
    )


async def _visible(
    session: AsyncSession, rt: Runtime, actor: Principal, execution_id: uuid.UUID, action: Action
) -> Execution:
    execution = await load_execution(session, execution_id)
    await require(session, rt, actor, execution.project_id, action, what="execution")
    return execution


async def cancel(session: AsyncSession, rt: Runtime, actor: Principal, execution_id: uuid.UUID) -> ExecutionOut:
    execution = await _visible(session, rt, actor, execution_id, Action.RUN)
    if execution.status in EXECUTION_FINAL:
        raise Conflict(f"execution already finished ({execution.status})")
    outbox = Outbox()
    steps = await steps_of(session, execution.id)
    if execution.status == "queued" and execution.lease_owner is None:
        for step in steps:
            if step.status in ("pending", "waiting_approval"):
                set_step_status(rt, outbox, execution, step, "cancelled")
        set_execution_status(rt, outbox, execution, "cancelled", message=f"cancelled by {actor.username}")
    else:
        execution.cancel_requested = True  # the worker holding the lease stops its processes
    record(session, actor, "execution.cancel", "execution", execution.id, project_id=execution.project_id)
    await session.commit()
    await outbox.flush(rt)
    return execution_out(execution, steps)


async def retry(
    session: AsyncSession, rt: Runtime, actor: Principal, execution_id: uuid.UUID, from_: str
) -> ExecutionOut:
    original = await _visible(session, rt, actor, execution_id, Action.RUN)
    if original.status not in EXECUTION_FINAL:
        raise Conflict("only a finished execution can be retried")
    info = original.trigger_info or {}
    execution = await create_execution(
        session,
        rt,
        actor,
        original.pipeline_id,
        variables=dict(original.variables or {}),
        priority=original.priority,
        ref=info.get("ref"),
        trigger="retry",
        event=str(info.get("event", "manual")),
        version=original.pipeline_version,
        retry_of=original,
        reuse_success=from_ == "failed",
        extra_info={k: v for k, v in info.items() if k not in {"ref", "branch", "event", "actor"}},
    )
    record(
        session,
        actor,
        "execution.retry",
        "execution",
        execution.id,
        project_id=execution.project_id,
        detail={"retry_of": str(original.id), "from": from_},
    )
    await session.commit()
    return execution_out(execution, await steps_of(session, execution.id), await queue_position(session, execution))


async def decide_approval(
    session: AsyncSession,
    rt: Runtime,
    actor: Principal,
    execution_id: uuid.UUID,
    step_name: str,
    approve: bool,
    comment: str | None,
) -> ExecutionOut:
    execution = await _visible(session, rt, actor, execution_id, Action.READ)
    step = await session.scalar(
        select(ExecutionStep).where(ExecutionStep.execution_id == execution.id, ExecutionStep.name == step_name)
    )
    if step is None or step.kind != "approval":
        raise NotFound("approval step not found")
    role = await require(session, rt, actor, execution.project_id, Action.READ, what="execution")
    needed = step.approval_role or "maintainer"
    if not actor.is_admin and not role_at_least(role, needed):
        raise Forbidden(f"approving this step needs the {needed!r} role")
    if step.status != "waiting_approval":
        raise Conflict(f"step is not waiting for approval ({step.status})")
    outbox = Outbox()
    step.decision = "approved" if approve else "rejected"
    step.decided_by, step.decided_at, step.comment = actor.username, utcnow(), comment
    verdict = f"{step.decision} by {actor.username}" + (f": {comment}" if comment else "")
    set_step_status(rt, outbox, execution, step, "success" if approve else "failed", message=verdict)
    record(
        session,
        actor,
        "step.approve" if approve else "step.reject",
        "step",
        f"{execution.id}/{step_name}",
        project_id=execution.project_id,
        detail={"comment": comment},
    )
    await session.commit()
    await outbox.flush(rt)
    return execution_out(execution, await steps_of(session, execution.id))
