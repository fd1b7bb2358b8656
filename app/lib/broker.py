"""The one Dramatiq broker factory, shared by senders (web) and workers: same queues, same priority."""

from __future__ import annotations

from typing import Final

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from app.config import Settings

MAX_PRIORITY: Final = 10  # changing it on an existing RabbitMQ queue breaks every send
PRIORITIES: Final = {"high": 9, "normal": 5, "low": 1}


class Queues:
    """Queue names under the deployment's key prefix, so test runs never share queues."""

    def __init__(self, prefix: str) -> None:
        self.executions = f"{prefix}.executions"
        self.notifications = f"{prefix}.notifications"
        self.maintenance = f"{prefix}.maintenance"

    def all(self) -> list[str]:
        return [self.executions, self.notifications, self.maintenance]


def create_broker(settings: Settings) -> dramatiq.Broker:
    """RabbitMQ when ANSFLOW_BROKER_URL is set, else the in-process StubBroker."""
    broker: dramatiq.Broker
    if settings.broker_url:
        broker = RabbitmqBroker(
            url=settings.broker_url,
            max_priority=MAX_PRIORITY,
            confirm_delivery=True,
        )
    else:
        broker = StubBroker()
    broker.add_middleware(AsyncIO())
    for queue in Queues(settings.key_prefix).all():
        broker.declare_queue(queue)
    return broker
