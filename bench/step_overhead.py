"""(d) Per-step engine overhead: a 50-step ``run: "true"`` pipeline's duration / 50 vs spawning ``sh -c true``."""

from __future__ import annotations

import subprocess
import time
from datetime import datetime

from bench.core import Row
from bench.stack import Stack

NAME = "step_overhead"
DESCRIPTION = "50 sequential `true` steps: execution duration / 50 vs 50 x subprocess `sh -c true`"
STEPS = 50


def definition() -> str:
    lines = ["steps:"]
    for i in range(STEPS):
        lines += [f"  - name: s{i:02d}", '    run: "true"']
    return "\n".join(lines) + "\n"


def _ts(text: str | None) -> float | None:
    return datetime.fromisoformat(text).timestamp() if text else None


def spawn_cost_ms() -> float:
    t0 = time.perf_counter()
    for _ in range(STEPS):
        subprocess.run(["sh", "-c", "true"], check=True)
    return (time.perf_counter() - t0) * 1000 / STEPS


def run(stack: Stack) -> list[Row]:
    stack.app()
    pipeline = stack.pipeline("fifty", definition())
    per_step, step_mean, spawn, wall = [], [], [], []
    for _ in range(stack.repeat):
        t0 = time.perf_counter()
        done = stack.wait(stack.run(pipeline)["id"], timeout=600, poll=0.05)
        wall.append((time.perf_counter() - t0) * 1000)
        if done["status"] != "success":
            return [Row(NAME, "per step", "ms", status="error", note=f"execution ended {done['status']}")]
        start, end = _ts(done["started_at"]), _ts(done["finished_at"])
        if start is None or end is None:
            return [Row(NAME, "per step", "ms", status="error", note="execution has no started_at/finished_at")]
        per_step.append((end - start) * 1000 / STEPS)
        durations = [s.get("duration_ms") for s in done["steps"] if s.get("duration_ms") is not None]
        if durations:
            step_mean.append(sum(durations) / len(durations))
        spawn.append(spawn_cost_ms())
    rows = [Row(NAME, "execution duration / 50", "ms", per_step, "sh -c true spawn", spawn, False,
                note=f"{STEPS} sequential steps"),
            Row(NAME, "run request -> final status / 50", "ms", [w / STEPS for w in wall], "sh -c true spawn", spawn,
                False, note="includes queueing and the poll interval (50 ms)")]
    if step_mean:
        rows.append(Row(NAME, "mean step duration_ms", "ms", step_mean, "sh -c true spawn", spawn, False,
                        note="the step's own start->finish"))
    return rows
