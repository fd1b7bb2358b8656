"""Settings built once from the ``ANSFLOW_*`` environment and passed explicitly to factories.

Nothing reads the environment at import time: ``Settings.from_env()`` is called by entry points
(the ASGI factory, the worker module, the CLI) and the object travels from there.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import msgspec

EMBEDDED_DATABASE_URL = "sqlite+aiosqlite:///var/ansflow.db"


class ConfigError(RuntimeError):
    """An impossible or unusable configuration, reported at start-up with what to change."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = EMBEDDED_DATABASE_URL
    redis_url: str = ""
    broker_url: str = ""
    secret_key: str = ""
    workspace_dir: str = "var/workspaces"
    admin_username: str = ""
    admin_password: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    web_workers: int = 1
    metrics_token: str = ""
    key_prefix: str = "ansflow"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    worker_threads: int = 8
    lease_seconds: float = 30.0
    sweep_seconds: float = 15.0
    log_level: str = "info"
    demo: bool = False

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url

    @property
    def embedded_cache(self) -> bool:
        return not self.redis_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str, default: str) -> str:
            return env.get(f"ANSFLOW_{name}", "").strip() or default

        def get_int(name: str, default: int) -> int:
            raw = get(name, str(default))
            try:
                return int(raw)
            except ValueError as exc:
                raise ConfigError(f"ANSFLOW_{name} must be an integer, got {raw!r}") from exc

        settings = cls(
            database_url=get("DATABASE_URL", EMBEDDED_DATABASE_URL),
            redis_url=get("REDIS_URL", ""),
            broker_url=get("BROKER_URL", ""),
            secret_key=get("SECRET_KEY", ""),
            workspace_dir=get("WORKSPACE_DIR", "var/workspaces"),
            admin_username=get("ADMIN_USERNAME", ""),
            admin_password=get("ADMIN_PASSWORD", ""),
            host=get("HOST", "127.0.0.1"),
            port=get_int("PORT", 8000),
            web_workers=get_int("WEB_WORKERS", 1),
            metrics_token=get("METRICS_TOKEN", ""),
            key_prefix=get("KEY_PREFIX", "ansflow"),
            db_pool_size=get_int("DB_POOL_SIZE", 10),
            db_max_overflow=get_int("DB_MAX_OVERFLOW", 10),
            worker_threads=get_int("WORKER_THREADS", 8),
            lease_seconds=get_int("LEASE_SECONDS", 30),
            sweep_seconds=get_int("SWEEP_SECONDS", 15),
            log_level=get("LOG_LEVEL", "info"),
            demo=get("DEMO", "") in {"1", "true", "yes"},
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse combinations that cannot work, naming the setting to change."""
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ConfigError("ANSFLOW_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("ANSFLOW_REDIS_URL must be a redis:// URL (or empty for in-process)")
        if self.broker_url and not self.broker_url.startswith(("amqp://", "amqps://")):
            raise ConfigError("ANSFLOW_BROKER_URL must be an amqp:// URL (or empty for in-process)")
        if self.web_workers < 1:
            raise ConfigError("ANSFLOW_WEB_WORKERS must be at least 1")
        if self.web_workers > 1 and (self.embedded_broker or self.embedded_cache):
            missing = [
                name
                for name, empty in (
                    ("ANSFLOW_BROKER_URL", self.embedded_broker),
                    ("ANSFLOW_REDIS_URL", self.embedded_cache),
                )
                if empty
            ]
            raise ConfigError(
                f"ANSFLOW_WEB_WORKERS={self.web_workers} needs shared services: set {' and '.join(missing)}."
                " The in-process broker, sessions and channels live inside one process."
            )
        if self.web_workers > 1 and self.is_sqlite:
            raise ConfigError(
                "ANSFLOW_WEB_WORKERS>1 needs PostgreSQL: set ANSFLOW_DATABASE_URL=postgresql+asyncpg://..."
            )

    def resolved_secret_key(self) -> str:
        """The operator's key, else one generated once into var/secret.key (mode 600)."""
        if self.secret_key:
            return self.secret_key
        path = Path("var/secret.key")
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process generated it first: use theirs
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key
