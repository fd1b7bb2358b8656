"""One subscription per channel per process, shared by every socket and stream that follows it.

Why: with a subscription per socket, each event was decoded, awaited through a task and a timed
wait, and filtered once per follower; 1,000 followers of one execution cost seconds per line.
Here a channel's ``Hub`` subscribes once (when its first follower joins), decodes each event once
into an ``Item`` whose text is ready to send, and appends that same object to every follower's
bounded queue. A follower's loop then only takes batches and sends them.

Ticks replace per-socket timers: every ``tick_s`` the hub offers ``TICK`` to all its followers
(heartbeats, access re-checks, the monitor's metrics). A follower whose queue is full loses its
oldest items (``dropleft``): a log line's ``seq`` then jumps and the follower refills the gap from
storage, so a slow client never holds memory without bound nor slows the others. If the channel
subscription fails, followers get ``GONE`` and end (clients reconnect with their last ``seq``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Hashable
from typing import Any, NamedTuple

import structlog
from litestar.channels import ChannelsPlugin

from app.lib.events import ExecutionStatusEvent, LogEvent, StepStatusEvent, decode_event

FOLLOWER_BACKLOG = 10_000
log = structlog.get_logger("ansflow.live")


class Item(NamedTuple):
    """One event as every follower receives it: its type, the JSON text to send, the log seq."""

    kind: str
    text: str
    seq: int | None = None
    event: Any = None  # the decoded event (status and project for filters), None for markers


TICK = Item("tick", "")
GONE = Item("gone", "")


def to_item(raw: bytes) -> Item | None:
    """Decode a channel payload once; unknown payloads are skipped."""
    try:
        event = decode_event(raw)
    except Exception:
        log.warning("undecodable live event skipped", size=len(raw))
        return None
    if isinstance(event, LogEvent):
        return Item("log", raw.decode(), event.seq, event)
    if isinstance(event, ExecutionStatusEvent):
        return Item("execution.status", raw.decode(), None, event)
    if isinstance(event, StepStatusEvent):
        return Item("step.status", raw.decode(), None, event)
    return Item(str(getattr(event, "type", "event")), raw.decode(), None, event)


class Follower:
    """A bounded queue of items for one socket or stream, filled by its hub.

    When it is full the oldest *log line* goes (its follower refills the seq gap from storage);
    status events are kept, since nothing would bring a dropped one back before the next snapshot.
    """

    __slots__ = ("_backlog", "_items", "_waiter", "hub")

    def __init__(self, hub: Hub, backlog: int = FOLLOWER_BACKLOG) -> None:
        self.hub = hub
        self._backlog = backlog
        self._items: deque[Item] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, item: Item) -> None:
        if len(self._items) >= self._backlog:
            self._drop_oldest()
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _drop_oldest(self) -> None:
        items = self._items
        for index, queued in enumerate(items):
            if queued.kind == "log":
                del items[index]
                return
        items.popleft()  # nothing but status events queued: the oldest goes after all

    async def take(self) -> list[Item]:
        """Everything queued, waiting for at least one item."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        batch = list(self._items)
        self._items.clear()
        return batch


class Hub:
    """The process's subscription to one channel and the followers it feeds."""

    def __init__(self, channels: ChannelsPlugin, channel: str, tick_s: float) -> None:
        self.channels, self.channel, self.tick_s = channels, channel, tick_s
        self.followers: set[Follower] = set()
        self.joining = 0  # joiners waiting for the subscription
        self.closed = False
        self.dead = False  # its subscription ended: followers got GONE, new joiners get a new hub
        self.version = 0  # bumped by every event that is not a log line (status changes)
        self.last_seq = 0  # the highest log seq that reached this hub
        self.memo: dict[Hashable, Any] = {}  # state its followers share (follow.py: the snapshot read)
        self._started: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._subscriber: Any = None

    async def ready(self) -> None:
        """Subscribe once; concurrent joiners wait for the same subscription."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._open())
        await asyncio.shield(self._started)

    async def _open(self) -> None:
        self._subscriber = await self.channels.subscribe([self.channel])
        self._tasks = [
            asyncio.create_task(self._pump(), name=f"hub-pump:{self.channel}"),
            asyncio.create_task(self._tick(), name=f"hub-tick:{self.channel}"),
        ]

    async def _pump(self) -> None:
        try:
            async for raw in self._subscriber.iter_events():
                item = to_item(raw)
                if item is not None:
                    if item.kind != "log":
                        self.version += 1
                    elif item.seq is not None and item.seq > self.last_seq:
                        self.last_seq = item.seq
                    for follower in self.followers:
                        follower.offer(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("live channel subscription failed", channel=self.channel, error=repr(exc))
        self.dead = True
        self._broadcast(GONE)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            self._broadcast(TICK)

    def _broadcast(self, item: Item) -> None:
        for follower in self.followers:
            follower.offer(item)

    async def close(self) -> None:
        self.closed = True
        if self._started is not None and not self._started.done():
            await asyncio.wait({self._started})  # let the subscription finish, then undo it
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._subscriber is not None:
            with contextlib.suppress(Exception):
                await self.channels.unsubscribe(self._subscriber)


class LiveHubs:
    """The hubs of one process, created when a channel gets its first follower, closed after its last."""

    def __init__(self, channels: ChannelsPlugin) -> None:
        self.channels = channels
        self._hubs: dict[str, Hub] = {}
        self._closing: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def follow(self, channel: str, tick_s: float) -> AsyncIterator[Follower]:
        """A follower of ``channel`` that receives every event published after this returns."""
        while True:
            hub = self._hubs.get(channel)
            if hub is None or hub.closed or hub.dead:
                hub = self._hubs[channel] = Hub(self.channels, channel, tick_s)
            hub.joining += 1
            try:
                await hub.ready()
            except BaseException:  # the subscription failed, or this joiner was cancelled
                hub.joining -= 1
                self._release(channel, hub)
                raise
            hub.joining -= 1
            if not (hub.closed or hub.dead):  # its last follower may have left while we waited
                break
        follower = Follower(hub)
        hub.followers.add(follower)
        try:
            yield follower
        finally:
            hub.followers.discard(follower)
            self._release(channel, hub)

    def _release(self, channel: str, hub: Hub) -> None:
        """Close a hub nobody follows or waits for any more."""
        if hub.followers or hub.joining or hub.closed:
            return
        if self._hubs.get(channel) is hub:
            del self._hubs[channel]
        self._close_later(hub)

    def _close_later(self, hub: Hub) -> None:
        hub.closed = True
        task = asyncio.ensure_future(hub.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def __len__(self) -> int:
        return len(self._hubs)

    async def close(self) -> None:
        hubs, self._hubs = list(self._hubs.values()), {}
        for hub in hubs:
            await hub.close()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
