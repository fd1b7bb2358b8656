"""ASGI middleware that measures every HTTP request by its route template.

Why a raw ASGI callable and not a Litestar middleware class: it is on every request's path, so it
does the least possible work: time the call, catch the status from ``http.response.start``, then
one batched Prometheus count and latency observation (``metrics_batch.py``) and one in-memory
aggregate (requests.py) flushed in the background. It runs after routing, so
``scope["path_template"]`` names the route (``/api/v1/projects/{project_id}``), keeping label
cardinality bounded; exceptions are already turned into responses by Litestar's handler-level
exception middleware, so the status is real.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.monitoring.requests import REQUEST_STATS
from app.lib.metrics import HTTP_LATENCY, HTTP_REQUESTS
from app.lib.metrics_batch import BATCH


class _Route:
    """One (method, route template): its Prometheus children, looked up once."""

    __slots__ = ("counters", "histogram", "labels", "name")

    def __init__(self, method: str, route: str) -> None:
        self.labels = (method, route)
        self.name = f"{method} {route}"
        self.histogram = HTTP_LATENCY.labels(method, route)
        self.counters: dict[int, Any] = {}

    def record(self, status: int, seconds: float) -> None:
        counter = self.counters.get(status)
        if counter is None:
            counter = self.counters[status] = HTTP_REQUESTS.labels(*self.labels, str(status))
        BATCH.observe(self.histogram, seconds, counter)
        REQUEST_STATS.record(self.name, seconds * 1000)


def request_metrics(app: ASGIApp) -> ASGIApp:
    routes: dict[tuple[str, str], _Route] = {}

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
            labels = (str(scope.get("method", "GET")), scope.get("path_template") or "unmatched")
            route = routes.get(labels)
            if route is None:
                route = routes[labels] = _Route(*labels)
            route.record(status, elapsed)
            if REQUEST_STATS.flush_due():
                rt: Any = getattr(scope["app"].state, "runtime", None)
                if rt is not None:  # (the runtime instruments its engine's pool when it is built)
                    REQUEST_STATS.schedule_flush(rt)

    return middleware
