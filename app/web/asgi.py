"""``create_app()``: the one Litestar application (API, sockets, UI). Granian calls it as a factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar, MediaType, Response, get
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis

from app.config import Settings
from app.lib.log import configure_logging
from app.web.channels_backend import ResilientRedisPubSubBackend
from app.web.controllers.audit import AuditController
from app.web.controllers.auth import AuthController
from app.web.controllers.events import ExecutionEventsController
from app.web.controllers.executions import ExecutionsController
from app.web.controllers.health import HealthController
from app.web.controllers.metrics import prometheus_metrics
from app.web.controllers.monitoring import MonitoringController
from app.web.controllers.pipelines import PipelinesController
from app.web.controllers.projects import ProjectsController
from app.web.controllers.settings import SettingsController
from app.web.controllers.users import UsersController
from app.web.controllers.webhooks import WebhooksController
from app.web.deps import provide_db, provide_principal, provide_runtime
from app.web.errors import EXCEPTION_HANDLERS
from app.web.lifespan import make_lifespan
from app.web.middleware.metrics import request_metrics
from app.web.sessions import StrictSessionConfig
from app.web.sockets import SOCKETS

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
SESSION_COOKIE = "ansflow_session"


@get("/", include_in_schema=False, media_type=MediaType.HTML)
async def index() -> Response[bytes]:
    return Response((STATIC_DIR / "index.html").read_bytes(), media_type=MediaType.HTML)


def _session_store(settings: Settings) -> Store:
    if settings.redis_url:
        return RedisStore(Redis.from_url(settings.redis_url), namespace=f"{settings.key_prefix}:sessions")
    return MemoryStore()


def _channels(settings: Settings) -> ChannelsPlugin:
    backend: Any
    if settings.redis_url:
        backend = ResilientRedisPubSubBackend(redis=Redis.from_url(settings.redis_url))
    else:
        backend = MemoryChannelsBackend()
    return ChannelsPlugin(
        backend=backend,
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=10_000,
        subscriber_backlog_strategy="dropleft",
    )


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    channels = _channels(settings)
    sessions = StrictSessionConfig(
        store="sessions",
        key=SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        max_age=14 * 24 * 3600,
        renew_on_access=False,
    )
    route_handlers: list[Any] = [
        HealthController,
        AuthController,
        UsersController,
        ProjectsController,
        AuditController,
        PipelinesController,
        ExecutionsController,
        ExecutionEventsController,
        SettingsController,
        MonitoringController,
        WebhooksController,
        prometheus_metrics,
        *SOCKETS,
        index,
    ]
    if (STATIC_DIR / "index.html").exists():
        route_handlers.append(
            create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False)
        )
    return Litestar(
        logging_config=None,  # structlog and ANSFLOW_LOG_LEVEL decide (configure_logging above)
        route_handlers=route_handlers,
        dependencies={
            "rt": Provide(provide_runtime, sync_to_thread=False),
            "db": Provide(provide_db),
            "principal": Provide(provide_principal),
        },
        middleware=[request_metrics, sessions.middleware],
        stores={"sessions": _session_store(settings)},
        plugins=[channels],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[make_lifespan(settings, channels)],
        openapi_config=OpenAPIConfig(title="AnsFlow API", version="1.0.0", path="/schema"),
        debug=False,
    )
