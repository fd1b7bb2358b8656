"""Imports every model module so the metadata is complete (for Alembic and table checks)."""

from app.db.models import accounts, audit, executions, pipelines, projects, settings, webhooks
from app.db.models.base import metadata

__all__ = ["accounts", "audit", "executions", "metadata", "pipelines", "projects", "settings", "webhooks"]
