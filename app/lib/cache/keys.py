"""Cache key naming: every key is namespaced by the deployment's prefix and versioned.

Bumping ``CACHE_VERSION`` when a cached Struct changes shape makes old entries unreachable
instead of undecodable during a rolling deploy.
"""

from __future__ import annotations

from app.config import Settings

CACHE_VERSION = "v1"


def key(settings: Settings, *parts: object) -> str:
    """Namespaced, versioned cache key."""
    return ":".join((settings.key_prefix, CACHE_VERSION, *map(str, parts)))
