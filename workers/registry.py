"""Declare every actor on a given broker (no import-time broker coupling)."""

from __future__ import annotations

import dramatiq

from app.lib.broker import Queues
from workers.actors import executions, maintenance


def register_actors(broker: dramatiq.Broker, queues: Queues) -> None:
    if "executions.run" in broker.actors:
        return
    dramatiq.actor(executions.run, broker=broker, actor_name="executions.run", queue_name=queues.executions,
                   max_retries=0, time_limit=7 * 24 * 3600 * 1000)
    dramatiq.actor(maintenance.sweep, broker=broker, actor_name="maintenance.sweep",
                   queue_name=queues.maintenance, max_retries=0)
