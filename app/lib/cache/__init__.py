"""The cache: ``create_cache`` (the one factory), ``key`` and ``AnsflowCache.cached`` (read-through)."""

from app.lib.cache.factory import create_cache
from app.lib.cache.keys import CACHE_VERSION, key
from app.lib.cache.readthrough import AnsflowCache, ansflow_cache

__all__ = ["CACHE_VERSION", "AnsflowCache", "ansflow_cache", "create_cache", "key"]
