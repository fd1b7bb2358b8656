"""Typed system settings, stored as one JSON document per key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, JsonB


class SystemSetting(Base):
    __tablename__ = "system_settings"

    key: Mapped[str] = mapped_column(String(64), unique=True)
    value: Mapped[Any] = mapped_column(JsonB)
    updated_by: Mapped[str | None] = mapped_column(String(64), default=None)
