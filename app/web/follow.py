"""Follow an execution: snapshot, stored lines after a seq, then live events, gap-free and de-duplicated.

Shared by the WebSocket and the Server-Sent Events endpoints. The follower joins its execution's
hub (hub.py: one subscription per process) *before* storage is read, and live log events are
de-duplicated by ``seq``; a jump in ``seq`` (a dropped event, or a slow client whose queue
overflowed) is filled from storage, so the client sees exactly after_seq+1..N.

At every tick (``HEARTBEAT_S``) the follower re-checks access and whether storage says the
execution ended (its final event may have been missed, e.g. published while Redis was away); one
read per execution per process answers all its followers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any, NamedTuple

import msgspec

from app.db.models.executions import Execution
from app.domain.executions.queries import detail, load_execution, read_logs
from app.domain.executions.states import EXECUTION_FINAL
from app.domain.runtime import Runtime
from app.lib.errors import NotFound
from app.lib.events import ExecutionStatusEvent, LogEvent
from app.web.hub import Hub, Item, LiveHubs

HEARTBEAT_S = 15.0
REPLAY_PAGE = 5000
PROBE_TTL_S = 1.0
_encode = msgspec.json.Encoder().encode


class Heartbeat:
    """Marker the adapters turn into {"type": "heartbeat"} or an SSE comment."""


HEARTBEAT = Heartbeat()


async def replay(
    rt: Runtime, execution_id: uuid.UUID, after: int, until: int | None = None, pages: int | None = None
) -> AsyncIterator[Item]:
    """Stored lines with seq > after (and <= until), page by page (at most ``pages`` pages)."""
    while pages is None or pages > 0:
        if pages is not None:
            pages -= 1
        async with rt.sessionmaker() as session:
            page = await read_logs(session, execution_id, after_seq=after, step=None, limit=REPLAY_PAGE, q=None)
        for line in page.lines:
            if until is not None and line.seq > until:
                return
            event = LogEvent(
                execution_id=str(execution_id),
                step=line.step,
                seq=line.seq,
                stream=line.stream,
                text=line.text,
                ts=line.ts.isoformat(),
            )
            yield Item("log", _encode(event).decode(), line.seq)
        if len(page.lines) < REPLAY_PAGE:
            return
        after = page.lines[-1].seq


async def snapshot_item(rt: Runtime, execution_id: uuid.UUID) -> tuple[Item, str, bytes]:
    """The snapshot message, the execution's status and its status event built from storage."""
    async with rt.sessionmaker() as session:
        execution = await load_execution(session, execution_id)
        out = await detail(session, execution)
    data = msgspec.to_builtins(out)
    snapshot = Item("snapshot", _encode({"type": "snapshot", "execution": data}).decode())
    return snapshot, out.status, _status_event(execution)


def _status_event(execution: Execution) -> bytes:
    return _encode(ExecutionStatusEvent(
        execution_id=str(execution.id),
        pipeline_id=str(execution.pipeline_id),
        project_id=str(execution.project_id),
        status=execution.status,
        ts=(execution.finished_at or execution.created_at).isoformat(),
        number=execution.number,
    ))


class _SharedRead(NamedTuple):
    started: float
    version: int  # the hub's version when the read started
    future: asyncio.Future[Any]


def _shared(hub: Hub, memo_key: Hashable, read: Callable[[], Awaitable[Any]], *, same_version: bool) -> Any:
    """The hub's read under ``memo_key`` if it is young enough (and, if asked, no status event reached
    the hub since it started), else a new one; callers ``await asyncio.shield(...)`` it."""
    now = time.monotonic()
    memo: _SharedRead | None = hub.memo.get(memo_key)
    if (memo is None or now - memo.started > PROBE_TTL_S or _failed(memo.future)
            or (same_version and memo.version != hub.version)):
        if len(hub.memo) > 64:
            hub.memo = {k: v for k, v in hub.memo.items() if now - v.started <= PROBE_TTL_S}
        future = asyncio.ensure_future(read())
        future.add_done_callback(_retrieve)
        memo = hub.memo[memo_key] = _SharedRead(now, hub.version, future)
    return memo.future


async def shared_snapshot(rt: Runtime, hub: Hub, execution_id: uuid.UUID) -> tuple[Item, str, bytes]:
    """``snapshot_item``, read once for the followers that join together (a connect storm).

    A read is reused while no status event reached the hub since it started (the hub was already
    subscribed then, so any change it could miss would have bumped ``hub.version``) and for at most
    ``PROBE_TTL_S`` (queue positions move without events on this channel).
    """
    future = _shared(hub, "snapshot", lambda: snapshot_item(rt, execution_id), same_version=True)
    result: tuple[Item, str, bytes] = await asyncio.shield(future)
    return result


