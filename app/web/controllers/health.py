"""Liveness and readiness at the root, outside /api/v1."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from app.domain.monitoring.health import Readiness, readiness
from app.domain.runtime import Runtime


class Health(msgspec.Struct):
    status: str


class HealthController(Controller):
    tags = ["health"]

    @get("/health")
    async def health(self) -> Health:
        """The process is alive and serving."""
        return Health(status="ok")

    @get("/ready", responses={503: ResponseSpec(Readiness, description="a dependency is down")})
    async def ready(self, rt: Runtime) -> Response[Readiness]:
        """Database, cache and broker each checked; 503 names what is down."""
        result = await readiness(rt)
        return Response(result, status_code=200 if not result.down else 503)
