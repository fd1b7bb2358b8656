"""The status transition tables (CONTRACT status values). Nothing changes a status without them."""

from __future__ import annotations

from typing import Final

from app.lib.errors import InvalidTransition

EXECUTION_STATUSES: Final = ("queued", "running", "waiting_approval", "success", "failed", "cancelled", "timed_out")
STEP_STATUSES: Final = (
    "pending",
    "running",
    "waiting_approval",
    "success",
    "failed",
    "skipped",
    "cancelled",
    "timed_out",
)
EXECUTION_FINAL: Final = frozenset({"success", "failed", "cancelled", "timed_out"})
STEP_FINAL: Final = frozenset({"success", "failed", "skipped", "cancelled", "timed_out"})
ACTIVE: Final = frozenset({"running", "waiting_approval"})

EXECUTION_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "queued": frozenset({"running", "cancelled", "failed"}),
    # back to queued: the sweeper re-queues an execution whose worker died
    "running": frozenset({"waiting_approval", "success", "failed", "cancelled", "timed_out", "queued"}),
    "waiting_approval": frozenset({"running", "success", "failed", "cancelled", "timed_out", "queued"}),
    "success": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
    "timed_out": frozenset(),
}

STEP_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    # pending -> success: a retry-from-failed execution reuses a succeeded step's result
    "pending": frozenset({"running", "waiting_approval", "skipped", "cancelled", "success"}),
    # running -> pending: the sweeper resets a step whose worker died, to run it again
    "running": frozenset({"success", "failed", "timed_out", "cancelled", "pending"}),
    "waiting_approval": frozenset({"success", "failed", "cancelled", "timed_out", "pending"}),
    "success": frozenset(),
    "failed": frozenset(),
    "skipped": frozenset(),
    "cancelled": frozenset(),
    "timed_out": frozenset(),
}


def check_execution(current: str, new: str) -> None:
    if new not in EXECUTION_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(f"execution cannot go from {current!r} to {new!r}")


def check_step(current: str, new: str) -> None:
    if new not in STEP_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(f"step cannot go from {current!r} to {new!r}")
