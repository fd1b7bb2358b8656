"""The one Dramatiq broker factory, shared by senders (web) and workers: same queues, same priority."""

from __future__ import annotations

import heapq
import itertools
from queue import Queue
from typing import Final

import dramatiq
from dramatiq import Message
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


class _PriorityQueue(Queue[bytes]):
    """A StubBroker queue that hands out the highest ``broker_priority`` first, then in order sent.

    It keeps ``queue.Queue``'s locking, ``task_done`` and ``join`` (the StubBroker relies on them)
    and orders like a RabbitMQ priority queue.
    """

    def _init(self, maxsize: int) -> None:
        self._heap: list[tuple[int, int, bytes]] = []
        self._sent = itertools.count()

    def _qsize(self) -> int:
        return len(self._heap)

    def _put(self, item: bytes) -> None:
        priority = int(Message.decode(item).options.get("broker_priority") or 0)
        heapq.heappush(self._heap, (-priority, next(self._sent), item))

    def _get(self) -> bytes:
        return heapq.heappop(self._heap)[2]


class PriorityStubBroker(StubBroker):
    """The in-process broker of embedded mode, honouring message priorities like RabbitMQ does."""

    def declare_queue(self, queue_name: str) -> None:
        if queue_name in self.queues:
            return
        super().declare_queue(queue_name)
        self.queues[queue_name] = _PriorityQueue()


def create_broker(settings: Settings) -> dramatiq.Broker:
    """RabbitMQ when ANSFLOW_BROKER_URL is set, else the in-process StubBroker (with priorities)."""
    broker: dramatiq.Broker
    if settings.broker_url:
        broker = RabbitmqBroker(
            url=settings.broker_url,
            max_priority=MAX_PRIORITY,
            confirm_delivery=True,
        )
    else:
        broker = PriorityStubBroker()
    broker.add_middleware(AsyncIO())
    for queue in Queues(settings.key_prefix).all():
        broker.declare_queue(queue)
    return broker
