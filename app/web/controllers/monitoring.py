"""The KPI overview: the seed's targets next to measured values."""

from __future__ import annotations

from litestar import Controller, get

from app.domain.accounts.principal import Principal
from app.domain.monitoring.overview import Overview, overview
from app.domain.runtime import Runtime
from app.web.problems import error_responses


class MonitoringController(Controller):
    path = "/api/v1/monitoring"
    tags = ["monitoring"]

    @get("/overview", responses=error_responses(401))
    async def get_overview(self, principal: Principal, rt: Runtime) -> Overview:
        """API latency, cache hit ratio, DB connections, queues, executions, sockets, CPU and memory."""
        return await overview(rt)
