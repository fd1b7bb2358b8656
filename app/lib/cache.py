"""The one cache factory: cashews in-process memory (embedded) or memory in front of Redis.

Production uses cashews' client-side mode: a local memory tier invalidated through Redis
client tracking. redis-py 8 speaks RESP3 by default, under which cashews never invalidates,
so the connection is forced to RESP2 (``protocol=2``). Redis errors are suppressed: a read
falls through to the database.
"""

from __future__ import annotations

from cashews import Cache

from app.config import Settings

CACHE_VERSION = "v1"


def create_cache(settings: Settings) -> Cache:
    cache = Cache(name=f"ansflow-{id(settings)}")
    prefix = f"{settings.key_prefix}:{CACHE_VERSION}:"
    if settings.redis_url:
        cache.setup(
            settings.redis_url,
            client_side=True,
            client_side_prefix=prefix,
            protocol=2,
            suppress=True,
            socket_connect_timeout=1,
            socket_timeout=1,
        )
    else:
        cache.setup("mem://?size=100000")
    return cache


def key(settings: Settings, *parts: object) -> str:
    """Namespaced, versioned cache key."""
    return ":".join([settings.key_prefix, CACHE_VERSION, *(str(p) for p in parts)])
