"""Settings: the API endpoint registry and the system settings document."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Litestar, Request, get, put
from litestar.di import Provide
from litestar.routes import HTTPRoute, WebSocketRoute
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.principal import Principal
from app.domain.monitoring.endpoints import EndpointStat, RouteInfo, endpoint_registry
from app.domain.runtime import Runtime
from app.domain.settings.service import SystemSettings, current_settings, update_settings
from app.web.deps import provide_admin
from app.web.pagination import Limit, Offset, Page
from app.web.problems import error_responses

_STATE_KEY = "ansflow_route_table"


def _auth(handler: Any) -> str:
    declared = handler.opt.get("auth")
    if declared:
        return str(declared)
    params = handler.parsed_fn_signature.parameters
    return "admin" if "admin" in params else "user" if "principal" in params else "none"


def route_table(app: Litestar) -> list[RouteInfo]:
    """Every route of the app's own routing table (computed once per app: it never changes)."""
    found: list[RouteInfo] | None = getattr(app.state, _STATE_KEY, None)
    if found is None:
        found = []
        for route in app.routes:
            if isinstance(route, HTTPRoute):
                for method, (handler, _) in route.route_handler_map.items():
                    if method != "OPTIONS" or handler.handler_name != "options_handler":
                        found.append(RouteInfo(method=method, path=route.path_format, auth=_auth(handler)))
            elif isinstance(route, WebSocketRoute):
                found.append(RouteInfo(method="WEBSOCKET", path=route.path_format, auth="user"))
        found.sort(key=lambda r: (r.path, r.method))
        setattr(app.state, _STATE_KEY, found)
    return found


class SettingsController(Controller):
    path = "/api/v1/settings"
    tags = ["settings"]

    @get("/api-endpoints", responses=error_responses(400, 401))
    async def api_endpoints(
        self, request: Request[Any, Any, Any], principal: Principal, rt: Runtime, limit: Limit = 20, offset: Offset = 0
    ) -> Page[EndpointStat]:
        """Every route with its auth requirement, call count, average and p95 response time."""
        items = await endpoint_registry(rt, route_table(request.app))
        return Page(items=items[offset:offset + limit], total=len(items), limit=limit, offset=offset)

    @get("/system", responses=error_responses(401))
    async def get_system(self, principal: Principal, rt: Runtime) -> SystemSettings:
        """The system settings document (any authenticated user may read it)."""
        return await current_settings(rt)

    @put("/system", responses=error_responses(400, 401, 403), dependencies={"admin": Provide(provide_admin)})
    async def put_system(self, data: SystemSettings, admin: Principal, db: AsyncSession, rt: Runtime) -> SystemSettings:
        """Replace the document (administrators; validated, audited as ``settings.update``)."""
        return await update_settings(db, rt, admin, data)