async def shared_replay(rt: Runtime, hub: Hub, execution_id: uuid.UUID, after: int) -> list[Item]:
    """The first page of stored lines after ``after``, read once for the followers that join together.

    A shared read may have started before this follower joined: lines stored in between are then
    missing from it. ``follow_execution`` notices (the hub saw a seq beyond the page when the
    follower joined, or the run already ended) and reads the rest itself.
    """
    future = _shared(hub, ("replay", after), lambda: _first_page(rt, execution_id, after), same_version=False)
    page: list[Item] = await asyncio.shield(future)
    return page


async def _first_page(rt: Runtime, execution_id: uuid.UUID, after: int) -> list[Item]:
    return [item async for item in replay(rt, execution_id, after, pages=1)]


def _failed(future: asyncio.Future[Any]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a shared read's exception as seen: its callers re-raise it (no 'never retrieved' noise)."""
    if not future.cancelled():
        future.exception()


async def stored_final(rt: Runtime, hub: Hub, execution_id: uuid.UUID) -> bytes | None:
    """The stored final status event (None while the run goes on), one read per hub per ``PROBE_TTL_S``."""
    future = _shared(hub, "stored-final", lambda: _read_final(rt, execution_id), same_version=False)
    result: bytes | None = await asyncio.shield(future)
    return result


async def _read_final(rt: Runtime, execution_id: uuid.UUID) -> bytes | None:
    async with rt.sessionmaker() as session:
        try:
            execution = await load_execution(session, execution_id)
        except NotFound:
            return None
    return _status_event(execution) if execution.status in EXECUTION_FINAL else None


async def follow_execution(
    rt: Runtime,
    hubs: LiveHubs,
    execution_id: uuid.UUID,
    after_seq: int,
    still_allowed: Callable[[], Awaitable[bool]],
) -> AsyncIterator[Item | Heartbeat]:
    """Yield events for one execution until its final status (or until access is revoked)."""
    async with hubs.follow(rt.channels.execution(str(execution_id)), HEARTBEAT_S) as follower:
        hub = follower.hub
        seen_at_join = hub.last_seq  # read before any await: exactly what reached the hub before we joined
        snap, status, final = await shared_snapshot(rt, hub, execution_id)
        yield snap
        last = after_seq
        page = await shared_replay(rt, hub, execution_id, after_seq)
        for item in page:
            last = item.seq or last
            yield item
        if len(page) >= REPLAY_PAGE or seen_at_join > last or status in EXECUTION_FINAL:
            async for item in replay(rt, execution_id, last):  # a read of our own, started after we joined
                last = item.seq or last
                yield item
        if status in EXECUTION_FINAL:
            yield Item("execution.status", final.decode())
            return
        while True:
            for item in await follower.take():
                kind = item.kind
                if kind == "log":
                    seq: int = item.seq or 0
                    if seq <= last:
                        continue
                    if seq > last + 1:  # dropped live events: say so, then fill the gap from storage
                        yield Item("lagged", _encode({"type": "lagged", "missed_from": last + 1,
                                                      "missed_to": seq - 1}).decode())
                        async for stored in replay(rt, execution_id, last, until=seq - 1):
                            last = stored.seq or last
                            yield stored
                    last = seq
                    yield item
                elif kind == "execution.status":
                    if item.event.status in EXECUTION_FINAL:
                        async for stored in replay(rt, execution_id, last):  # lines flushed before the end
                            last = stored.seq or last
                            yield stored
                        yield item
                        return
                    yield item
                elif kind == "step.status":
                    yield item
                elif kind == "tick":
                    if not await still_allowed():
                        return
                    yield HEARTBEAT
                    final_event = await stored_final(rt, hub, execution_id)
                    if final_event is not None:  # the final event was missed: end from storage
                        async for stored in replay(rt, execution_id, last):
                            last = stored.seq or last
                            yield stored
                        yield Item("execution.status", final_event.decode())
                        return
                elif kind == "gone":
                    raise LiveFeedLost(last)


class LiveFeedLost(Exception):
    """The process lost its subscription to the execution's channel; the client should reconnect."""

    def __init__(self, last_seq: int) -> None:
        super().__init__(f"live feed interrupted after seq {last_seq}; reconnect with after_seq={last_seq}")
        self.last_seq = last_seq

