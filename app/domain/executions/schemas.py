"""Execution API shapes (CONTRACT §2)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

Priority = Literal["high", "normal", "low"]
VarName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]


class RunIn(msgspec.Struct, forbid_unknown_fields=True):
    variables: dict[VarName, Annotated[str, msgspec.Meta(max_length=10_000)]] = msgspec.field(default_factory=dict)
    priority: Priority | None = None
    ref: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class RetryIn(msgspec.Struct, forbid_unknown_fields=True):
    from_: Literal["failed", "start"] = msgspec.field(default="failed", name="from")


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    comment: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class StepOut(msgspec.Struct):
    name: str
    kind: str
    status: str
    attempt: int
    exit_code: int | None
    needs: list[str]
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    message: str | None = None
    reused: bool = False
    approval: dict[str, Any] | None = None


class ExecutionOut(msgspec.Struct):
    id: uuid.UUID
    pipeline_id: uuid.UUID
    project_id: uuid.UUID
    pipeline_version: int
    number: int
    status: str
    trigger: str
    priority: str
    queue_reason: str | None
    queue_position: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    steps: list[StepOut]
    variables: dict[str, Any] = msgspec.field(default_factory=dict)
    ref: str | None = None
    message: str | None = None
    retry_of: uuid.UUID | None = None
    pipeline_name: str | None = None


class ExecutionSummary(msgspec.Struct):
    id: uuid.UUID
    pipeline_id: uuid.UUID
    project_id: uuid.UUID
    pipeline_version: int
    number: int
    status: str
    trigger: str
    priority: str
    queue_reason: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None


class LogLineOut(msgspec.Struct):
    seq: int
    step: str | None
    stream: str
    text: str
    ts: datetime


class LogsOut(msgspec.Struct):
    lines: list[LogLineOut]
    next_seq: int
