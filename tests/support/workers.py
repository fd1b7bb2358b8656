"""A real ``dramatiq workers.app`` process for tests on RabbitMQ (started once, killed at the end)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from app.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def settings_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSFLOW_")}
    env.update(
        {
            "ANSFLOW_DATABASE_URL": settings.database_url,
            "ANSFLOW_REDIS_URL": settings.redis_url,
            "ANSFLOW_BROKER_URL": settings.broker_url,
            "ANSFLOW_SECRET_KEY": settings.secret_key,
            "ANSFLOW_WORKSPACE_DIR": settings.workspace_dir,
            "ANSFLOW_KEY_PREFIX": settings.key_prefix,
            "ANSFLOW_LOG_LEVEL": "warning",
            "ANSFLOW_LEASE_SECONDS": str(int(settings.lease_seconds)),
            "ANSFLOW_SWEEP_SECONDS": str(int(settings.sweep_seconds)),
        }
    )
    return env


class WorkerProcess:
    def __init__(self, settings: Settings, processes: int = 1, threads: int = 8) -> None:
        self.settings = settings
        self.processes = processes
        self.threads = threads
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(settings.workspace_dir).parent / f"worker-{time.time_ns()}.log"

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dramatiq",
                "workers.app",
                "--processes",
                str(self.processes),
                "--threads",
                str(self.threads),
            ],
            cwd=ROOT,
            env=settings_env(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
