"""WebSocket (and raw Redis pub/sub) client processes for the live-view measurements.

``python -m bench.wsclient idle --url U --count N``: opens N sockets (draining whatever arrives), prints
``READY {json}``, holds them until a ``STOP`` line on stdin, then prints ``BENCHJSON {json}``.

``python -m bench.wsclient follow --url U --count N``: N sockets following one execution; every ``log``
line whose text is ``BENCHTS <ns> <i>`` yields a latency; ends when every socket is closed (or after
``--timeout``), prints ``BENCHJSON``.

``python -m bench.wsclient redis --url R --channel C --count N --expect M``: the raw Redis baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from datetime import datetime
from typing import Any


def _raise_nofile() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _status_of(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return f"http {code}" if code is not None else type(exc).__name__


async def idle(args: argparse.Namespace) -> None:
    from websockets.asyncio.client import connect

    sem = asyncio.Semaphore(args.concurrency)
    sockets: list[Any] = []
    handshake_ms: list[float] = []
    failures: dict[str, int] = {}
    closes: dict[str, int] = {}
    received = 0

    async def drain(ws: Any) -> None:
        nonlocal received
        try:
            async for _ in ws:
                received += 1
        except Exception:
            pass
        code = str(ws.close_code)
        closes[code] = closes.get(code, 0) + 1

    tasks: list[asyncio.Task[None]] = []

    async def one() -> None:
        async with sem:
            t0 = time.perf_counter()
            try:
                ws = await connect(args.url, open_timeout=60, ping_interval=None, compression=None,
                                   max_queue=4, close_timeout=2)
            except Exception as exc:
                key = _status_of(exc)
                failures[key] = failures.get(key, 0) + 1
                return
            handshake_ms.append((time.perf_counter() - t0) * 1000)
            sockets.append(ws)
            tasks.append(asyncio.create_task(drain(ws)))

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(args.count)))
    ramp_s = time.perf_counter() - t0
    await asyncio.sleep(1.0)
    from websockets.protocol import State

    open_now = sum(1 for ws in sockets if ws.state is State.OPEN)
    print("READY " + json.dumps({"connected": len(sockets), "open": open_now, "failures": failures,
                                 "ramp_s": ramp_s}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    open_end = sum(1 for ws in sockets if ws.state is State.OPEN)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    for task in tasks:
        task.cancel()
    handshake_ms.sort()
    print("BENCHJSON " + json.dumps({
        "connected": len(sockets), "open_at_ready": open_now, "open_at_stop": open_end, "failures": failures,
        "closes_before_stop": closes, "received": received, "ramp_s": ramp_s, "handshake_ms": handshake_ms,
    }), flush=True)


def _parse_ts(text: str) -> int | None:
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1e9)
    except (TypeError, ValueError):
        return None


async def follow_one(url: str, keep_latencies: bool, sem: asyncio.Semaphore | None = None,
                     on_open: Any = None) -> dict[str, Any]:
    """Follow one execution socket to its close; counts, seq checks and latencies of BENCHTS lines."""
    from websockets.asyncio.client import connect

    info: dict[str, Any] = {}
    latencies: list[float] = []
    ts_latencies: list[float] = []
    seqs: list[int] = []
    bench_lines = 0
    first = last = 0.0
    types: dict[str, int] = {}
    t0 = time.perf_counter()
    try:
        async with sem or contextlib.nullcontext():
            ws = await connect(url, open_timeout=60, ping_interval=None, compression=None, max_queue=None,
                               close_timeout=2, max_size=None)
    except Exception as exc:
        return {"failed": _status_of(exc), "latency_ms": [], "ts_latency_ms": []}
    finally:
        if on_open is not None:
            on_open()
    info["handshake_ms"] = (time.perf_counter() - t0) * 1000
    try:
        async for raw in ws:
            now = time.time_ns()
            msg = json.loads(raw)
            kind = msg.get("type", "?")
            types[kind] = types.get(kind, 0) + 1
            if kind != "log":
                continue
            seqs.append(int(msg.get("seq", 0)))
            text = str(msg.get("text", ""))
            if not first:
                first = time.perf_counter()
            last = time.perf_counter()
            if text.startswith("BENCHTS "):
                bench_lines += 1
                if keep_latencies:
                    latencies.append((now - int(text.split()[1])) / 1e6)
                    ts = _parse_ts(msg.get("ts", ""))
                    if ts is not None:
                        ts_latencies.append((now - ts) / 1e6)
    except Exception as exc:
        info["error"] = type(exc).__name__
    unique = set(seqs)
    info.update(close=ws.close_code, lines=len(seqs), bench_lines=bench_lines, types=types,
                span_s=(last - first) if first else 0.0, dups=len(seqs) - len(unique),
                max_seq=max(seqs) if seqs else 0, min_seq=min(seqs) if seqs else 0,
                gaps=(max(seqs) - min(seqs) + 1 - len(unique)) if seqs else 0,
                latency_ms=latencies, ts_latency_ms=ts_latencies)
    return info


async def follow(args: argparse.Namespace) -> None:
    sem = asyncio.Semaphore(args.concurrency)
    connected = asyncio.Event()
    opened = 0
    keep = bool(args.keep_latencies)

    def on_open() -> None:
        nonlocal opened
        opened += 1
        if opened >= args.count:
            connected.set()

    tasks = [asyncio.create_task(follow_one(args.url, keep, sem, on_open)) for _ in range(args.count)]
    await asyncio.wait_for(connected.wait(), timeout=args.timeout)
    await asyncio.sleep(0.5)  # let the last snapshots arrive
    print("READY " + json.dumps({"clients": args.count}), flush=True)
    done, pending = await asyncio.wait(tasks, timeout=args.timeout)
    for task in pending:
        task.cancel()
    infos = [t.result() for t in done]
    failures: dict[str, int] = {}
    for info in infos:
        if "failed" in info:
            failures[info["failed"]] = failures.get(info["failed"], 0) + 1
    latencies = [v for info in infos for v in info.pop("latency_ms", [])]
    ts_latencies = [v for info in infos for v in info.pop("ts_latency_ms", [])]
    print("BENCHJSON " + json.dumps({
        "clients": args.count, "failures": failures, "timed_out": len(pending),
        "per_client": [i for i in infos if "failed" not in i], "latency_ms": latencies, "ts_latency_ms": ts_latencies,
    }), flush=True)


async def soak(args: argparse.Namespace) -> None:
    """Commands on stdin: ``FOLLOW <execution_id> <n>`` opens n followers; ``STOP`` waits and ends.
    Each finished socket prints ``DONE {json}``."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks: set[asyncio.Task[None]] = set()

    async def one(execution_id: str, index: int) -> None:
        info = await follow_one(args.url.format(id=execution_id), True)
        info.update(execution_id=execution_id, index=index)
        info.pop("ts_latency_ms", None)
        print("DONE " + json.dumps(info), flush=True)

    print("READY {}", flush=True)
    while True:
        line = (await reader.readline()).decode().strip()
        if not line or line == "STOP":
            break
        parts = line.split()
        if parts[0] == "FOLLOW":
            for index in range(int(parts[2])):
                task = asyncio.create_task(one(parts[1], index))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=args.timeout)
    print("BENCHJSON " + json.dumps({"unfinished": sum(1 for t in tasks if not t.done())}), flush=True)


