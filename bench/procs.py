"""Subprocesses the benchmarks start: granian servers, dramatiq workers, helpers; tracked by PID.

granian renames its processes, so nothing here looks processes up by command line: each server
keeps the PID it started and finds its workers as that PID's children.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.core import ROOT

# Same flags for the app and the bare baseline: one worker, room for many WebSockets.
GRANIAN_FLAGS = ["--interface", "asgi", "--workers", "1", "--backlog", "16384", "--backpressure", "16384",
                 "--no-access-log", "--log-level", "warning"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_nofile() -> int:
    """Raise this process's soft open-file limit to the hard limit (children inherit it)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def tree_pids(pid: int) -> list[int]:
    try:
        proc = psutil.Process(pid)
        return [pid, *(c.pid for c in proc.children(recursive=True))]
    except psutil.Error:
        return []


def rss_of(pids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            out[pid] = psutil.Process(pid).memory_info().rss
    return out


class Managed:
    """A process started in its own session, stopped by its process group."""

    name = "process"

    def __init__(self, log_path: Path) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = log_path

    def _spawn(self, cmd: list[str], env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pids(self) -> list[int]:
        return tree_pids(self.pid) if self.alive() else []

    def children(self) -> list[int]:
        return self.pids()[1:]

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # granian workers and step processes may outlive the leader: clean the group up.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


class Server(Managed):
    """``granian --interface asgi --factory TARGET`` on a free 127.0.0.1 port, one worker."""

    def __init__(self, name: str, target: str, env: dict[str, str], log_dir: Path, *, factory: bool = True,
                 ready_path: str = "/health", extra_flags: list[str] | None = None) -> None:
        super().__init__(log_dir / f"{name}.log")
        self.name = name
        self.target = target
        self.env = env
        self.factory = factory
        self.ready_path = ready_path
        self.extra_flags = extra_flags or []
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        self.port = free_port()
        cmd = [sys.executable, "-m", "granian", *GRANIAN_FLAGS, *self.extra_flags,
               "--host", "127.0.0.1", "--port", str(self.port)]
        if self.factory:
            cmd.append("--factory")
        cmd.append(self.target)
        self._spawn(cmd, self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited at start-up:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base_url + self.ready_path, timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """The granian worker processes (children of the main process), where requests are served."""
        return self.children()


class DramatiqWorker(Managed):
    """``python -m dramatiq MODULE --processes P --threads T`` with the given environment."""

    def __init__(self, name: str, module: str, env: dict[str, str], log_dir: Path, processes: int = 1,
                 threads: int = 8) -> None:
        super().__init__(log_dir / f"{name}.log")
        self.name = name
        self.module = module
        self.env = env
        self.processes = processes
        self.threads = threads

    def start(self) -> DramatiqWorker:
        self._spawn([sys.executable, "-m", "dramatiq", self.module, "--processes", str(self.processes),
                     "--threads", str(self.threads)], self.env)
        return self

    def wait_booted(self, timeout: float = 30.0) -> None:
        """Wait until the worker processes exist (dramatiq forks them from the leader)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited at start-up:\n{self.log_tail()}")
            if len(self.children()) >= self.processes:
                return
            time.sleep(0.1)


class RssSampler:
    """Samples RSS of named process trees every ``interval`` seconds in a background thread."""

    def __init__(self, groups: dict[str, Any], interval: float = 1.0) -> None:
        self.groups = groups  # name -> callable returning a list of pids
        self.interval = interval
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            sample: dict[str, Any] = {"t": time.monotonic() - self._t0}
            for name, get_pids in self.groups.items():
                pids = get_pids()
                sample[name] = sum(rss_of(pids).values())
            self.samples.append(sample)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
