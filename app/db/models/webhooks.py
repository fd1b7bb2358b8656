"""Forge webhook deliveries and cron schedule fires: rows whose unique keys make triggers idempotent."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import GUID, Base, DateTimeUTC, JsonB


class WebhookDelivery(Base):
    """One request to ``POST /hooks/{provider}/{project_id}`` with a known project, and what it did.

    ``idempotency_key`` is the forge's delivery id, set only on the row of an accepted delivery: the
    unique key makes a redelivery (same id) unable to start executions twice, while a rejected or
    duplicate attempt (NULL key) cannot squat an id a genuine delivery will use later.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("project_id", "provider", "idempotency_key", name="uq_webhook_deliveries_key"),
        Index("ix_webhook_deliveries_project_created", "project_id", "created_at"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(64))
    delivery_id: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    status_code: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(500))
    execution_ids: Mapped[list[str]] = mapped_column(JsonB, default=list)


class ScheduleFire(Base):
    """Marker that a pipeline's cron slot (UTC minute) was started; the unique key makes it once-only
    across any number of worker processes, because the insert commits with the execution it starts."""

    __tablename__ = "schedule_fires"
    __table_args__ = (UniqueConstraint("pipeline_id", "scheduled_for", name="uq_schedule_fires_slot"),)

    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    scheduled_for: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    cron: Mapped[str] = mapped_column(String(200))
    execution_id: Mapped[uuid.UUID | None] = mapped_column(GUID, default=None)
