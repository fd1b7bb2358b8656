"""Readiness checks for the database, the cache backend and the broker, each with a short timeout."""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

import msgspec
import redis.asyncio as aioredis
from sqlalchemy import text

from app.domain.runtime import Runtime

TIMEOUT_S = 2.0


class Readiness(msgspec.Struct):
    status: str
    checks: dict[str, str]
    down: list[str]


async def _check_db(rt: Runtime) -> None:
    async with rt.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check_cache(rt: Runtime) -> None:
    if not rt.settings.redis_url:
        return
    client = aioredis.Redis.from_url(rt.settings.redis_url, socket_connect_timeout=TIMEOUT_S)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _check_broker(rt: Runtime) -> None:
    """A TCP connect and AMQP protocol header exchange: proves the broker answers, cheaply."""
    if not rt.settings.broker_url:
        return
    url = urlparse(rt.settings.broker_url)
    reader, writer = await asyncio.open_connection(url.hostname or "127.0.0.1", url.port or 5672)
    try:
        writer.write(b"AMQP\x00\x00\x09\x01")
        await writer.drain()
        frame = await reader.read(7)
        if len(frame) < 7 or frame[0] != 1:
            raise ConnectionError("broker did not answer the AMQP handshake")
    finally:
        writer.close()


async def readiness(rt: Runtime) -> Readiness:
    checks = {"database": _check_db(rt), "cache": _check_cache(rt), "broker": _check_broker(rt)}
    results = await asyncio.gather(
        *(asyncio.wait_for(c, TIMEOUT_S) for c in checks.values()), return_exceptions=True
    )
    states: dict[str, str] = {}
    for name, result in zip(checks, results, strict=True):
        states[name] = "ok" if not isinstance(result, BaseException) else f"down: {type(result).__name__}"
    down = [n for n, s in states.items() if s != "ok"]
    return Readiness(status="ok" if not down else "unavailable", checks=states, down=down)
