"""(i) Soak: 50 pipelines kept running at once, 200 WebSocket followers (4 per running execution), for
N minutes (5 with --soak, 30 s with --quick). Reports throughput, p99 latencies (API, queue, live lines),
memory over time of the granian and dramatiq processes (tracked by PID), and lines lost (every follower's
received ``BENCHTS`` lines against what was stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import sys
import time
from datetime import datetime
from typing import Any

import httpx

from bench.clients import LineProc
from bench.core import Row, percentile
from bench.procs import RssSampler
from bench.stack import Stack
from bench.websocket import _emit_script

NAME = "soak"
DESCRIPTION = "50 concurrent pipelines + 200 WebSocket followers for N minutes: throughput, p99, RSS, lines lost"
PIPELINES = 50
FOLLOWERS_PER_RUN = 4
LINES = 100
INTERVAL = 0.05


def _ts(text: str | None) -> float | None:
    return datetime.fromisoformat(text).timestamp() if text else None


def run(stack: Stack) -> list[Row]:
    app = stack.app()
    minutes = stack.soak_minutes
    script = _emit_script(stack)
    gate = stack.tmp / "soak-gate-open"
    gate.touch()  # the emitter waits for a gate; the soak's is always open
    cmd = f"{sys.executable} {script} {gate} {LINES} {INTERVAL}"
    pipelines = [stack.pipeline(f"soak{i}", f"steps:\n  - name: emit\n    run: '{cmd}'\n") for i in range(PIPELINES)]
    url = f"{app.ws_url}/ws/executions/{{id}}?after_seq=0&token={stack.token}"
    follower = LineProc(["-m", "bench.wsclient", "soak", "--url", url, "--timeout", "300"])
    follower.expect("READY", 30)
    groups = {"granian": app.pids, "dramatiq": stack.worker_pids}
    stack.say(f"soak: {PIPELINES} pipelines x {LINES} lines, {PIPELINES * FOLLOWERS_PER_RUN} followers, "
              f"{minutes:g} min ({stack.mode})")
    with RssSampler(groups, interval=2.0) as sampler:
        try:
            outcome = asyncio.run(_drive(stack, app.base_url, pipelines, follower, minutes * 60))
        finally:
            follower.send("STOP")
    dones, unfinished = _collect(follower)
    follower.stop()
    return _rows(stack, outcome, dones, unfinished, sampler.samples, minutes)


async def _drive(stack: Stack, base_url: str, pipelines: list[str], follower: LineProc, seconds: float
                 ) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    executions: list[dict[str, Any]] = []
    run_ms: list[float] = []
    status_ms: list[float] = []
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=base_url, headers=stack.auth, timeout=60,
                                 limits=httpx.Limits(max_connections=100)) as client:

        async def lane(pipeline: str) -> None:
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                try:
                    r = await client.post(f"/api/v1/pipelines/{pipeline}/runs", json={})
                except httpx.HTTPError as exc:
                    errors.append(f"run: {type(exc).__name__}")
                    await asyncio.sleep(1)
                    continue
                run_ms.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 201:
                    errors.append(f"run {r.status_code}")
                    await asyncio.sleep(1)
                    continue
                execution_id = r.json()["id"]
                follower.send(f"FOLLOW {execution_id} {FOLLOWERS_PER_RUN}")
                final = None
                while final is None:
                    await asyncio.sleep(1.0)
                    with contextlib.suppress(httpx.HTTPError):
                        d = await client.get(f"/api/v1/executions/{execution_id}")
                        if d.status_code == 200 and d.json()["status"] in {"success", "failed", "cancelled",
                                                                           "timed_out"}:
                            final = d.json()
                    if time.monotonic() > deadline + 180:
                        errors.append(f"execution {execution_id} not final 3 min after the end")
                        break
                if final is None:
                    continue
                logs = await client.get(f"/api/v1/executions/{execution_id}/logs",
                                        params={"step": "emit", "limit": 5000})
                stored = [ln for ln in logs.json().get("lines", []) if str(ln.get("text", "")).startswith("BENCHTS ")]
                executions.append({"id": execution_id, "status": final["status"], "created": final["created_at"],
                                   "started": final["started_at"], "finished": final["finished_at"],
                                   "stored": len(stored), "max_seq": max((ln["seq"] for ln in stored), default=0),
                                   "done_at": time.monotonic()})

        async def poller() -> None:
            """A steady read next to the load: cached pipeline status, 5 per second."""
            i = 0
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                with contextlib.suppress(httpx.HTTPError):
                    await client.get(f"/api/v1/pipelines/{pipelines[i % len(pipelines)]}/status")
                    status_ms.append((time.perf_counter() - t0) * 1000)
                i += 1
                await asyncio.sleep(0.2)

        t_start = time.monotonic()
        await asyncio.gather(poller(), *(lane(p) for p in pipelines))
        elapsed = time.monotonic() - t_start
    return {"executions": executions, "run_ms": run_ms, "status_ms": status_ms, "errors": errors,
            "elapsed": elapsed}


def _collect(follower: LineProc) -> tuple[list[dict[str, Any]], int | None]:
    """Every follower's DONE line, and how many sockets were still open when the follower gave up
    (it prints BENCHJSON once its last socket closed, or after its 300 s timeout)."""
    dones: list[dict[str, Any]] = []
    deadline = time.monotonic() + 330
    while time.monotonic() < deadline:
        try:
            line = follower.lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        if line.startswith("BENCHJSON "):
            return dones, int(json.loads(line[10:]).get("unfinished", 0))
        if line.startswith("DONE "):
            dones.append(json.loads(line[5:]))
    return dones, None


def _rows(stack: Stack, outcome: dict[str, Any], dones: list[dict[str, Any]], unfinished: int | None,
          samples: list[dict[str, Any]], minutes: float) -> list[Row]:
    executions = outcome["executions"]
    by_exec: dict[str, list[dict[str, Any]]] = {}
    for d in dones:
        by_exec.setdefault(d["execution_id"], []).append(d)
    lost = stored_lost = abnormal = failed = unreported = 0
    latencies: list[float] = []
    for e in executions:
        stored_lost += max(0, LINES - e["stored"])
        follows = by_exec.get(e["id"], [])
        unreported += max(0, FOLLOWERS_PER_RUN - len(follows))
        for f in follows:
            if "failed" in f:  # the handshake failed: nothing was followed
                failed += 1
                continue
            latencies += f.get("latency_ms", [])
            lost += max(0, e["stored"] - f.get("bench_lines", 0))
            if f.get("close") != 1000:
                abnormal += 1
    queue_ms = [(s - c) * 1000 for e in executions if (c := _ts(e["created"])) and (s := _ts(e["started"]))]
    elapsed_min = outcome["elapsed"] / 60
    ok = sum(1 for e in executions if e["status"] == "success")
    first = samples[: max(1, len(samples) // 10)]
    last = samples[-max(1, len(samples) // 10):]

    def avg(group: list[dict[str, Any]], key: str) -> float:
        return sum(s.get(key, 0) for s in group) / len(group) / 2**20 if group else 0.0

    note = (f"{stack.mode}; {minutes:g} min; {len(executions)} executions ({ok} success); "
            f"{len(dones)} follower sockets; errors {len(outcome['errors'])}")
    extra = {"rss_samples": samples, "errors": outcome["errors"][:50]}
    rows = [
        Row(NAME, "executions finished / min", "/min", [len(executions) / elapsed_min], "", [], True, note=note,
            extra=extra),
        Row(NAME, "lines stored / s", "lines/s", [sum(e["stored"] for e in executions) / outcome["elapsed"]], "", [],
            True),
        Row(NAME, "lines lost (followers vs stored)", "lines", [float(lost)], "", [], False,
            note=f"over sockets that completed; stored short of printed: {stored_lost}; abnormal closes "
                 f"{abnormal}; failed handshakes {failed}; sockets still open at the end (unverified) "
                 f"{unreported if unfinished is None else unfinished}; must be 0"),
        Row(NAME, "live line print->client p99", "ms", [percentile(latencies, 99) or 0], "p50",
            [percentile(latencies, 50) or 0], False),
        Row(NAME, "POST run p99", "ms", [percentile(outcome["run_ms"], 99) or 0], "p50",
            [percentile(outcome["run_ms"], 50) or 0], False),
        Row(NAME, "GET status p99 (5/s beside the load)", "ms", [percentile(outcome["status_ms"], 99) or 0], "p50",
            [percentile(outcome["status_ms"], 50) or 0], False),
        Row(NAME, "queue created->started p99", "ms", [percentile(queue_ms, 99) or 0], "p50",
            [percentile(queue_ms, 50) or 0], False),
        Row(NAME, "granian RSS, last 10% of run", "MiB", [avg(last, "granian")], "first 10%", [avg(first, "granian")],
            False, note=f"max {max((s.get('granian', 0) for s in samples), default=0) / 2**20:.0f} MiB"),
    ]
    if stack.real:
        rows.append(Row(NAME, "dramatiq RSS, last 10% of run", "MiB", [avg(last, "dramatiq")], "first 10%",
                        [avg(first, "dramatiq")], False,
                        note=f"max {max((s.get('dramatiq', 0) for s in samples), default=0) / 2**20:.0f} MiB"))
    return rows
