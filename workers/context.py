"""The worker process's Runtime, built lazily on the Dramatiq AsyncIO event loop (pools are loop-bound)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

import dramatiq

from app.config import Settings
from app.domain.runtime import Runtime, build_runtime
from app.lib.cache import AnsflowCache


class WorkerContext:
    """Configured once per process by ``workers.app`` (CLI) or the embedded web lifespan."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.broker: dramatiq.Broker | None = None
        self.shared_cache: AnsflowCache | None = None
        self.runtime: Runtime | None = None
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._lock = asyncio.Lock()

    def configure(self, settings: Settings, broker: dramatiq.Broker, shared_cache: AnsflowCache | None = None) -> None:
        self.settings, self.broker, self.shared_cache = settings, broker, shared_cache
        self.runtime = None

    async def get(self) -> Runtime:
        if self.runtime is None:
            async with self._lock:
                if self.runtime is None:
                    if self.settings is None or self.broker is None:
                        raise RuntimeError("worker context not configured: import workers.app or embed it")
                    rt = build_runtime(self.settings, self.broker)
                    if self.shared_cache is not None:  # embedded: one memory cache for web and workers
                        await rt.cache.close()
                        rt.cache = self.shared_cache
                    self.runtime = rt
        return self.runtime

    async def close(self) -> None:
        if self.runtime is not None:
            if self.shared_cache is None:
                await self.runtime.cache.close()
            await self.runtime.publisher.close()
            await self.runtime.engine.dispose()
            self.runtime = None


CONTEXT = WorkerContext()
