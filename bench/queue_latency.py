"""(f) Queue latency enqueue -> actor start on RabbitMQ (the app's broker factory, a real ``dramatiq``
worker process) vs raw pika publish -> consume in the same run; priority overtaking of 1,000 queued low
messages; and the engine's own run created_at -> started_at.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.clients import LineProc
from bench.common import TRUE_PIPELINE
from bench.core import Row, distribution, median, percentile, skipped
from bench.procs import DramatiqWorker
from bench.stack import AMQP_URL, Stack, rabbit_reachable

NAME = "queue"
DESCRIPTION = "enqueue->start via app broker + dramatiq vs raw pika; high-priority overtaking; engine created->started"
LOW_COUNT = 1000


def _read(path: Path) -> list[tuple[int, int, int]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            rows.append((int(parts[0]), int(parts[1]), int(parts[2])))
    return rows


def _wait_for(path: Path, count: int, timeout: float = 60.0, lo: int = 0, hi: int = 1 << 62
              ) -> list[tuple[int, int, int]]:
    """Wait until ``count`` starts with ``lo <= i < hi`` are recorded; returns those rows."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [r for r in _read(path) if lo <= r[0] < hi]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)


class DramatiqSide:
    def __init__(self, stack: Stack) -> None:
        from app.config import Settings
        from app.lib.broker import Queues, create_broker

        self.prefix = f"benchq{secrets.token_hex(3)}"
        self.dir = stack.tmp / f"{self.prefix}-dramatiq"
        self.dir.mkdir()
        self.gate = self.dir / "gate"
        self.settings = Settings(broker_url=AMQP_URL, key_prefix=self.prefix)
        self.queue = Queues(self.prefix).executions
        self.broker = create_broker(self.settings)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSFLOW_")}
        self.out = self.dir / "starts"
        env.update(BENCH_AMQP=AMQP_URL, BENCH_PROBE_PREFIX=self.prefix, BENCH_PROBE_OUT=str(self.out),
                   BENCH_PROBE_GATE=str(self.gate))
        self.worker = DramatiqWorker("probe-worker", "bench.probe_worker", env, stack.log_dir, 1, 1).start()
        self.worker.wait_booted()

    def send(self, i: int, priority: str = "normal", gate: bool = False) -> None:
        from app.lib.jobs import send

        send(self.broker, self.queue, "bench.probe", i, time.time_ns(), gate, priority=priority)

    def close(self) -> None:
        self.worker.stop()
        with contextlib.suppress(Exception):
            self.broker.close()
        _delete_queues([self.queue, f"{self.queue}.DQ", f"{self.queue}.XQ"])


class PikaSide:
    def __init__(self, stack: Stack) -> None:
        import pika

        self.queue = f"benchq{secrets.token_hex(3)}.raw"
        self.dir = stack.tmp / f"{self.queue}-pika"
        self.dir.mkdir()
        self.gate = self.dir / "gate"
        self.out = self.dir / "starts"
        self.consumer = LineProc(["-m", "bench.pika_probe", "--queue", self.queue, "--out", str(self.out),
                                  "--gate", str(self.gate), "--prefetch", "2"])
        self.consumer.expect("READY", 30)
        self._connect()
        self._props = {p: pika.BasicProperties(delivery_mode=2, priority=v)
                       for p, v in (("high", 9), ("normal", 5), ("low", 1))}

    def _connect(self) -> None:
        import pika

        self.conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        self.channel = self.conn.channel()
        self.channel.confirm_delivery()  # like dramatiq's confirm_delivery=True

    def send(self, i: int, priority: str = "normal", gate: bool = False) -> None:
        import pika

        body = f"{i} {time.time_ns()} {1 if gate else 0}".encode()
        try:
            self.channel.basic_publish("", self.queue, body, properties=self._props[priority])
        except pika.exceptions.AMQPError:  # idle connection dropped (e.g. a broker restart): once more
            self._connect()
            self.channel.basic_publish("", self.queue, body, properties=self._props[priority])

    def close(self) -> None:
        self.consumer.stop()
        with contextlib.suppress(Exception):
            self.conn.close()
        _delete_queues([self.queue])


def _delete_queues(names: list[str]) -> None:
    import pika

    with contextlib.suppress(Exception):
        conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        for name in names:
            with contextlib.suppress(Exception):
                conn.channel().queue_delete(name)
        conn.close()


