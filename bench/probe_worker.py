"""A dramatiq worker module for the queue probe: ``python -m dramatiq bench.probe_worker --threads 1``.

Uses the app's own broker factory (``app.lib.broker.create_broker``: RabbitMQ, max_priority, AsyncIO
middleware, the executions queue) with a trivial actor that writes ``<i> <sent_ns> <start_ns>`` when it starts.
"""

from __future__ import annotations

import os
import threading
import time

import dramatiq

from app.config import Settings
from app.lib.broker import Queues, create_broker

ACTOR = "bench.probe"
settings = Settings(broker_url=os.environ["BENCH_AMQP"], key_prefix=os.environ["BENCH_PROBE_PREFIX"])
broker = create_broker(settings)
dramatiq.set_broker(broker)
_out = open(os.environ["BENCH_PROBE_OUT"], "a", buffering=1)  # noqa: SIM115 - lives as long as the worker
_gate = os.environ["BENCH_PROBE_GATE"]
_lock = threading.Lock()


def probe(i: int, sent_ns: int, gate: bool = False) -> None:
    started = time.time_ns()
    with _lock:
        _out.write(f"{i} {sent_ns} {started}\n")
    if gate:
        deadline = time.monotonic() + 120
        while not os.path.exists(_gate) and time.monotonic() < deadline:
            time.sleep(0.005)


dramatiq.actor(probe, broker=broker, actor_name=ACTOR, queue_name=Queues(settings.key_prefix).executions,
               max_retries=0)
