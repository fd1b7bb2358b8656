"""Fallback HTTP load generator (when ``wrk`` is not installed): asyncio, raw HTTP/1.1 keep-alive.

Run as a separate process: ``python -m bench.loadgen --spec JSON``; prints one JSON line with the same
fields as the wrk script (requests, duration_us, errors, latency percentiles in microseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any
from urllib.parse import urlparse

from bench.core import PCTS, percentile


async def _one_connection(host: str, port: int, requests: list[bytes], deadline: float,
                          latencies: list[float], errors: dict[str, int], start_index: int) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    i = start_index
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            raw = requests[i % len(requests)]
            i += 1
            t0 = time.perf_counter()
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = None
            chunked = False
            keep = True
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                lname = name.strip().lower()
                if lname == b"content-length":
                    length = int(value.strip())
                elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                elif lname == b"connection" and b"close" in value.lower():
                    keep = False
            if chunked:
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            elif length:
                await reader.readexactly(length)
            latencies.append((time.perf_counter() - t0) * 1e6)
            if status >= 400:
                errors["status"] += 1
            if not keep:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError, asyncio.LimitOverrunError):
            errors["read"] += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    url = urlparse(spec["url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    headers = dict(spec.get("headers", {}))
    body = spec.get("body")
    body_bytes = body.encode() if body else b""
    method = spec.get("method", "GET")
    requests = []
    for path in spec.get("paths") or [url.path or "/"]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body_bytes:
            lines.append(f"Content-Length: {len(body_bytes)}")
        requests.append(("\r\n".join(lines) + "\r\n\r\n").encode() + body_bytes)
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    t0 = time.perf_counter()
    deadline = t0 + float(spec["duration"])
    await asyncio.gather(*(_one_connection(host, port, requests, deadline, latencies, errors, n)
                           for n in range(int(spec["connections"]))))
    elapsed = time.perf_counter() - t0
    return {
        "requests": len(latencies), "duration_us": elapsed * 1e6,
        **{f"errors_{k}": v for k, v in errors.items()},
        "pcts": {str(p): percentile(latencies, p) for p in PCTS},
        "mean": sum(latencies) / len(latencies) if latencies else None,
        "max": max(latencies) if latencies else None,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    args = parser.parse_args()
    print("BENCHJSON" + json.dumps(asyncio.run(main(json.loads(args.spec)))), flush=True)