async def redis_sub(args: argparse.Namespace) -> None:
    import redis.asyncio as aioredis

    latencies: list[float] = []
    counts: list[int] = []
    clients = [aioredis.Redis.from_url(args.url) for _ in range(args.count)]
    subs = []
    for client in clients:
        pubsub = client.pubsub()
        await pubsub.subscribe(args.channel)
        subs.append(pubsub)

    async def listen(pubsub: Any) -> None:
        got = 0
        deadline = time.monotonic() + args.timeout
        while got < args.expect and time.monotonic() < deadline:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if msg is None:
                continue
            now = time.time_ns()
            parts = msg["data"].split()
            latencies.append((now - int(parts[1])) / 1e6)
            got += 1
        counts.append(got)

    tasks = [asyncio.create_task(listen(s)) for s in subs]
    print("READY " + json.dumps({"connected": len(subs)}), flush=True)
    await asyncio.gather(*tasks)
    for pubsub in subs:
        await pubsub.aclose()
    for client in clients:
        await client.aclose()
    print("BENCHJSON " + json.dumps({"clients": args.count, "counts": counts, "latency_ms": latencies}), flush=True)


def main() -> None:
    _raise_nofile()
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    p_idle = sub.add_parser("idle")
    p_idle.add_argument("--url", required=True)
    p_idle.add_argument("--count", type=int, required=True)
    p_idle.add_argument("--concurrency", type=int, default=64)
    p_follow = sub.add_parser("follow")
    p_follow.add_argument("--url", required=True)
    p_follow.add_argument("--count", type=int, required=True)
    p_follow.add_argument("--concurrency", type=int, default=64)
    p_follow.add_argument("--timeout", type=float, default=120)
    p_follow.add_argument("--keep-latencies", type=int, default=1)
    p_soak = sub.add_parser("soak")
    p_soak.add_argument("--url", required=True, help="with {id} for the execution id")
    p_soak.add_argument("--timeout", type=float, default=120)
    p_redis = sub.add_parser("redis")
    p_redis.add_argument("--url", required=True)
    p_redis.add_argument("--channel", required=True)
    p_redis.add_argument("--count", type=int, required=True)
    p_redis.add_argument("--expect", type=int, required=True)
    p_redis.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    runner = {"idle": idle, "follow": follow, "redis": redis_sub, "soak": soak}[args.mode]
    asyncio.run(runner(args))


if __name__ == "__main__":
    main()
