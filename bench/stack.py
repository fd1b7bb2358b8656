"""What a benchmark run needs, started lazily and shared by the measurements of one run.

Embedded: a SQLite file in a temporary directory, in-process cache, channels and broker.
Real (``--real``): a throw-away PostgreSQL database, Redis and RabbitMQ with a unique key and
queue prefix, and separate ``dramatiq workers.app`` processes. Everything is removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from bench.core import ROOT
from bench.procs import DramatiqWorker, Server

PG_ADMIN_URL = os.environ.get("ANSFLOW_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ANSFLOW_BENCH_REDIS", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("ANSFLOW_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672/")
ADMIN_USER = "bench-admin"


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def redis_reachable() -> bool:
    return reachable(REDIS_URL, 6379)


def rabbit_reachable() -> bool:
    return reachable(AMQP_URL, 5672)


async def _pg(sql: str, url: str = PG_ADMIN_URL) -> Any:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


def pg(sql: str) -> Any:
    return asyncio.run(_pg(sql))


class Stack:
    def __init__(self, *, real: bool, quick: bool, repeat: int, run_dir: Path) -> None:
        self.real = real
        self.quick = quick
        self.repeat = repeat
        self.mode = "real" if real else "embedded"
        self.load_seconds = 4.0 if quick else 10.0
        self.run_dir = run_dir
        self.log_dir = run_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="ansflow-bench-"))
        self.suffix = secrets.token_hex(4)
        self.prefix = f"bench{self.suffix}"
        self.admin_password = secrets.token_urlsafe(12)
        self.pg_database: str | None = None
        self.env: dict[str, str] = {}
        self._app: Server | None = None
        self._bare: Server | None = None
        self.workers: list[DramatiqWorker] = []
        self._token: str | None = None
        self._client: httpx.Client | None = None
        self.cache: dict[str, Any] = {}
        self.extra_servers: list[Any] = []
        self._prepared = False
        self.soak_minutes = 5.0

    def say(self, text: str) -> None:
        """A progress line (the table comes at the end of each measurement)."""
        print(f"   [{time.strftime('%H:%M:%S')}] {text}", flush=True)

    # ---- settings and database -------------------------------------------------------------
    def prepare(self) -> None:
        if self._prepared:
            return
        if self.real:
            down = [n for n, u, p in (("PostgreSQL", PG_ADMIN_URL, 5432), ("Redis", REDIS_URL, 6379),
                                      ("RabbitMQ", AMQP_URL, 5672)) if not reachable(u, p)]
            if down:
                raise RuntimeError(f"--real needs {', '.join(down)} on 127.0.0.1")
            self.pg_database = f"ansflow_bench_{self.suffix}"
            pg(f'CREATE DATABASE "{self.pg_database}"')
            parsed = urlparse(PG_ADMIN_URL)
            database_url = (f"postgresql+asyncpg://{parsed.username or 'postgres'}@{parsed.hostname}:"
                            f"{parsed.port or 5432}/{self.pg_database}")
            redis_url, broker_url = REDIS_URL, AMQP_URL
        else:
            database_url = f"sqlite+aiosqlite:///{self.tmp / 'ansflow.db'}"
            redis_url = broker_url = ""
        prom = self.tmp / "prometheus"
        prom.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSFLOW_", "PROMETHEUS_"))}
        env.update({
            "ANSFLOW_DATABASE_URL": database_url, "ANSFLOW_REDIS_URL": redis_url, "ANSFLOW_BROKER_URL": broker_url,
            "ANSFLOW_SECRET_KEY": f"bench-secret-{self.suffix}", "ANSFLOW_WORKSPACE_DIR": str(self.tmp / "workspaces"),
            "ANSFLOW_KEY_PREFIX": self.prefix, "ANSFLOW_ADMIN_USERNAME": ADMIN_USER,
            "ANSFLOW_ADMIN_PASSWORD": self.admin_password, "ANSFLOW_LOG_LEVEL": "warning",
            "ANSFLOW_WORKER_THREADS": "64", "ANSFLOW_DB_POOL_SIZE": "10", "ANSFLOW_DB_MAX_OVERFLOW": "10",
            "PROMETHEUS_MULTIPROC_DIR": str(prom), "PYTHONUNBUFFERED": "1",
        })
        self.env = env
        # Migrations in a child process: the harness never imports the app's engine machinery.
        subprocess.run([sys.executable, "-c", "from app.config import Settings; from app.db.migrate import upgrade;"
                        " upgrade(Settings.from_env())"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=(self.log_dir / "migrate.log").open("ab"))
        self._prepared = True

    # ---- servers ------------------------------------------------------------------------------
    def app(self) -> Server:
        if self._app is None or not self._app.alive():
            self.prepare()
            self._app = Server("app", "app.web.asgi:create_app", self.env, self.log_dir).start()
            if self.real:
                self.start_workers()
        return self._app

    def restart_app(self) -> Server:
        if self._app is not None:
            self._app.stop()
        self._app = None
        if self._client is not None:
            self._client.close()
            self._client = None
        return self.app()

    def restart_bare(self) -> Server:
        if self._bare is not None:
            self._bare.stop()
        self._bare = None
        return self.bare()

    def bare(self) -> Server:
        if self._bare is None or not self._bare.alive():
            env = {k: v for k, v in os.environ.items() if not k.startswith("ANSFLOW_")}
            env["BENCH_BARE_PASSWORD"] = self.admin_password
            self._bare = Server("bare", "bench.bare_app:create_app", env, self.log_dir, ready_path="/json").start()
        return self._bare

    def start_workers(self, processes: int = 2, threads: int = 32) -> None:
        if self.workers or not self.real:
            return
        worker = DramatiqWorker("dramatiq", "workers.app", self.env, self.log_dir, processes, threads).start()
        worker.wait_booted()
        self.workers.append(worker)

    def worker_pids(self) -> list[int]:
        return [p for w in self.workers for p in w.pids()]

    # ---- API ----------------------------------------------------------------------------------
    @property
    def token(self) -> str:
        if self._token is None:
            app = self.app()
            with httpx.Client(base_url=app.base_url, timeout=30) as c:
                login = c.post("/api/v1/auth/login", json={"username": ADMIN_USER, "password": self.admin_password})
                login.raise_for_status()
                csrf = login.json()["csrf_token"]
                made = c.post("/api/v1/auth/tokens", json={"name": "bench"}, headers={"X-CSRF-Token": csrf})
                made.raise_for_status()
                self._token = str(made.json()["token"])
        return self._token

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.app().base_url, headers=self.auth, timeout=60)
        return self._client

    def project(self) -> str:
        if "project" not in self.cache:
            r = self.client().post("/api/v1/projects", json={"name": f"bench-{self.suffix}"})
            r.raise_for_status()
            self.cache["project"] = str(r.json()["id"])
        return str(self.cache["project"])

    def pipeline(self, key: str, definition: str) -> str:
        cache_key = f"pipeline:{key}"
        if cache_key not in self.cache:
            r = self.client().post(f"/api/v1/projects/{self.project()}/pipelines",
                                   json={"name": f"{key}-{secrets.token_hex(3)}", "definition": definition})
            if r.status_code != 201:
                raise RuntimeError(f"pipeline {key} rejected: {r.status_code} {r.text[:400]}")
            self.cache[cache_key] = str(r.json()["id"])
        return str(self.cache[cache_key])

    def run(self, pipeline_id: str, **body: Any) -> dict[str, Any]:
        r = self.client().post(f"/api/v1/pipelines/{pipeline_id}/runs", json=body)
        if r.status_code != 201:
            raise RuntimeError(f"run rejected: {r.status_code} {r.text[:400]}")
        result: dict[str, Any] = r.json()
        return result

    def execution(self, execution_id: str) -> dict[str, Any]:
        r = self.client().get(f"/api/v1/executions/{execution_id}")
        r.raise_for_status()
        result: dict[str, Any] = r.json()
        return result

    def wait(self, execution_id: str, timeout: float = 300.0, poll: float = 0.1) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            current = self.execution(execution_id)
            if current["status"] in {"success", "failed", "cancelled", "timed_out"}:
                return current
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_id} still {current['status']} after {timeout:.0f}s")
            time.sleep(poll)

    # ---- teardown -----------------------------------------------------------------------------
    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        for server in self.extra_servers:
            with contextlib.suppress(Exception):
                server.stop()
        for proc in (self._app, self._bare, *self.workers):
            if proc is not None:
                with contextlib.suppress(Exception):
                    proc.stop()
        if self.real:
            self._cleanup_services()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _cleanup_services(self) -> None:
        if self.pg_database:
            with contextlib.suppress(Exception):
                pg(f'DROP DATABASE IF EXISTS "{self.pg_database}" WITH (FORCE)')
        with contextlib.suppress(Exception):
            import pika

            conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
            channel = conn.channel()
            for base in ("executions", "notifications", "maintenance"):
                for name in (f"{self.prefix}.{base}", f"{self.prefix}.{base}.DQ", f"{self.prefix}.{base}.XQ"):
                    try:
                        channel.queue_delete(name)
                    except Exception:
                        channel = conn.channel()
            conn.close()
        with contextlib.suppress(Exception):
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            for found in client.scan_iter(f"{self.prefix}:*", count=1000):
                client.delete(found)
            client.close()
