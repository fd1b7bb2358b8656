"""``GET /metrics``: Prometheus text format, open by default, bearer-protected with ANSFLOW_METRICS_TOKEN.

Serve it on an internal network; when ``settings.metrics_token`` is set, scrapers must send
``Authorization: Bearer <token>`` (compared in constant time). Multiprocess handling is described
in app/lib/metrics.py.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST

from app.domain.monitoring.prometheus import scrape_families
from app.domain.runtime import Runtime
from app.lib import metrics
from app.lib.errors import NotAuthenticated
from app.web.problems import error_responses


@get("/metrics", tags=["monitoring"], media_type=CONTENT_TYPE_LATEST, responses=error_responses(401),
     opt={"auth": "metrics-token"})
async def prometheus_metrics(request: Request[Any, Any, Any], rt: Runtime) -> Response[bytes]:
    """Request, cache, database pool, queue, execution, step, WebSocket and lease metrics."""
    token = rt.settings.metrics_token
    if token:
        header = request.headers.get("authorization", "")
        given = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise NotAuthenticated("this endpoint needs the metrics bearer token")
    body = metrics.render(await scrape_families(rt))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
