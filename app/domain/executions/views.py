"""Shape execution rows into API structs (shared by REST, sockets and the status cache)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from app.db.models.executions import Execution, ExecutionStep
from app.domain.executions.schemas import ExecutionOut, ExecutionSummary, StepOut
from app.lib.clock import ensure_utc


def duration_ms(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((ensure_utc(end) - ensure_utc(start)).total_seconds() * 1000)


def step_out(s: ExecutionStep) -> StepOut:
    approval = None
    if s.kind == "approval":
        approval = {
            "role": s.approval_role,
            "decision": s.decision,
            "decided_by": s.decided_by,
            "decided_at": s.decided_at.isoformat() if s.decided_at else None,
            "comment": s.comment,
        }
    return StepOut(
        name=s.name,
        kind=s.kind,
        status=s.status,
        attempt=s.attempt,
        exit_code=s.exit_code,
        needs=list(s.needs or []),
        started_at=s.started_at,
        finished_at=s.finished_at,
        duration_ms=duration_ms(s.started_at, s.finished_at),
        message=s.message,
        reused=s.reused,
        approval=approval,
    )


def execution_out(
    e: Execution, steps: list[ExecutionStep], queue_position: int | None = None, pipeline_name: str | None = None
) -> ExecutionOut:
    return ExecutionOut(
        id=e.id,
        pipeline_id=e.pipeline_id,
        project_id=e.project_id,
        pipeline_version=e.pipeline_version,
        number=e.number,
        status=e.status,
        trigger=e.trigger,
        priority=e.priority,
        queue_reason=e.queue_reason,
        queue_position=queue_position if e.status == "queued" else None,
        created_at=e.created_at,
        started_at=e.started_at,
        finished_at=e.finished_at,
        duration_ms=duration_ms(e.started_at, e.finished_at),
        steps=[step_out(s) for s in sorted(steps, key=lambda s: s.position)],
        variables=dict(e.variables or {}),
        ref=(e.trigger_info or {}).get("ref"),
        message=e.message,
        retry_of=e.retry_of,
        pipeline_name=pipeline_name,
    )


def execution_summary(e: Execution | Row[Any]) -> ExecutionSummary:
    """From an entity or a row of ``queries.SUMMARY_COLUMNS``."""
    return ExecutionSummary(
        id=e.id,
        pipeline_id=e.pipeline_id,
        project_id=e.project_id,
        pipeline_version=e.pipeline_version,
        number=e.number,
        status=e.status,
        trigger=e.trigger,
        priority=e.priority,
        queue_reason=e.queue_reason,
        created_at=e.created_at,
        started_at=e.started_at,
        finished_at=e.finished_at,
        duration_ms=duration_ms(e.started_at, e.finished_at),
    )
