"""(g) WebSockets: idle connections one granian worker holds (and its RSS) vs a bare Litestar socket;
event latency from a step's print to N following clients vs raw Redis PUBLISH -> SUBSCRIBE with as many
subscribers; log lines per second delivered to 100 followers of one execution.
"""

from __future__ import annotations

import secrets
import sys
import time
from typing import Any

from bench.clients import LineProc
from bench.core import Row, distribution, median, percentile, skipped
from bench.procs import rss_of
from bench.stack import REDIS_URL, Stack, redis_reachable

NAME = "websocket"
DESCRIPTION = "idle sockets per worker + RSS vs bare; print->client latency to N followers vs raw Redis pub/sub"

EMIT = '''import os, sys, time
gate, n, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.time() + 240
while not os.path.exists(gate):
    if time.time() > deadline:
        sys.exit(3)
    time.sleep(0.02)
for i in range(n):
    print(f"BENCHTS {time.time_ns()} {i}", flush=True)
    if interval:
        time.sleep(interval)
'''


def _emit_script(stack: Stack) -> str:
    path = stack.tmp / "emit.py"
    if not path.exists():
        path.write_text(EMIT)
    return str(path)


def emit_pipeline(stack: Stack, key: str, lines: int, interval: float) -> tuple[str, str]:
    """A pipeline whose only step waits for a gate file, then prints ``lines`` timestamped lines."""
    gate = stack.tmp / f"gate-{key}-{secrets.token_hex(3)}"
    cmd = f"{sys.executable} {_emit_script(stack)} {gate} {lines} {interval}"
    definition = f"steps:\n  - name: emit\n    run: '{cmd}'\n"
    return stack.pipeline(f"emit-{gate.name}", definition), str(gate)


