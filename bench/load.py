"""HTTP load from a separate process: ``wrk`` when installed (``apt-get install wrk``), else bench.loadgen."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core import PCTS, ROOT

WRK_HINT = ("wrk not found: using the Python asyncio load generator "
            "(install wrk for higher ceilings: apt-get install wrk)")


def wrk_path() -> str | None:
    """wrk when installed, unless BENCH_NO_WRK=1 forces the Python generator."""
    if os.environ.get("BENCH_NO_WRK") == "1":
        return None
    return shutil.which("wrk")


def tool_name() -> str:
    return "wrk" if wrk_path() else "python-asyncio"


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    errors: int
    non2xx: int
    pcts_ms: dict[str, float] = field(default_factory=dict)
    mean_ms: float | None = None
    max_ms: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p(self, pct: float) -> float | None:
        return self.pcts_ms.get(str(pct))

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "requests": self.requests, "seconds": self.seconds, "errors": self.errors,
                "non2xx": self.non2xx, "rps": self.rps, "pcts_ms": self.pcts_ms, "mean_ms": self.mean_ms,
                "max_ms": self.max_ms}


def _lua_str(text: str) -> str:
    return "[==[" + text + "]==]"


def _wrk_script(method: str, headers: dict[str, str], body: str | None, paths: list[str] | None) -> str:
    lines = [f"wrk.method = {_lua_str(method)}"]
    for k, v in headers.items():
        lines.append(f"wrk.headers[ {_lua_str(k)} ] = {_lua_str(v)}")
    if body is not None:
        lines.append(f"wrk.body = {_lua_str(body)}")
    if paths and len(paths) > 1:
        lines.append("local paths = {" + ", ".join(_lua_str(p) for p in paths) + "}")
        lines.append("local n = 0")
        lines.append("request = function() n = n + 1; return wrk.format(nil, paths[(n % #paths) + 1]) end")
    pct_list = ", ".join(str(p) for p in PCTS)
    lines.append(f"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON{{"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,'
    .. '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"mean":%f,"max":%d,"pcts":{{',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency.mean, latency.max))
  local ps = {{{pct_list}}}
  for i, p in ipairs(ps) do
    if i > 1 then io.write(",") end
    io.write(string.format('"%s":%d', tostring(p), latency:percentile(p)))
  end
  io.write("}}}}\\n")
end
""")
    return "\n".join(lines)


def _parse(output: str, tool: str) -> LoadResult:
    for line in output.splitlines():
        if line.startswith("BENCHJSON"):
            data = json.loads(line[len("BENCHJSON"):])
            break
    else:
        raise RuntimeError(f"{tool} printed no result:\n{output[-2000:]}")
    pcts = {}
    for k, v in data["pcts"].items():
        if v is not None:
            key = str(float(k)).rstrip("0").rstrip(".") if "." in str(k) else str(k)
            pcts[key] = v / 1000.0
    errors = sum(int(data.get(f"errors_{k}", 0)) for k in ("connect", "read", "write", "timeout"))
    return LoadResult(tool=tool, requests=int(data["requests"]), seconds=float(data["duration_us"]) / 1e6,
                      errors=errors, non2xx=int(data.get("errors_status", 0)), pcts_ms=pcts,
                      mean_ms=(data["mean"] / 1000.0) if data.get("mean") is not None else None,
                      max_ms=(data["max"] / 1000.0) if data.get("max") is not None else None)


def http_load(base_url: str, path: str, *, method: str = "GET", headers: dict[str, str] | None = None,
              body: str | None = None, connections: int = 64, duration: float = 10.0, threads: int = 1,
              paths: list[str] | None = None) -> LoadResult:
    """Drive ``base_url + path`` (or a rotation of ``paths``) for ``duration`` seconds from another process."""
    headers = dict(headers or {})
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    wrk = wrk_path()
    timeout = duration + 60
    if wrk:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(_wrk_script(method, headers, body, paths))
            script = handle.name
        try:
            threads = max(1, min(threads, connections))
            cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
                   "-s", script, base_url + (paths[0] if paths else path)]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        finally:
            Path(script).unlink(missing_ok=True)
        return _parse(done.stdout + done.stderr, "wrk")
    spec = {"url": base_url + path, "paths": paths, "method": method, "headers": headers, "body": body,
            "connections": connections, "duration": duration}
    done = subprocess.run([sys.executable, "-m", "bench.loadgen", "--spec", json.dumps(spec)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)
    return _parse(done.stdout + done.stderr, "python-asyncio")
