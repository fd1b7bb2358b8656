"""Lossless execution logs: gap-free ``seq`` per execution, batched inserts, then publication.

Only the worker holding the execution's lease writes, so ``seq`` is assigned in memory; a
batch is inserted before its events are published, so anything a client sees live is already
readable from storage (the replay seam relies on that).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import datetime

from sqlalchemy import func, insert, select

from app.db.models.executions import LogLine
from app.domain.logs.lines import LineSink
from app.domain.runtime import Runtime
from app.lib.clock import utcnow
from app.lib.events import LogEvent, encode

BATCH_LINES = 1000
FLUSH_GAP_S = 0.01


async def last_seq(rt: Runtime, execution_id: uuid.UUID) -> int:
    async with rt.sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.coalesce(func.max(LogLine.seq), 0)).where(LogLine.execution_id == execution_id)
            )
            or 0
        )


class ExecutionLog:
    """Store and publish lines in batches: group commit, at most one flush per ``FLUSH_GAP_S``.

    A line arriving after a quiet spell is flushed at once (live viewers see it within one insert),
    lines arriving during a flush go together in the next one, and ``BATCH_LINES`` caps a batch;
    ``close`` flushes the rest. A noisy step so costs at most 100 commits a second.
    """

    def __init__(self, rt: Runtime, execution_id: uuid.UUID, start_seq: int) -> None:
        self._rt = rt
        self._execution_id = execution_id
        self._channel = rt.channels.execution(str(execution_id))
        self._seq = start_seq
        self._buffer: list[tuple[int, str | None, str, str, datetime]] = []
        self._lock = asyncio.Lock()
        self._ticker: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._last_flush = 0.0
        self.lines_written = 0

    @property
    def seq(self) -> int:
        return self._seq

    def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            wait = self._last_flush + FLUSH_GAP_S - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self.flush()

    async def write(self, step: str | None, stream: str, text: str) -> None:
        self._seq += 1
        self._buffer.append((self._seq, step, stream, text, utcnow()))
        if len(self._buffer) >= BATCH_LINES:
            await self.flush()
        else:
            self._wake.set()

    def sink_for(self, step: str | None) -> LineSink:
        async def sink(stream: str, text: str) -> None:
            await self.write(step, stream, text)

        return sink

    async def flush(self) -> None:
        async with self._lock:
            if not self._buffer:
                return
            batch, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
            rows = [
                {"execution_id": self._execution_id, "seq": seq, "step": step, "stream": stream, "text": text, "ts": ts}
                for seq, step, stream, text, ts in batch
            ]
            async with self._rt.sessionmaker() as session:
                await session.execute(insert(LogLine), rows)
                await session.commit()
            self.lines_written += len(batch)
            eid = str(self._execution_id)
            events = [
                encode(LogEvent(execution_id=eid, step=step, seq=seq, stream=stream, text=text, ts=ts.isoformat()))
                for seq, step, stream, text, ts in batch
            ]
            await self._rt.publisher.publish_many(self._channel, events)

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.flush()