def probe(url: str) -> str:
    """'ok', 'missing' (HTTP 404 at the handshake), or what went wrong."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    try:
        with connect(url, open_timeout=10, close_timeout=2) as ws:
            try:
                ws.recv(timeout=1.0)
            except TimeoutError:
                return "ok"
            except ConnectionClosed as exc:
                return f"closed {exc.rcvd.code if exc.rcvd else '?'}"
            return "ok"
    except InvalidStatus as exc:
        return "missing" if exc.response.status_code == 404 else f"http {exc.response.status_code}"
    except Exception as exc:
        return type(exc).__name__


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def hold_idle(stack: Stack, url: str, count: int, server_pids: list[int], procs: int) -> dict[str, Any]:
    rss_before = sum(rss_of(server_pids).values())
    clients = [LineProc(["-m", "bench.wsclient", "idle", "--url", url, "--count", str(n), "--concurrency", "50"])
               for n in _split(count, procs)]
    try:
        ready = [c.expect("READY", 600) for c in clients]
        time.sleep(3.0)
        rss_after = sum(rss_of(server_pids).values())
        for c in clients:
            c.send("STOP")
        final = [c.expect("BENCHJSON", 300) for c in clients]
    finally:
        for c in clients:
            c.stop()
    connected = sum(r["connected"] for r in ready)
    handshakes = sorted(h for f in final for h in f["handshake_ms"])
    failures: dict[str, int] = {}
    for f in final:
        for k, v in f["failures"].items():
            failures[k] = failures.get(k, 0) + v
    return {
        "connected": connected, "open_at_stop": sum(f["open_at_stop"] for f in final), "failures": failures,
        "rss_before": rss_before, "rss_after": rss_after, "ramp_s": max(r["ramp_s"] for r in ready),
        "kib_per_conn": (rss_after - rss_before) / 1024 / connected if connected else None,
        "handshake_p50": percentile(handshakes, 50), "handshake_p99": percentile(handshakes, 99),
        "received": sum(f["received"] for f in final),
    }


def idle_rows(stack: Stack) -> list[Row]:
    app, bare = stack.app(), stack.bare()
    token = stack.token
    count = 2000 if stack.quick else 10_000
    endpoint = None
    for path in ("/ws/notifications", "/ws/monitor"):
        state = probe(f"{app.ws_url}{path}?token={token}")
        if state == "ok":
            endpoint = path
            break
    if endpoint is None:
        return [skipped(NAME, f"skipped: endpoint missing (/ws/notifications, /ws/monitor: {state})",
                        "idle connections")]
    # One repetition on freshly started servers: freed socket memory is not given back to the OS,
    # so a second round on the same process would under-count.
    app, bare = stack.restart_app(), stack.restart_bare()
    stack.say(f"idle: {count} sockets to app {endpoint}")
    app_res = [hold_idle(stack, f"{app.ws_url}{endpoint}?token={token}", count, app.worker_pids(), 2)]
    stack.say(f"idle: {count} sockets to bare /ws")
    bare_res = [hold_idle(stack, f"{bare.ws_url}/ws", count, bare.worker_pids(), 2)]
    note = (f"target {count:,}; 1 run on fresh servers; endpoint {endpoint}; "
            f"open at end {app_res[-1]['open_at_stop']:,}; ramp {app_res[-1]['ramp_s']:.0f} s")
    if app_res[-1]["failures"]:
        note += f"; failures {app_res[-1]['failures']}"
    extra = {"app": app_res, "bare": bare_res}
    return [
        Row(NAME, "idle sockets held (1 worker)", "", [r["open_at_stop"] for r in app_res], "bare Litestar /ws",
            [r["open_at_stop"] for r in bare_res], True, note=note, extra=extra),
        Row(NAME, "worker RSS with sockets", "MiB", [r["rss_after"] / 2**20 for r in app_res], "bare Litestar /ws",
            [r["rss_after"] / 2**20 for r in bare_res], False,
            note=f"before: app {app_res[-1]['rss_before'] / 2**20:.0f} MiB, "
                 f"bare {bare_res[-1]['rss_before'] / 2**20:.0f} MiB"),
        Row(NAME, "RSS per idle socket", "KiB", [r["kib_per_conn"] or 0 for r in app_res], "bare Litestar /ws",
            [r["kib_per_conn"] or 0 for r in bare_res], False),
        Row(NAME, "handshake p50 (50 at a time)", "ms", [r["handshake_p50"] or 0 for r in app_res],
            "bare Litestar /ws", [r["handshake_p50"] or 0 for r in bare_res], False,
            note="auth by ?token= (DB lookup) on the app"),
        Row(NAME, "handshake p99 (50 at a time)", "ms", [r["handshake_p99"] or 0 for r in app_res],
            "bare Litestar /ws", [r["handshake_p99"] or 0 for r in bare_res], False),
    ]


def follow_run(stack: Stack, clients: int, lines: int, interval: float, keep: bool, procs: int = 2
               ) -> dict[str, Any]:
    app = stack.app()
    pipeline, gate = emit_pipeline(stack, f"follow{clients}", lines, interval)
    execution = stack.run(pipeline)["id"]
    url = f"{app.ws_url}/ws/executions/{execution}?after_seq=0&token={stack.token}"
    followers = [LineProc(["-m", "bench.wsclient", "follow", "--url", url, "--count", str(n), "--timeout", "300",
                           "--keep-latencies", "1" if keep else "0"]) for n in _split(clients, procs)]
    try:
        for f in followers:
            f.expect("READY", 300)
        t0 = time.perf_counter()
        open(gate, "w").close()
        results = [f.expect("BENCHJSON", 400) for f in followers]
        wall = time.perf_counter() - t0
    finally:
        for f in followers:
            f.stop()
    done = stack.wait(execution, timeout=120)
    stored_rate = float("nan")
    if done.get("started_at") and done.get("finished_at"):
        from datetime import datetime

        span = (datetime.fromisoformat(done["finished_at"]) - datetime.fromisoformat(done["started_at"]))
        stored_rate = lines / max(span.total_seconds(), 1e-6)
    per_client = [c for r in results for c in r["per_client"]]
    latencies = [v for r in results for v in r["latency_ms"]]
    ts_latencies = [v for r in results for v in r["ts_latency_ms"]]
    received = [c.get("bench_lines", 0) for c in per_client]
    lost = sum(max(0, lines - n) for n in received)  # over the sockets that connected; failures reported apart
    spans = [c["span_s"] for c in per_client if c.get("span_s")]
    return {"latency": latencies, "ts_latency": ts_latencies, "lost": lost, "clients": len(per_client),
            "gaps": sum(c.get("gaps", 0) for c in per_client), "dups": sum(c.get("dups", 0) for c in per_client),
            "closes": sorted({str(c.get("close")) for c in per_client}), "status": done["status"], "wall": wall,
            "span_median_s": median(spans), "failures": [r["failures"] for r in results], "stored_rate": stored_rate}


def bare_fanout_run(stack: Stack, clients: int, lines: int, interval: float, keep: bool, procs: int = 2
                    ) -> dict[str, Any]:
    """The same followers against the bare app's channels fan-out (same event shape and rate)."""
    import httpx

    bare = stack.bare()
    followers = [LineProc(["-m", "bench.wsclient", "follow", "--url", f"{bare.ws_url}/ws/fanout", "--count", str(n),
                           "--timeout", "300", "--keep-latencies", "1" if keep else "0"])
                 for n in _split(clients, procs)]
    try:
        for f in followers:
            f.expect("READY", 300)
        httpx.post(f"{bare.base_url}/publish", json={"n": lines, "interval": interval}, timeout=30).raise_for_status()
        results = [f.expect("BENCHJSON", 400) for f in followers]
    finally:
        for f in followers:
            f.stop()
    per_client = [c for r in results for c in r["per_client"]]
    received = [c.get("bench_lines", 0) for c in per_client]
    spans = [c["span_s"] for c in per_client if c.get("span_s")]
    return {"latency": [v for r in results for v in r["latency_ms"]],
            "lost": sum(max(0, lines - n) for n in received) + lines * (clients - len(per_client)),
            "span_median_s": median(spans)}


