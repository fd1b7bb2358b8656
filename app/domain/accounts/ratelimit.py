"""Failed-login throttling per username and per IP, counted in the shared cache."""

from __future__ import annotations

from cashews import Cache

from app.config import Settings
from app.lib.cache import key
from app.lib.errors import RateLimited

WINDOW_S = 300
MAX_PER_USERNAME = 5
MAX_PER_IP = 30


class LoginLimiter:
    def __init__(self, cache: Cache, settings: Settings) -> None:
        self._cache = cache
        self._settings = settings

    def _keys(self, username: str, ip: str | None) -> list[tuple[str, int]]:
        keys = [(key(self._settings, "login-fail", "user", username.lower()), MAX_PER_USERNAME)]
        if ip:
            keys.append((key(self._settings, "login-fail", "ip", ip), MAX_PER_IP))
        return keys

    async def check(self, username: str, ip: str | None) -> None:
        for cache_key, limit in self._keys(username, ip):
            count = await self._cache.get(cache_key)
            if count is not None and int(count) >= limit:
                ttl = await self._cache.get_expire(cache_key)
                retry = ttl if ttl and ttl > 0 else WINDOW_S
                raise RateLimited("too many failed logins; try again later", retry_after=int(retry))

    async def failed(self, username: str, ip: str | None) -> None:
        for cache_key, _limit in self._keys(username, ip):
            count = await self._cache.incr(cache_key)
            if count == 1:
                await self._cache.expire(cache_key, WINDOW_S)

    async def succeeded(self, username: str) -> None:
        await self._cache.delete(key(self._settings, "login-fail", "user", username.lower()))
