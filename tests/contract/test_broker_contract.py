"""``app.lib.broker.create_broker`` + ``app.lib.jobs.send``: a message sent by actor name reaches the
actor registered under that name, through the in-process StubBroker or RabbitMQ, with a Dramatiq
worker running in this process on queues of its own."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import dramatiq
import msgspec
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker

from app.config import Settings
from app.lib.broker import Queues, create_broker
from app.lib.jobs import send
from tests.support.backends import _cleanup_rabbit


def with_prefix(settings: Settings, suffix: str) -> Settings:
    """The same services under a key/queue prefix of their own."""
    return msgspec.structs.replace(settings, key_prefix=f"{settings.key_prefix}-{suffix}")


class Received:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], float]] = []
        self.lock = threading.Lock()

    def add(self, name: str, *args: Any) -> None:
        with self.lock:
            self.calls.append((name, args, time.monotonic()))

    def wait(self, count: int, timeout: float = 20.0) -> list[tuple[str, tuple[Any, ...], float]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.calls) >= count:
                    return list(self.calls)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.calls)} of {count} messages arrived: {self.calls}")


@pytest.fixture
def running(contract_settings: Settings, flavour: str) -> Iterator[tuple[dramatiq.Broker, Queues, Received]]:
    """A broker from the factory, two actors (sync and async) and an in-process worker."""
    settings = with_prefix(contract_settings, f"broker{secrets.token_hex(3)}")
    broker = create_broker(settings)
    assert isinstance(broker, StubBroker if flavour == "memory" else RabbitmqBroker)
    queues = Queues(settings.key_prefix)
    received = Received()

    def sync_actor(value: Any) -> None:
        received.add("sync", value)

    async def async_actor(value: Any, extra: Any) -> None:
        await asyncio.sleep(0)
        received.add("async", value, extra)

    dramatiq.actor(sync_actor, broker=broker, actor_name="contract.sync", queue_name=queues.executions)
    dramatiq.actor(async_actor, broker=broker, actor_name="contract.async", queue_name=queues.maintenance)
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        yield broker, queues, received
    finally:
        worker.stop()
        broker.close()
        if flavour == "real":
            _cleanup_rabbit(settings)


def test_a_message_reaches_its_actor_by_name(running: tuple[dramatiq.Broker, Queues, Received]) -> None:
    broker, queues, received = running
    payload = {"id": secrets.token_hex(4), "text": "\u00e9"}
    message = send(broker, queues.executions, "contract.sync", payload)
    assert message.options["broker_priority"] == 5
    send(broker, queues.maintenance, "contract.async", "v", [1, 2], priority="high")
    calls = received.wait(2)
    assert sorted((name, args) for name, args, _ in calls) == [("async", ("v", [1, 2])), ("sync", (payload,))]


def test_every_priority_is_accepted(running: tuple[dramatiq.Broker, Queues, Received]) -> None:
    """RabbitMQ refuses priorities above the queue's max_priority with PRECONDITION_FAILED."""
    broker, queues, received = running
    for priority in ("low", "normal", "high", "unknown-means-normal"):
        send(broker, queues.executions, "contract.sync", priority, priority=priority)
    assert {args[0] for _, args, _ in received.wait(4)} == {"low", "normal", "high", "unknown-means-normal"}


def test_delayed_messages_wait(running: tuple[dramatiq.Broker, Queues, Received]) -> None:
    broker, queues, received = running
    sent = time.monotonic()
    send(broker, queues.executions, "contract.sync", "later", delay_ms=300)
    (_, args, at), = received.wait(1)
    assert args == ("later",)
    assert at - sent >= 0.29


def test_waiting_messages_are_delivered_highest_priority_first(contract_settings: Settings, flavour: str) -> None:
    """What is queued behind busy workers starts by priority (then in order sent), on both brokers."""
    settings = with_prefix(contract_settings, f"prio{secrets.token_hex(3)}")
    broker = create_broker(settings)
    queue = Queues(settings.key_prefix).executions
    sent = [("low", 1), ("normal", 2), ("low", 3), ("high", 4), ("normal", 5), ("high", 6)]
    try:
        for priority, n in sent:
            send(broker, queue, "contract.sync", n, priority=priority)
        consumer = broker.consume(queue, prefetch=1, timeout=2000)
        order = []
        for _ in sent:
            message = next(consumer)
            deadline = time.monotonic() + 10
            while message is None and time.monotonic() < deadline:
                message = next(consumer)
            assert message is not None, f"only {order} arrived"
            order.append(message.args[0])
            consumer.ack(message)
        consumer.close()
        assert order == [4, 6, 2, 5, 1, 3]
    finally:
        broker.close()
        if flavour == "real":
            _cleanup_rabbit(settings)
