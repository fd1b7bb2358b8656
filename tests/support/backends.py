"""Build Settings for a test session on embedded defaults or on real, isolated services."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from app.config import Settings
from app.db.migrate import upgrade

PG_ADMIN_URL = os.environ.get("ANSFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ANSFLOW_TEST_REDIS", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("ANSFLOW_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/")


@dataclass
class BackendSet:
    name: str
    settings: Settings
    pg_database: str | None = None


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def require_services() -> None:
    down = [
        name
        for name, url, port in (
            ("PostgreSQL", PG_ADMIN_URL, 5432),
            ("Redis", REDIS_URL, 6379),
            ("RabbitMQ", AMQP_URL, 5672),
        )
        if not _reachable(url, port)
    ]
    if down:
        message = f"real services unreachable: {', '.join(down)}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def embedded_backends(root: Path) -> Iterator[BackendSet]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{root / 'ansflow.db'}",
        workspace_dir=str(root / "workspaces"),
        secret_key="test-secret-key-embedded",
        admin_username="admin",
        admin_password="admin-password-1",
        key_prefix=f"t{secrets.token_hex(4)}",
        worker_threads=8,
    )
    upgrade(settings)
    yield BackendSet("embedded", settings)


@contextmanager
def real_backends(root: Path) -> Iterator[BackendSet]:
    require_services()
    suffix = secrets.token_hex(4)
    database = f"ansflow_test_{suffix}"
    asyncio.run(_pg(f'CREATE DATABASE "{database}"'))
    pg = urlparse(PG_ADMIN_URL)
    settings = Settings(
        database_url=f"postgresql+asyncpg://{pg.username or 'postgres'}@{pg.hostname}:{pg.port or 5432}/{database}",
        redis_url=REDIS_URL,
        broker_url=AMQP_URL,
        workspace_dir=str(root / "workspaces"),
        secret_key="test-secret-key-real",
        admin_username="admin",
        admin_password="admin-password-1",
        key_prefix=f"t{suffix}",
        worker_threads=8,
    )
    upgrade(settings)
    try:
        yield BackendSet("real", settings, database)
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        _cleanup_rabbit(settings)
        _cleanup_redis(settings)


def _cleanup_rabbit(settings: Settings) -> None:
    import pika

    from app.lib.broker import Queues

    try:
        conn = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
    except Exception:
        return
    channel = conn.channel()
    for queue in Queues(settings.key_prefix).all():
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            try:
                channel.queue_delete(name)
            except Exception:
                channel = conn.channel()
    conn.close()


def _cleanup_redis(settings: Settings) -> None:
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    for found in client.scan_iter(f"{settings.key_prefix}:*", count=1000):
        client.delete(found)
    client.close()
