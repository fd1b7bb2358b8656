"""hub.py: one subscription per channel per process, bounded follower queues, ticks, clean teardown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from app.lib.events import LogEvent, StepStatusEvent, encode
from app.web.hub import Item, LiveHubs


def status(value: str) -> bytes:
    return encode(StepStatusEvent(execution_id="e", project_id="p", step="s", status=value, attempt=1,
                                  exit_code=None, ts="t"))


def log(seq: int) -> bytes:
    return encode(LogEvent(execution_id="e", step="s", seq=seq, stream="stdout", text=f"line {seq}", ts="t"))


@asynccontextmanager
async def running_channels() -> AsyncIterator[ChannelsPlugin]:
    """A started channels plugin (memory backend) on this test's loop and task."""
    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    async with Litestar(plugins=[plugin]).lifespan():
        yield plugin


def subscribers(channels: ChannelsPlugin, channel: str) -> int:
    return len(channels._channels.get(channel, ()))


async def until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    """Poll: hub teardown runs in a background task with nothing to wait on."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def test_followers_of_a_channel_share_one_subscription_and_get_every_event() -> None:
    async with running_channels() as channels:
        hubs = LiveHubs(channels)
        async with hubs.follow("c", 60) as a, hubs.follow("c", 60) as b, hubs.follow("other", 60):
            assert len(hubs) == 2 and subscribers(channels, "c") == 1
            for seq in range(1, 6):
                channels.publish(log(seq), "c")
            channels.publish(encode(StepStatusEvent(execution_id="e", project_id="p", step="s", status="success",
                                                    attempt=1, exit_code=0, ts="t")), "c")
            received_a: list[Item] = []
            received_b: list[Item] = []
            while len(received_a) < 6:
                received_a += await a.take()
            while len(received_b) < 6:
                received_b += await b.take()
            assert [i.seq for i in received_a] == [1, 2, 3, 4, 5, None]
            assert received_a == received_b, "both followers receive the same decoded items"
            assert received_a[0] is received_b[0], "decoded once, shared"
            assert received_a[-1].kind == "step.status" and received_a[-1].event.project_id == "p"
        assert len(hubs) == 0
        await until(lambda: subscribers(channels, "c") == 0)
        await hubs.close()


async def test_a_follower_that_never_reads_keeps_only_its_newest_items() -> None:
    async with running_channels() as channels:
        hubs = LiveHubs(channels)
        async with hubs.follow("c", 60) as slow, hubs.follow("c", 60) as fast:
            slow._backlog = 100  # a small backlog for the test
            seen: list[int] = []
            channels.publish(status("running"), "c")
            for seq in range(1, 1001):
                channels.publish(log(seq), "c")
            while len(seen) < 1001:
                seen += [i.seq or 0 for i in await fast.take()]
            assert seen == [0, *range(1, 1001)], "the fast follower is not held back"
            kept = await slow.take()
            assert kept[0].kind == "step.status", "status events survive an overflow"
            assert [i.seq for i in kept[1:]] == list(range(902, 1001)), "the slow one lost its oldest lines"
        await hubs.close()


async def test_ticks_reach_every_follower() -> None:
    async with running_channels() as channels:
        hubs = LiveHubs(channels)
        async with hubs.follow("c", 0.05) as a, hubs.follow("c", 0.05) as b:
            assert (await a.take())[0].kind == "tick"
            assert (await b.take())[0].kind == "tick"
        await hubs.close()


async def test_a_joiner_cancelled_while_the_hub_subscribes_leaves_nothing_behind() -> None:
    async with running_channels() as channels:
        hubs = LiveHubs(channels)

        async def join() -> None:
            async with hubs.follow("c", 60):
                await asyncio.sleep(60)

        task = asyncio.create_task(join())
        await asyncio.sleep(0)  # it is now waiting for the subscription
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until(lambda: len(hubs) == 0 and subscribers(channels, "c") == 0)
        async with hubs.follow("c", 60) as again:  # a later follower gets a fresh, working hub
            channels.publish(log(1), "c")
            assert [i.seq for i in await again.take()] == [1]
        await hubs.close()


async def test_followers_of_a_lost_subscription_get_gone_and_later_joiners_a_fresh_hub() -> None:
    async with running_channels() as channels:
        hubs = LiveHubs(channels)
        async with hubs.follow("c", 60) as first:
            await channels.unsubscribe(first.hub._subscriber)  # the subscription ends under the hub
            assert [i.kind for i in await first.take()] == ["gone"]
            async with hubs.follow("c", 60) as later:
                assert later.hub is not first.hub
                channels.publish(log(7), "c")
                assert [i.seq for i in await later.take()] == [7]
        await until(lambda: len(hubs) == 0 and subscribers(channels, "c") == 0)
        await hubs.close()
