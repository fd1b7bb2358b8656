"""``uv run python -m bench.report``: bench/report.md and bench/plots/*.png from the latest results.

For each mode (embedded, real) every measurement is taken from the newest results file that has it,
so a partial run (``python -m bench queue``) refreshes its rows without hiding the others.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bench.core import BENCH_DIR, RESULTS_DIR, fmt, markdown_table

PLOTS = BENCH_DIR / "plots"
REPORT = BENCH_DIR / "report.md"
ORDER = ["cached_read", "exec_list", "login", "step_overhead", "log_ingest", "queue", "websocket", "cache_db", "soak"]


def latest(mode: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows, metas) for ``mode``: per measurement, the rows of the newest file containing it."""
    files = sorted(RESULTS_DIR.glob(f"bench-*-{mode}.json"), reverse=True)
    chosen: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {}
    for path in files:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        meta = {**data.get("meta", {}), "file": path.name}
        by_name: dict[str, list[dict[str, Any]]] = {}
        for row in data.get("rows", []):
            by_name.setdefault(row["measurement"], []).append(row)
        for name, rows in by_name.items():
            chosen.setdefault(name, (rows, meta))
    rows: list[dict[str, Any]] = []
    metas: dict[str, dict[str, Any]] = {}
    for name in sorted(chosen, key=lambda n: ORDER.index(n) if n in ORDER else 99):
        got, meta = chosen[name]
        rows += got
        metas[meta["file"]] = meta
    return rows, list(metas.values())


def find(rows: list[dict[str, Any]], measurement: str, metric_start: str) -> dict[str, Any] | None:
    for row in rows:
        if row["measurement"] == measurement and row["metric"].startswith(metric_start) and row["status"] == "ok":
            return row
    return None


def value(rows: list[dict[str, Any]], measurement: str, metric_start: str) -> tuple[float | None, str]:
    row = find(rows, measurement, metric_start)
    if row is None:
        return None, ""
    return row.get("median"), row.get("unit", "")


# --------------------------------------------------------------------------------------------- seed
def seed_table(rows_by_mode: dict[str, list[dict[str, Any]]]) -> str:
    """The original's reported figures and targets next to ours (per mode)."""
    modes = [m for m in ("embedded", "real") if rows_by_mode.get(m)]
    specs: list[tuple[str, str, str | None, list[tuple[str, str, str]], Any]] = [
        # (KPI, seed figure as reported, target, [(label, measurement, metric prefix)], target check)
        ("API response time", "8.8 ms (Django API, README); 'average 80 ms' (success report)", "< 100 ms",
         [("cached read p50, 1 client", "cached_read", "p50 latency @1"),
          ("cached read p50 @64", "cached_read", "p50 latency @64"), ("cached read p99 @64", "cached_read", "p99"),
          ("execution list p99", "exec_list", "p99"), ("mix p99 @500 clients", "cache_db", "mix p99")],
         lambda v: v < 100),
        ("API throughput", "34.91 req/s (20 concurrent, README)", None,
         [("cached read req/s @64", "cached_read", "throughput"), ("execution list req/s", "exec_list", "throughput"),
          ("mix req/s @500", "cache_db", "mix throughput")], None),
        ("WebSocket latency", "~30 ms (connect latency, README)", "< 50 ms avg (WS analysis)",
         [("handshake p50", "websocket", "handshake p50"),
          ("print->client p50, 1,000 followers", "websocket", "print->client p50"),
          ("print->client p99, 1,000 followers", "websocket", "print->client p99")], lambda v: v < 50),
        ("WebSocket connections", "~5,000+ (README, no benchmark in repo)", None,
         [("idle sockets held by 1 worker", "websocket", "idle sockets"),
          ("RSS per idle socket (KiB)", "websocket", "RSS per idle")], None),
        ("DB connections", "target only", "< 50",
         [("web process pool in use, max @500 (issue 5 goal <= 20)", "cache_db", "DB connections in use by the web"),
          ("pools of all processes, max @500", "cache_db", "DB connections in use, all"),
          ("pg_stat_activity max @500", "cache_db", "DB connections (max, pg")], lambda v: v < 50),
        ("Cache hit ratio", "'0 % -> > 80 %' (claimed)", "> 80 %",
         [("hit ratio, read-heavy mix", "cache_db", "cache hit ratio")], lambda v: v > 0.8),
        ("Task-queue latency", "target only (RabbitMQ test failed in the seed)", "< 5 s",
         [("enqueue->start p99 (RabbitMQ)", "queue", "enqueue->start p99"),
          ("run created->started (engine)", "queue", "run created_at"),
          ("soak queue p99", "soak", "queue created")], lambda v: v < 5000),
    ]
    head = "| KPI | seed's figure | target | ours | " + " | ".join(modes) + " | meets target |"
    out = [head, "|" + "---|" * (5 + len(modes))]
    for kpi, seed, target, ours, check in specs:
        for i, (label, measurement, prefix) in enumerate(ours):
            cells = []
            verdicts = []
            for mode in modes:
                v, unit = value(rows_by_mode[mode], measurement, prefix)
                cells.append(fmt(v, unit) if v is not None else "—")
                if v is not None and check is not None and target is not None:
                    verdicts.append(f"{mode}: {'yes' if check(v) else 'no'}")
            out.append(f"| {kpi if i == 0 else ''} | {seed if i == 0 else ''} | {target or '—' if i == 0 else ''}"
                       f" | {label} | " + " | ".join(cells) + f" | {', '.join(verdicts) or '—'} |")
    return "\n".join(out)


