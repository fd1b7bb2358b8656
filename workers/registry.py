"""Declare every actor on a given broker (no import-time broker coupling)."""

from __future__ import annotations

import dramatiq

from app.lib.broker import Queues
from workers.actors import executions, maintenance

WEEK_MS = 7 * 24 * 3600 * 1000  # pipelines have their own timeouts; Dramatiq's limit only backstops


def register_actors(broker: dramatiq.Broker, queues: Queues) -> None:
    if "executions.run" in broker.actors:
        return
    dramatiq.actor(
        actor_name="executions.run", queue_name=queues.executions, broker=broker, max_retries=0, time_limit=WEEK_MS
    )(executions.run)
    dramatiq.actor(actor_name="maintenance.sweep", queue_name=queues.maintenance, broker=broker, max_retries=0)(
        maintenance.sweep
    )
