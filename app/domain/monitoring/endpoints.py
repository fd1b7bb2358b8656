"""The API endpoint registry: the app's own routing table joined with measured request statistics.

The web layer passes the routes (it alone knows Litestar); this module adds call counts, average
and p95 response times merged across processes. The statistics snapshot is cached (see
requests.py: ``api-stats-snapshot``, dropped by every flush); this process's unflushed requests are
added on top, so a caller sees its own previous request counted at once.
"""

from __future__ import annotations

import msgspec

from app.domain.monitoring.requests import REQUEST_STATS, Agg
from app.domain.runtime import Runtime


class RouteInfo(msgspec.Struct, frozen=True):
    method: str
    path: str
    auth: str  # none | user | admin


class EndpointStat(msgspec.Struct):
    method: str
    path: str
    auth: str
    call_count: int
    avg_response_ms: float
    p95_ms: float


async def endpoint_registry(rt: Runtime, routes: list[RouteInfo]) -> list[EndpointStat]:
    measured = await REQUEST_STATS.routes(rt)
    out: list[EndpointStat] = []
    for route in routes:
        agg = measured.get(f"{route.method} {route.path}") or Agg()
        out.append(EndpointStat(
            method=route.method, path=route.path, auth=route.auth, call_count=agg.count,
            avg_response_ms=round(agg.sum_ms / agg.count, 3) if agg.count else 0.0,
            p95_ms=agg.percentile(0.95),
        ))
    return out
