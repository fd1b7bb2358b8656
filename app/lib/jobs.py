"""Send a job by actor name, so senders never import the actors (or the worker's dependencies)."""

from __future__ import annotations

from typing import Any

import dramatiq

from app.lib.broker import PRIORITIES


def send(
    broker: dramatiq.Broker,
    queue: str,
    actor: str,
    *args: Any,
    priority: str = "normal",
    delay_ms: int | None = None,
) -> dramatiq.Message[Any]:
    options: dict[str, Any] = {"broker_priority": PRIORITIES.get(priority, PRIORITIES["normal"])}
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name=queue, actor_name=actor, args=args, kwargs={}, options=options
    )
    return broker.enqueue(message, delay=delay_ms)
