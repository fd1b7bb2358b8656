"""(e) Log ingest: one step printing 200,000 lines, lines/s stored vs ``cat`` of the same file to /dev/null."""

from __future__ import annotations

import subprocess
import time
from datetime import datetime

from bench.core import Row
from bench.stack import Stack

NAME = "log_ingest"
DESCRIPTION = "one step `seq 200000`: stored lines/s (execution start -> final) vs `cat` of the same file"


def run(stack: Stack) -> list[Row]:
    lines = 50_000 if stack.quick else 200_000
    stack.app()
    pipeline = stack.pipeline(f"seq{lines}", f'steps:\n  - name: emit\n    run: "seq {lines}"\n')
    data = stack.tmp / f"seq-{lines}.txt"
    subprocess.run(["sh", "-c", f"seq {lines} > {data}"], check=True)
    stored_rate, cat_rate, complete = [], [], []
    notes = []
    for _ in range(stack.repeat):
        done = stack.wait(stack.run(pipeline)["id"], timeout=900, poll=0.1)
        if done["status"] != "success":
            return [Row(NAME, "stored lines/s", "lines/s", status="error", note=f"execution ended {done['status']}")]
        start = datetime.fromisoformat(done["started_at"]).timestamp()
        end = datetime.fromisoformat(done["finished_at"]).timestamp()
        stored_rate.append(lines / (end - start))
        tail = stack.client().get(f"/api/v1/executions/{done['id']}/logs",
                                  params={"step": "emit", "after_seq": max(0, lines - 100), "limit": 5000})
        emitted = [line for line in tail.json().get("lines", [])
                   if line.get("step") == "emit" and line.get("stream") == "stdout"]
        last_text = emitted[-1]["text"] if emitted else None
        complete.append(1.0 if last_text == str(lines) else 0.0)
        if last_text != str(lines):
            notes.append(f"last stored line {last_text!r}")
        t0 = time.perf_counter()
        subprocess.run(["sh", "-c", f"cat {data} > /dev/null"], check=True)
        cat_rate.append(lines / (time.perf_counter() - t0))
    note = f"{lines:,} lines; last line stored in {int(sum(complete))}/{len(complete)} runs"
    if notes:
        note += "; " + "; ".join(notes[:2])
    return [Row(NAME, "stored lines/s", "lines/s", stored_rate, "cat file > /dev/null", cat_rate, True, note=note)]
