"""Pipeline API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

PipelineName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")]
Definition = Annotated[str, msgspec.Meta(min_length=1, max_length=200_000)]


class PipelineCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: PipelineName
    definition: Definition


class PipelineUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: PipelineName | msgspec.UnsetType = msgspec.UNSET
    definition: Definition | msgspec.UnsetType = msgspec.UNSET


class PipelineOut(msgspec.Struct):
    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    definition: str
    version: int
    priority: str
    concurrency: int | None
    created_at: datetime
    updated_at: datetime


class VersionOut(msgspec.Struct):
    version: int
    name: str
    definition: str
    created_by: uuid.UUID | None
    created_at: datetime


class ValidateIn(msgspec.Struct, forbid_unknown_fields=True):
    definition: Annotated[str, msgspec.Meta(max_length=200_000)]
    project_id: uuid.UUID | None = None


class ValidationError(msgspec.Struct):
    path: str
    line: int | None
    message: str


class PlanStep(msgspec.Struct):
    name: str
    kind: str
    needs: list[str]


class Plan(msgspec.Struct):
    steps: list[PlanStep]


class ValidateOut(msgspec.Struct):
    valid: bool
    errors: list[ValidationError]
    plan: Plan | None


class PipelineStatus(msgspec.Struct, frozen=True):
    """Latest execution summary of a pipeline (served from cache)."""

    pipeline_id: uuid.UUID
    execution_id: uuid.UUID | None = None
    number: int | None = None
    status: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
