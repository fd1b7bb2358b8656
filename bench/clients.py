"""Client subprocesses that talk line by line: ``READY {json}`` when set up, ``BENCHJSON {json}`` at the end."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
from typing import Any

from bench.core import ROOT


class LineProc:
    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if len(self.stderr) < 200:
                self.stderr.append(line.rstrip("\n"))

    def expect(self, prefix: str, timeout: float) -> dict[str, Any]:
        """Wait for a line starting with ``prefix`` and return its JSON payload."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty as exc:
                raise TimeoutError(f"no {prefix} from client after {timeout:.0f}s; stderr: "
                                   f"{' | '.join(self.stderr[-5:])}") from exc
            if line is None:
                raise RuntimeError(f"client exited before {prefix}; stderr: {' | '.join(self.stderr[-8:])}")
            if line.startswith(prefix + " "):
                result: dict[str, Any] = json.loads(line[len(prefix) + 1:])
                return result

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write(text + "\n")
            self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)
