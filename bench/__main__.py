"""``uv run python -m bench [NAME ...] [--real] [--repeat N] [--quick] [--soak [--soak-minutes M]]``."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from typing import Any

from bench.core import RESULTS_DIR, Row, errored, save, table
from bench.load import WRK_HINT, tool_name, wrk_path
from bench.procs import raise_nofile
from bench.stack import Stack

MODULES = ["cached_read", "exec_list", "login", "step_overhead", "log_ingest", "queue_latency", "websocket",
           "cache_db", "soak"]
ALIASES = {"queue": "queue_latency", "ws": "websocket", "websockets": "websocket", "cache": "cache_db"}


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"measurements to run (default: all but soak): {', '.join(MODULES)}")
    parser.add_argument("--real", action="store_true", help="PostgreSQL + Redis + RabbitMQ + dramatiq workers")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per measurement (default 3, quick 2)")
    parser.add_argument("--quick", action="store_true", help="shorter loads and smaller counts")
    parser.add_argument("--soak", action="store_true", help="also run the soak (5 min, 30 s with --quick)")
    parser.add_argument("--soak-minutes", type=float, default=None, help="soak duration in minutes")
    parser.add_argument("--list", action="store_true", help="list the measurements and exit")
    return parser.parse_args()


def main() -> int:
    args = _parse()
    if args.list:
        for name in MODULES:
            mod = importlib.import_module(f"bench.{name}")
            print(f"{mod.NAME:14s} {mod.DESCRIPTION}")
        return 0
    names = [ALIASES.get(n, n) for n in args.names] or [m for m in MODULES if m != "soak"]
    if args.soak and "soak" not in names:
        names.append("soak")
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        print(f"unknown measurement(s): {', '.join(unknown)}; known: {', '.join(MODULES)}", file=sys.stderr)
        return 2
    repeat = args.repeat or (2 if args.quick else 3)
    nofile = raise_nofile()
    if not wrk_path():
        print(WRK_HINT)
    run_stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = RESULTS_DIR / f"run-{run_stamp}"
    stack = Stack(real=args.real, quick=args.quick, repeat=repeat, run_dir=run_dir)
    stack.soak_minutes = args.soak_minutes if args.soak_minutes is not None else (0.5 if args.quick else 5.0)
    print(f"AnsFlow bench: mode={stack.mode} repeat={repeat} quick={args.quick} http-load={tool_name()} "
          f"nofile={nofile} loadavg={os.getloadavg()[0]:.2f} logs={run_dir}", flush=True)
    load_start = os.getloadavg()
    rows: list[Row] = []
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    try:
        for name in names:
            mod = importlib.import_module(f"bench.{name}")
            print(f"\n== {mod.NAME}: {mod.DESCRIPTION}", flush=True)
            t0 = time.perf_counter()
            try:
                got = mod.run(stack)
            except Exception as exc:  # one broken measurement must not hide the others
                traceback.print_exc()
                got = [errored(mod.NAME, f"{type(exc).__name__}: {str(exc)[:200]}")]
            timings[name] = time.perf_counter() - t0
            rows += got
            print(table(got), flush=True)
            print(f"   ({timings[name]:.0f} s)", flush=True)
    finally:
        stack.close()
    total = time.perf_counter() - t_all
    meta: dict[str, Any] = {
        "mode": stack.mode, "repeat": repeat, "quick": args.quick, "names": names, "http_load": tool_name(),
        "started": run_stamp, "seconds": total, "timings": timings, "python": platform.python_version(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
    }
    path = save(rows, meta)
    print(f"\n== results ({stack.mode}, {total / 60:.1f} min, load average {load_start[0]:.1f} -> "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs, saved to {path.relative_to(RESULTS_DIR.parent.parent)})")
    print(table(rows))
    if not wrk_path():
        print("\n" + WRK_HINT)
    print("\nreport: uv run python -m bench.report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