# -------------------------------------------------------------------------------------------- plots
def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _pcts_curve(pcts: dict[str, float]) -> tuple[list[float], list[float]]:
    items = sorted((float(k), v) for k, v in pcts.items() if v is not None)
    return [k for k, _ in items], [v for _, v in items]


def plot_http(rows: list[dict[str, Any]], mode: str) -> Path | None:
    panels = [(m, find(rows, m, "throughput")) for m in ("cached_read", "exec_list", "login")]
    panels = [(m, r) for m, r in panels if r and r.get("extra", {}).get("app_runs")]
    if not panels:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (name, row) in zip(axes[0], panels, strict=False):
        for i, run in enumerate(row["extra"]["app_runs"]):
            x, y = _pcts_curve(run["pcts_ms"])
            ax.plot(x, y, "-o", color="tab:red", ms=3, alpha=0.8, label="AnsFlow" if i == 0 else None)
        for i, run in enumerate(row["extra"]["baseline_runs"]):
            x, y = _pcts_curve(run["pcts_ms"])
            ax.plot(x, y, "-s", color="tab:blue", ms=3, alpha=0.8, label=row["baseline"] if i == 0 else None)
        ax.set_yscale("log")
        ax.set_xlabel("percentile")
        ax.set_ylabel("latency (ms, log)")
        ax.set_title(f"{name} ({mode})")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = PLOTS / f"http-latency-{mode}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_events(rows: list[dict[str, Any]], mode: str) -> Path | None:
    ws = find(rows, "websocket", "print->client p50")
    q = find(rows, "queue", "enqueue->start median")
    eng = find(rows, "queue", "run created_at")
    series: list[tuple[str, dict[str, float], str]] = []
    if ws:
        series.append(("WebSocket print->client (AnsFlow)", ws["extra"].get("app_ms", {}), "tab:red"))
        series.append(("raw Redis PUBLISH->SUBSCRIBE", ws["extra"].get("redis_ms", {}), "tab:blue"))
        series.append(("bare Litestar channels fan-out", ws["extra"].get("bare_ms", {}), "tab:cyan"))
    if q:
        series.append(("enqueue->start (app broker + dramatiq)", q["extra"].get("dramatiq_ms", {}), "tab:orange"))
        series.append(("raw pika publish->consume", q["extra"].get("pika_ms", {}), "tab:green"))
    if eng:
        series.append(("run created->started (engine)", eng["extra"].get("engine_ms", {}), "tab:purple"))
    series = [s for s in series if s[1]]
    if not series:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for label, pcts, color in series:
        x, y = _pcts_curve(pcts)
        ax.plot(x, y, "-o", ms=3, label=label, color=color)
    ax.set_yscale("log")
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency (ms, log)")
    ax.set_title(f"event and queue latency distributions ({mode})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path = PLOTS / f"event-latency-{mode}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_memory(rows: list[dict[str, Any]], mode: str) -> Path | None:
    soak = find(rows, "soak", "executions finished")
    idle = find(rows, "websocket", "idle sockets")
    samples = soak["extra"].get("rss_samples", []) if soak else []
    if not samples and not idle:
        return None
    plt = _plt()
    panels = (1 if samples else 0) + (1 if idle else 0)
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4), squeeze=False)
    k = 0
    if samples:
        ax = axes[0][k]
        k += 1
        t = [s["t"] / 60 for s in samples]
        for key, color in (("granian", "tab:red"), ("dramatiq", "tab:blue")):
            ys = [s.get(key, 0) / 2**20 for s in samples]
            if any(ys):
                ax.plot(t, ys, label=f"{key} (all processes)", color=color)
        ax.set_xlabel("minutes")
        ax.set_ylabel("RSS (MiB)")
        ax.set_title(f"soak: memory over time ({mode})")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    if idle:
        ax = axes[0][k]
        app, bare = idle["extra"]["app"][0], idle["extra"]["bare"][0]
        labels = ["AnsFlow worker", "bare Litestar worker"]
        before = [app["rss_before"] / 2**20, bare["rss_before"] / 2**20]
        after = [app["rss_after"] / 2**20, bare["rss_after"] / 2**20]
        xs = range(2)
        ax.bar([x - 0.2 for x in xs], before, 0.4, label="before", color="tab:gray")
        ax.bar([x + 0.2 for x in xs], after, 0.4, label=f"with {app['connected']:,} / {bare['connected']:,} sockets",
               color="tab:red")
        ax.set_xticks(list(xs), labels)
        ax.set_ylabel("RSS (MiB)")
        ax.set_title(f"idle WebSockets, one granian worker ({mode})")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = PLOTS / f"memory-{mode}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