def redis_run(clients: int, lines: int, interval: float, procs: int = 2) -> list[float]:
    import redis

    channel = f"bench-{secrets.token_hex(4)}"
    subs = [LineProc(["-m", "bench.wsclient", "redis", "--url", REDIS_URL, "--channel", channel, "--count", str(n),
                      "--expect", str(lines), "--timeout", "120"]) for n in _split(clients, procs)]
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for s in subs:
            s.expect("READY", 300)
        time.sleep(0.5)
        for i in range(lines):
            client.publish(channel, f"BENCHTS {time.time_ns()} {i}")
            time.sleep(interval)
        results = [s.expect("BENCHJSON", 200) for s in subs]
    finally:
        client.close()
        for s in subs:
            s.stop()
    return [v for r in results for v in r["latency_ms"]]


def latency_rows(stack: Stack) -> list[Row]:
    app = stack.app()
    state = probe(f"{app.ws_url}/ws/executions/00000000-0000-0000-0000-000000000000?token={stack.token}")
    if state == "missing":
        return [skipped(NAME, "skipped: endpoint missing (/ws/executions/{id} answers 404)", "event latency")]
    clients = 200 if stack.quick else 1000
    lines, interval = 50, 0.1
    p50, p99, ts50, ts99, lost, r50, r99, b50, b99, blost = [], [], [], [], [], [], [], [], [], []
    all_lat: list[float] = []
    all_redis: list[float] = []
    all_bare: list[float] = []
    notes = []
    for _ in range(stack.repeat):
        stack.say(f"follow: {clients} clients, {lines} lines at {interval * 1000:.0f} ms")
        res = follow_run(stack, clients, lines, interval, keep=True)
        all_lat += res["latency"]
        p50.append(percentile(res["latency"], 50) or 0)
        p99.append(percentile(res["latency"], 99) or 0)
        if res["ts_latency"]:
            ts50.append(percentile(res["ts_latency"], 50) or 0)
            ts99.append(percentile(res["ts_latency"], 99) or 0)
        lost.append(float(res["lost"]))
        failed = sum(sum(f.values()) for f in res["failures"])
        notes.append(f"closes {','.join(res['closes'])}, gaps {res['gaps']}, dups {res['dups']}, "
                     f"failed handshakes {failed}")
        stack.say(f"bare fan-out: {clients} clients")
        bare = bare_fanout_run(stack, clients, lines, interval, keep=True)
        all_bare += bare["latency"]
        b50.append(percentile(bare["latency"], 50) or 0)
        b99.append(percentile(bare["latency"], 99) or 0)
        blost.append(float(bare["lost"]))
        if redis_reachable():
            stack.say(f"redis: {clients} subscribers")
            red = redis_run(clients, lines, interval)
            all_redis += red
            r50.append(percentile(red, 50) or 0)
            r99.append(percentile(red, 99) or 0)
    base = "raw Redis PUBLISH->SUBSCRIBE" if r50 else ""
    extra = {"app_ms": distribution(all_lat), "redis_ms": distribution(all_redis), "bare_ms": distribution(all_bare)}
    rows = [
        Row(NAME, f"print->client p50 ({clients} clients)", "ms", p50, base, r50, False,
            note=f"{lines} lines x {interval * 1000:.0f} ms; step stdout -> store -> publish -> socket; {notes[-1]}",
            extra=extra),
        Row(NAME, f"print->client p99 ({clients} clients)", "ms", p99, base, r99, False),
        Row(NAME, f"print->client p50 vs bare ({clients} clients)", "ms", p50, "bare Litestar channels fan-out", b50,
            False, note=f"same clients, same event shape and rate; bare lost {int(sum(blost))} lines"),
        Row(NAME, f"print->client p99 vs bare ({clients} clients)", "ms", p99, "bare Litestar channels fan-out", b99,
            False),
    ]
    if ts50:
        rows.append(Row(NAME, f"event ts->client p50 ({clients} clients)", "ms", ts50, base, r50, False,
                        note="from the event's own ts (set when the engine read the line)"))
    rows.append(Row(NAME, "lines lost (all clients)", "lines", lost, "", [], False,
                    note=f"{clients} x {lines} expected per run; must be 0"))
    return rows


