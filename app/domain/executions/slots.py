"""``max_concurrent_executions_per_worker``: how many executions one worker process runs at once.

Why not fewer threads: the limit is a system setting administrators change at run time, and a
worker's thread count is fixed when it starts (the limit above the thread count changes nothing).
A run that arrives at a full worker is sent again a second later, with its priority, to whichever
worker has room (or this one once a run ends), instead of holding a thread and a prefetched message
that another worker could run now. Its ``enqueued_at`` moves too, so the sweeper does not take the
wait for a lost message.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update

from app.db.models.executions import Execution
from app.domain.executions.service import send_run
from app.domain.runtime import Runtime
from app.lib.clock import utcnow

RETRY_MS = 1000


class WorkerSlots:
    """Executions running in this process (all of them run on the worker's one event loop)."""

    def __init__(self) -> None:
        self.taken = 0

    def take(self, limit: int) -> bool:
        if self.taken >= limit:
            return False
        self.taken += 1
        return True

    def give_back(self) -> None:
        self.taken -= 1


SLOTS = WorkerSlots()


async def send_again_later(rt: Runtime, execution_id: uuid.UUID) -> None:
    """This worker is full: the run goes back to the queue for a second (if it is still queued)."""
    async with rt.sessionmaker() as session:
        priority = await session.scalar(
            update(Execution)
            .where(Execution.id == execution_id, Execution.status == "queued", Execution.lease_owner.is_(None))
            .values(enqueued_at=utcnow())
            .returning(Execution.priority)
        )
        await session.commit()
    if priority is not None:
        send_run(rt, execution_id, priority, delay_ms=RETRY_MS)