def latency_run(side: Any, count: int, offset: int) -> list[float]:
    """``count`` messages 5 ms apart; enqueue -> start latency of each, in ms."""
    for i in range(count):
        side.send(offset + i)
        time.sleep(0.005)
    rows = _wait_for(side.out, count, lo=offset, hi=offset + count)
    return [(start - sent) / 1e6 for _, sent, start in rows]


def priority_run(side: Any, base: int) -> int | None:
    """A blocker occupies the consumer, 1,000 low then 1 high are queued, the blocker is released:
    returns the 1-based position at which the high one started among the 1,001."""
    with contextlib.suppress(FileNotFoundError):
        side.gate.unlink()
    side.send(base, "low", gate=True)
    _wait_for(side.out, 1, 30, lo=base, hi=base + 1)
    for i in range(1, LOW_COUNT + 1):
        side.send(base + i, "low")
    high = base + LOW_COUNT + 1
    side.send(high, "high")
    time.sleep(0.2)
    side.gate.touch()
    rows = _wait_for(side.out, LOW_COUNT + 1, 120, lo=base + 1, hi=high + 1)
    order = [r[0] for r in rows]
    return order.index(high) + 1 if high in order else None


def engine_latency(stack: Stack, count: int) -> list[float]:
    stack.app()
    pipeline = stack.pipeline("queue-probe", TRUE_PIPELINE)
    out = []
    for _ in range(count):
        done = stack.wait(stack.run(pipeline)["id"], timeout=120, poll=0.02)
        if done.get("started_at"):
            created = datetime.fromisoformat(done["created_at"]).timestamp()
            started = datetime.fromisoformat(done["started_at"]).timestamp()
            out.append((started - created) * 1000)
    return out


def run(stack: Stack) -> list[Row]:
    rows: list[Row] = []
    per_run = 100 if stack.quick else 200
    if not rabbit_reachable():
        rows.append(skipped(NAME, "RabbitMQ not reachable on 127.0.0.1:5672", "enqueue->start"))
    else:
        dram = DramatiqSide(stack)
        raw = PikaSide(stack)
        try:
            # warm-up: connections, consumers, queue declarations
            if len(latency_run(dram, 10, 0)) < 10 or len(latency_run(raw, 10, 0)) < 10:
                raise RuntimeError("probe consumers did not start within 60 s (is RabbitMQ restarting?)")
            d_med, r_med, d_p99, r_p99 = [], [], [], []
            d_all: list[float] = []
            r_all: list[float] = []
            offset = 1000
            stack.say("latency runs")
            for _ in range(stack.repeat):
                d = latency_run(dram, per_run, offset)
                r = latency_run(raw, per_run, offset)
                offset += per_run
                d_all += d
                r_all += r
                d_med.append(median(d) or 0)
                r_med.append(median(r) or 0)
                d_p99.append(percentile(d, 99) or 0)
                r_p99.append(percentile(r, 99) or 0)
            extra = {"dramatiq_ms": distribution(d_all), "pika_ms": distribution(r_all)}
            rows.append(Row(NAME, "enqueue->start median", "ms", d_med, "raw pika publish->consume", r_med, False,
                            note=f"RabbitMQ, {per_run} msgs 5 ms apart per run, 1 worker thread", extra=extra))
            rows.append(Row(NAME, "enqueue->start p99", "ms", d_p99, "raw pika publish->consume", r_p99, False))
            stack.say("priority runs")
            d_pos, r_pos = [], []
            base = 100_000
            for _ in range(stack.repeat):
                p = priority_run(dram, base)
                q = priority_run(raw, base)
                base += 10_000
                d_pos.append(float(p) if p is not None else float("nan"))
                r_pos.append(float(q) if q is not None else float("nan"))
            rows.append(Row(NAME, f"high-priority start position (of {LOW_COUNT + 1})", "", d_pos,
                            "raw pika, same prefetch (2)", r_pos, False,
                            note=f"FIFO would be {LOW_COUNT + 1}; a worker prefetches threads x 2 messages"))
        finally:
            dram.close()
            raw.close()
    stack.say("engine runs")
    eng = engine_latency(stack, 10 if stack.quick else 20)
    broker = "RabbitMQ + dramatiq workers" if stack.real else "in-process StubBroker"
    rows.append(Row(NAME, "run created_at->started_at (engine)", "ms", eng, "", [], False,
                    note=f"{broker}; one run at a time; includes DB transitions",
                    extra={"engine_ms": distribution(eng)}))
    return rows
