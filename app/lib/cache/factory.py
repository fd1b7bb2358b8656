"""The one cache factory, chosen by ``ANSFLOW_REDIS_URL``: in-process memory, or two tiers on Redis."""

from __future__ import annotations

from app.config import Settings
from app.lib.cache.keys import key
from app.lib.cache.readthrough import AnsflowCache
from app.lib.cache.tiers import TwoTierRedis, guard_middleware
from app.lib.metrics import CACHE_BACKEND_UP


def create_cache(settings: Settings) -> AnsflowCache:
    """Embedded: cashews memory. Production: memory tier + Redis, invalidated across processes.

    Values are stored without pickling (see ``TaggedValues``): nothing read back from a shared Redis
    is ever unpickled.
    """
    cache = AnsflowCache(settings, name=f"ansflow-{id(settings)}")
    if settings.redis_url:
        backend = TwoTierRedis(settings.redis_url, channel=key(settings, "cache-invalidations"))
        backend.on_touch = cache.touched
        backend.on_change = cache.near.evict
        backend.on_reset = cache.near.clear
        cache.add_two_tier(backend, guard_middleware(backend))
        CACHE_BACKEND_UP.set(1)
    else:
        cache.setup("mem://?size=100000")
    return cache
