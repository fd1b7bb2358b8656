"""Start-up and shut-down: runtime, migration check, bootstrap admin, embedded worker, event sink."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager

import dramatiq
import structlog
from litestar import Litestar
from litestar.channels import ChannelsPlugin

from app.config import ConfigError, Settings
from app.db.migrate import current_revision, head_revision
from app.domain.accounts.users import ensure_admin
from app.domain.runtime import Runtime, build_runtime
from app.lib.events import LOCAL_BUS
from app.web.hub import LiveHubs

log = structlog.get_logger("ansflow.web")


async def check_migrated(rt: Runtime) -> None:
    head = await asyncio.to_thread(head_revision, rt.settings)
    current = await current_revision(rt.engine)
    if current != head:
        raise ConfigError(
            f"the database at {rt.settings.database_url.split('@')[-1]} is not migrated "
            f"(at {current or 'an empty schema'}, this code needs {head}): run `uv run just migrate` first"
        )


def _start_embedded_worker(settings: Settings, rt: Runtime) -> dramatiq.Worker:
    from workers.context import CONTEXT
    from workers.middleware import SweeperMiddleware
    from workers.registry import register_actors
    from workers.schedules import ScheduleMiddleware

    rt.broker.add_middleware(SweeperMiddleware(CONTEXT))
    rt.broker.add_middleware(ScheduleMiddleware(CONTEXT))
    register_actors(rt.broker, rt.queues)
    # in-process memory cache: one for web and workers, so invalidations reach both; with Redis
    # each event loop keeps its own client (they are loop-bound) and Redis carries invalidations
    CONTEXT.configure(settings, rt.broker, shared_cache=None if settings.redis_url else rt.cache)
    rt.broker.emit_after("process_boot")  # without it Dramatiq ignores time limits in-process
    # prefetch no more than the threads can run: waiting runs stay in the broker's priority queue
    worker = dramatiq.Worker(rt.broker, worker_threads=settings.worker_threads, worker_timeout=100)
    worker.queue_prefetch = settings.worker_threads
    worker.start()
    return worker


def make_lifespan(settings: Settings, channels: ChannelsPlugin):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        rt = build_runtime(settings)
        app.state.runtime = rt
        app.state.hubs = hubs = LiveHubs(channels)
        worker: dramatiq.Worker | None = None
        loop = asyncio.get_running_loop()

        def publish_all(channel: str, events: Sequence[bytes]) -> None:
            for data in events:
                channels.publish(data, channel)

        def sink(channel: str, events: Sequence[bytes]) -> None:  # called from worker threads
            loop.call_soon_threadsafe(publish_all, channel, list(events))

        try:
            await rt.cache.init()  # bind the cache's housekeeping to this loop before workers share it
            await check_migrated(rt)
            async with rt.sessionmaker() as session:
                if await ensure_admin(session, settings.admin_username, settings.admin_password):
                    log.info("bootstrap admin created", username=settings.admin_username)
            if not settings.redis_url:
                LOCAL_BUS.add_sink(sink)
            if settings.embedded_broker:
                worker = await asyncio.to_thread(_start_embedded_worker, settings, rt)
            app.state.worker = worker
            gc.freeze()  # start-up objects never die: keep them out of every later full collection
            yield
        finally:
            LOCAL_BUS.remove_sink(sink)
            await hubs.close()
            if worker is not None:
                from workers.context import CONTEXT

                await asyncio.to_thread(worker.stop)
                rt.broker.close()
                if CONTEXT.runtime is not None:
                    CONTEXT.runtime = None
            await rt.close()

    return lifespan
