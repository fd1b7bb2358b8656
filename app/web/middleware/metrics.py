"""ASGI middleware that measures every HTTP request by its route template.

Why a raw ASGI callable and not a Litestar middleware class: it is on every request's path, so it
does the least possible work: time the call, catch the status from ``http.response.start``, then
one Prometheus counter, one histogram and one in-memory aggregate (requests.py), with a periodic
background flush. It runs after routing, so ``scope["path_template"]`` names the route
(``/api/v1/projects/{project_id}``), keeping label cardinality bounded; exceptions are already
turned into responses by Litestar's handler-level exception middleware, so the status is real.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.monitoring.requests import REQUEST_STATS
from app.lib.metrics import HTTP_LATENCY, HTTP_REQUESTS


def request_metrics(app: ASGIApp) -> ASGIApp:
    counters: dict[tuple[str, str, int], Any] = {}  # label children, looked up once per series
    histograms: dict[tuple[str, str], Any] = {}

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            method, route = scope.get("method", "GET"), scope.get("path_template") or "unmatched"
            counter = counters.get((method, route, status))
            if counter is None:
                counter = counters[(method, route, status)] = HTTP_REQUESTS.labels(method, route, str(status))
            histogram = histograms.get((method, route))
            if histogram is None:
                histogram = histograms[(method, route)] = HTTP_LATENCY.labels(method, route)
            counter.inc()
            histogram.observe(elapsed)
            REQUEST_STATS.record(method, route, elapsed * 1000)
            rt: Any = getattr(scope["app"].state, "runtime", None)
            if rt is not None:  # (the runtime instruments its engine's pool when it is built)
                REQUEST_STATS.schedule_flush(rt)

    return middleware
