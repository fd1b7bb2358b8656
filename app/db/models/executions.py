"""Executions (one run of a pipeline version), their steps and their log lines."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.base import DefaultBase
from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import GUID, Base, DateTimeUTC, JsonB


class Execution(Base):
    __tablename__ = "executions"
    __table_args__ = (
        UniqueConstraint("pipeline_id", "number"),
        Index("ix_executions_status_created", "status", "created_at"),
        # execution lists are newest first: whole deployment (admins) and per project
        Index("ix_executions_created", "created_at", "id"),
        Index("ix_executions_project_created", "project_id", "created_at"),
    )

    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    pipeline_version: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    trigger_info: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    variables: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    concurrency: Mapped[int | None] = mapped_column(Integer, default=None)
    timeout_s: Mapped[float | None] = mapped_column(Float, default=None)
    queue_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    retry_of: Mapped[uuid.UUID | None] = mapped_column(GUID, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)


class ExecutionStep(Base):
    __tablename__ = "execution_steps"
    __table_args__ = (UniqueConstraint("execution_id", "name"),)

    execution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    needs: Mapped[list[str]] = mapped_column(JsonB, default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    exit_code: Mapped[int | None] = mapped_column(Integer, default=None)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    reused: Mapped[bool] = mapped_column(Boolean, default=False)
    approval_role: Mapped[str | None] = mapped_column(String(20), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    decision: Mapped[str | None] = mapped_column(String(10), default=None)
    comment: Mapped[str | None] = mapped_column(Text, default=None)


class LogLine(DefaultBase):
    """One output line. ``seq`` is gap-free per execution; the worker holding the lease assigns it.

    A lean table (composite key, no UUID or audit columns): it is the hottest write path.
    """

    __tablename__ = "log_lines"

    execution_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    step: Mapped[str | None] = mapped_column(String(300), default=None)
    stream: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    ts: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
