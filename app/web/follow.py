"""Follow an execution: snapshot, stored lines after a seq, then live events, gap-free and de-duplicated.

Shared by the WebSocket and the Server-Sent Events endpoints. The subscription is opened
*before* storage is read, and live log events are de-duplicated by ``seq``; a jump in ``seq``
(a dropped event, or a slow client whose backlog overflowed) is filled from storage, so the
client sees exactly after_seq+1..N.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
from litestar.channels import ChannelsPlugin

from app.domain.executions.queries import detail, load_execution, read_logs
from app.domain.executions.states import EXECUTION_FINAL
from app.domain.runtime import Runtime
from app.lib.events import ExecutionStatusEvent, LogEvent, StepStatusEvent, decode_event

HEARTBEAT_S = 15.0
REPLAY_PAGE = 5000
_encode = msgspec.json.Encoder().encode


class Heartbeat:
    """Marker the adapters turn into {"type": "heartbeat"} or an SSE comment."""


HEARTBEAT = Heartbeat()
Item = tuple[str, bytes, int | None]  # (type, json bytes, seq for log lines)


async def next_event(
    events: AsyncIterator[bytes], pending: asyncio.Future[bytes] | None, timeout: float
) -> tuple[bytes | None, asyncio.Future[bytes] | None]:
    """Wait for the subscription's next event without losing it on a timeout."""
    if pending is None:
        pending = asyncio.ensure_future(anext(events))
    done, _ = await asyncio.wait({pending}, timeout=timeout)
    if not done:
        return None, pending
    return pending.result(), None


async def drop_pending(pending: asyncio.Future[bytes] | None) -> None:
    """Cancel a wait for the next event when its socket or stream ends."""
    if pending is not None:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await pending


async def replay(rt: Runtime, execution_id: uuid.UUID, after: int, until: int | None = None) -> AsyncIterator[Item]:
    """Stored lines with seq > after (and <= until), page by page."""
    while True:
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
            yield "log", _encode(event), line.seq
        if len(page.lines) < REPLAY_PAGE:
            return
        after = page.lines[-1].seq


async def snapshot_item(rt: Runtime, execution_id: uuid.UUID) -> tuple[Item, str, dict[str, Any]]:
    async with rt.sessionmaker() as session:
        execution = await load_execution(session, execution_id)
        out = await detail(session, execution)
    data = msgspec.to_builtins(out)
    return ("snapshot", _encode({"type": "snapshot", "execution": data}), None), out.status, data


async def follow_execution(
    rt: Runtime,
    channels: ChannelsPlugin,
    execution_id: uuid.UUID,
    after_seq: int,
    still_allowed: Callable[[], Awaitable[bool]],
) -> AsyncIterator[Item | Heartbeat]:
    """Yield events for one execution until its final status (or until access is revoked)."""
    channel = rt.channels.execution(str(execution_id))
    async with channels.start_subscription([channel], history=0) as sub:
        snap, status, data = await snapshot_item(rt, execution_id)
        yield snap
        last = after_seq
        async for item in replay(rt, execution_id, last):
            last = item[2] or last
            yield item
        if status in EXECUTION_FINAL:
            yield "execution.status", _final_event(data), None
            return
        pending: asyncio.Future[bytes] | None = None
        events = sub.iter_events()
        try:
            while True:
                raw, pending = await next_event(events, pending, HEARTBEAT_S)
                if raw is None:
                    if not await still_allowed():
                        return
                    yield HEARTBEAT
                    _, stored_status, stored = await snapshot_item(rt, execution_id)
                    if stored_status in EXECUTION_FINAL:  # the final event was missed: end from storage
                        async for item in replay(rt, execution_id, last):
                            last = item[2] or last
                            yield item
                        yield "execution.status", _final_event(stored), None
                        return
                    continue
                event = decode_event(raw)
                if isinstance(event, LogEvent):
                    if event.seq <= last:
                        continue
                    if event.seq > last + 1:  # dropped live events: say so, then fill the gap from storage
                        yield (
                            "lagged",
                            _encode({"type": "lagged", "missed_from": last + 1, "missed_to": event.seq - 1}),
                            None,
                        )
                        async for item in replay(rt, execution_id, last, until=event.seq - 1):
                            last = item[2] or last
                            yield item
                    last = event.seq
                    yield "log", raw, event.seq
                elif isinstance(event, ExecutionStatusEvent):
                    if event.status in EXECUTION_FINAL:
                        async for item in replay(rt, execution_id, last):  # lines flushed before the end
                            last = item[2] or last
                            yield item
                        yield "execution.status", raw, None
                        return
                    yield "execution.status", raw, None
                elif isinstance(event, StepStatusEvent):
                    yield "step.status", raw, None
        finally:
            await drop_pending(pending)


def _final_event(data: dict[str, Any]) -> bytes:
    event = ExecutionStatusEvent(
        execution_id=str(data["id"]),
        pipeline_id=str(data["pipeline_id"]),
        project_id=str(data["project_id"]),
        status=str(data["status"]),
        ts=str(data.get("finished_at") or data.get("created_at")),
        number=int(data["number"]),
    )
    return _encode(event)