def throughput_rows(stack: Stack) -> list[Row]:
    clients = 100
    lines = 1500 if stack.quick else 4000
    delivered, stored, bare_rate = [], [], []
    lost = []
    for _ in range(stack.repeat):
        stack.say(f"fan-out: {clients} clients, {lines} lines as fast as printed")
        res = follow_run(stack, clients, lines, 0.0, keep=False)
        delivered.append(lines / (res["span_median_s"] or float("nan")))
        lost.append(float(res["lost"]))
        stored.append(res["stored_rate"])
        stack.say(f"bare fan-out: {clients} clients, {lines} events back to back")
        bare = bare_fanout_run(stack, clients, lines, 0.0, keep=False)
        bare_rate.append(lines / (bare["span_median_s"] or float("nan")))
    return [Row(NAME, f"lines/s delivered per client ({clients} clients)", "lines/s", delivered,
                "bare Litestar channels fan-out", bare_rate, True,
                note=f"{lines:,} lines printed as fast as possible; lost {int(sum(lost))}; per client first->last "
                     f"line; the same executions stored {median(stored) or 0:,.0f} lines/s",
                extra={"lost": lost, "stored_rate": stored})]


def run(stack: Stack) -> list[Row]:
    rows: list[Row] = []
    for part in (latency_rows, throughput_rows, idle_rows):
        try:
            rows += part(stack)
        except Exception as exc:
            rows.append(Row(NAME, part.__name__.replace("_rows", ""), "", status="error",
                            note=f"{type(exc).__name__}: {str(exc)[:200]}"))
    return rows
