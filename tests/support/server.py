"""A real server: granian serving create_app in a subprocess, like `just serve` does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from app.config import Settings
from tests.support.workers import ROOT, settings_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self, settings: Settings, workers: int = 1) -> None:
        self.settings = settings
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(settings.workspace_dir).parent / f"granian-{self.port}.log"

    def start(self) -> LiveServer:
        env = settings_env(self.settings)
        env.update(
            {
                "ANSFLOW_ADMIN_USERNAME": self.settings.admin_username,
                "ANSFLOW_ADMIN_PASSWORD": self.settings.admin_password,
                "ANSFLOW_WEB_WORKERS": str(self.workers),
            }
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "asgi",
                "--factory",
                "app.web.asgi:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"granian exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"granian did not become ready: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def admin_token(server: LiveServer) -> str:
    with httpx.Client(base_url=server.url) as client:
        login = client.post(
            "/api/v1/auth/login",
            json={"username": server.settings.admin_username, "password": server.settings.admin_password},
        )
        login.raise_for_status()
        created = client.post(
            "/api/v1/auth/tokens", json={"name": "live-test"}, headers={"X-CSRF-Token": login.json()["csrf_token"]}
        )
        created.raise_for_status()
        return str(created.json()["token"])


def live_client(server: LiveServer, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