NOTES = """\
- **Shared machine.** Two cores, shared with other sessions' test suites while these ran: the load average
  at the start and end of each run is listed under its results. Ratios to the same-run baseline are the
  figures to compare; absolute numbers move from run to run.
- **Load generator on the same cores.** `wrk -t1` (or the Python generator) and the WebSocket client
  processes compete with the server for the two cores, so the bare baselines are ceilings of this
  machine, not of Litestar.
- **Live lines.** "print->client" is measured from the moment the step printed the line (its text carries
  `time.time_ns()`) to its arrival at each client: it includes the engine's log batching
  (`FLUSH_GAP_S`, group commit), the database insert, the publish and the fan-out. "event ts->client" starts at the
  event's own `ts`. The bare Litestar channels fan-out (same clients, same event shape and rate, no database,
  no per-socket follow logic) separates the framework's cost from the app's.
- **Priority overtaking** is measured at the broker level with the app's own broker factory
  (`app.lib.broker.create_broker`, `app.lib.jobs.send`) and a real `dramatiq` CLI worker with one thread:
  a worker prefetches `threads x 2` messages per process, so with the production worker settings a
  high-priority run can still wait behind up to that many already-prefetched low ones. 1,000 low-priority
  *executions* through the API were not queued (too slow for the 15-minute budget).
- **Queue latency in embedded mode** still uses RabbitMQ for the probe (the in-process StubBroker has no
  priorities); the engine row (`run created_at->started_at`) uses the mode's own broker.
- **DB connections** in embedded mode come from the pool gauge only (SQLite has no server-side count);
  with `--real` also from `pg_stat_activity` for the bench database (web process and dramatiq workers).
- **Idle WebSockets** are held once per run on freshly started servers (freed socket memory is not returned
  to the OS, so a second round in the same process would under-count). The app's idle endpoint is
  `/ws/notifications`; the bare baseline awaits `receive()` on each socket, the app's sockets wait on their
  queue in the process's one hub for that channel (app/web/hub.py).
- **Soak** lines lost are counted over sockets that closed normally; failed handshakes and sockets still
  open when the follower gave up are reported beside it, not as lost lines.
"""


