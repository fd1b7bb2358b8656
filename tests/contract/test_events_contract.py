"""``app.lib.events.create_publisher``: in-process bus (embedded) or Redis PUBLISH (production).
Subscribers receive exactly the bytes published, on every channel named, in order."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence

import redis.asyncio as aioredis

from app.config import Settings
from app.lib.events import LOCAL_BUS, LogEvent, RedisPublisher, create_publisher, decode_event, encode


def sample(seq: int) -> bytes:
    return encode(LogEvent(execution_id="e1", step="unit", seq=seq, stream="stdout", text=f"line {seq} \u00e9",
                           ts="2026-11-29T00:00:00Z"))


async def test_subscribers_receive_the_exact_bytes(contract_settings: Settings, flavour: str) -> None:
    publisher = create_publisher(contract_settings)
    channels = [f"{contract_settings.key_prefix}:contract:{secrets.token_hex(4)}" for _ in range(2)]
    received: list[tuple[str, bytes]] = []
    if flavour == "memory":
        assert publisher is LOCAL_BUS

        def sink(channel: str, events: Sequence[bytes]) -> None:
            received.extend((channel, data) for data in events)

        LOCAL_BUS.add_sink(sink)
        try:
            await publisher.publish(channels, sample(1))
            await publisher.publish_many(channels[0], [sample(2), sample(3)])
        finally:
            LOCAL_BUS.remove_sink(sink)
        await publisher.publish(channels, sample(4))  # nobody listens any more
    else:
        assert isinstance(publisher, RedisPublisher)
        client = aioredis.Redis.from_url(contract_settings.redis_url)
        pubsub = client.pubsub()
        await pubsub.subscribe(*channels)
        try:
            for _ in channels:  # subscription confirmations
                await pubsub.get_message(timeout=2)
            await publisher.publish(channels, sample(1))
            await publisher.publish_many(channels[0], [sample(2), sample(3)])
            while len(received) < 4:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                assert message is not None, f"only {len(received)} of 4 messages arrived"
                received.append((message["channel"].decode(), message["data"]))
        finally:
            await pubsub.aclose()
            await client.aclose()
            await publisher.close()
    assert received == [(channels[0], sample(1)), (channels[1], sample(1)),
                        (channels[0], sample(2)), (channels[0], sample(3))]
    assert decode_event(received[-1][1]) == LogEvent(execution_id="e1", step="unit", seq=3, stream="stdout",
                                                     text="line 3 \u00e9", ts="2026-11-29T00:00:00Z")


async def test_publishing_without_subscribers_is_fine(contract_settings: Settings) -> None:
    publisher = create_publisher(contract_settings)
    try:
        await asyncio.wait_for(publisher.publish([f"{contract_settings.key_prefix}:nobody"], b"x"), 5)
    finally:
        await publisher.close()