# ------------------------------------------------------------------------------------------- report
def _load(value: Any) -> str:
    return f"{value[0]:.1f}" if isinstance(value, list) and value else "?"


def main() -> None:
    PLOTS.mkdir(parents=True, exist_ok=True)
    rows_by_mode: dict[str, list[dict[str, Any]]] = {}
    metas_by_mode: dict[str, list[dict[str, Any]]] = {}
    for mode in ("embedded", "real"):
        rows, metas = latest(mode)
        if rows:
            rows_by_mode[mode], metas_by_mode[mode] = rows, metas
    out = [
        "# AnsFlow benchmarks",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M')} by `uv run python -m bench.report` from `bench/results/`.",
        "Run them with `uv run just bench` (`uv run python -m bench [NAME ...] [--real] [--repeat N] [--quick] "
        "[--soak]`).",
        "",
        "Every figure has a baseline measured in the same run, on the same machine, right next to it, because",
        "these machines are shared and noisy: compare ratios, not absolute numbers across runs. Medians over",
        "repetitions; spread is min-max below 5 repetitions, IQR from 5. HTTP load comes from a separate `wrk`",
        "process (or the Python asyncio generator when wrk is missing), WebSocket clients from separate asyncio",
        "processes; client and server share the machine's cores.",
        "",
    ]
    if not rows_by_mode:
        out.append("No results yet: run `uv run python -m bench` first.")
    for mode, rows in rows_by_mode.items():
        out += [f"## Results: {mode} mode", ""]
        for meta in metas_by_mode[mode]:
            machine = meta.get("machine", {})
            out.append(f"- `{meta['file']}`: {', '.join(meta.get('names', []))}; repeat {meta.get('repeat')}, "
                       f"quick {meta.get('quick')}, HTTP load by {meta.get('http_load')}, "
                       f"{meta.get('seconds', 0) / 60:.1f} min, {machine.get('cpus', '?')} CPUs, load average "
                       f"{_load(meta.get('loadavg_start'))} -> {_load(meta.get('loadavg_end'))}")
        out += ["", markdown_table(rows), ""]
    if rows_by_mode:
        out += ["## The seed's figures beside ours", "",
                "The original AnsFlow's numbers are quoted as its documents report them (single runs, mostly",
                "against mock endpoints, no baselines; see shared/reference/ansflow-original.md §7.3). Ours are",
                "the medians above.", "", seed_table(rows_by_mode), ""]
        out += ["## Reading these numbers, and what is not measured", "", NOTES, ""]
        plots: list[Path] = []
        for mode, rows in rows_by_mode.items():
            for maker in (plot_http, plot_events, plot_memory):
                try:
                    made = maker(rows, mode)
                except Exception as exc:  # a plot must never break the report
                    print(f"plot {maker.__name__} ({mode}) failed: {exc}")
                    made = None
                if made is not None:
                    plots.append(made)
        if plots:
            out += ["## Plots", ""]
            for path in plots:
                out += [f"![{path.stem}](plots/{path.name})", ""]
    REPORT.write_text("\n".join(out))
    print(f"wrote {REPORT.relative_to(BENCH_DIR.parent)}" + (f" and {len(plots)} plots" if rows_by_mode else ""))


if __name__ == "__main__":
    main()
