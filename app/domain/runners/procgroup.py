"""Process groups: kill a step's whole tree and reap what was killed.

A step's command leads its own process group (its own session). Killing means SIGTERM to the
group, SIGKILL after a grace period, then waiting until no member is left alive. Group
membership is read from /proc (Linux); elsewhere ``killpg(pgid, 0)`` answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
POLL_S = 0.05
_subreaper_tried = False


def become_subreaper() -> None:
    """Adopt orphaned grandchildren so the ones we kill can be reaped (Linux only).

    A background job whose shell died is re-parented to the nearest subreaper, else PID 1. A
    minimal container's PID 1 often never reaps, which would leave killed jobs as zombies
    forever; as subreaper the worker reaps them itself (only those in groups it started).
    """
    global _subreaper_tried
    if _subreaper_tried or sys.platform != "linux":
        return
    _subreaper_tried = True
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _group_members(pgid: int) -> list[tuple[int, str, int]] | None:
    """(pid, state, ppid) of each process in group ``pgid``; None where /proc is missing."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    found: list[tuple[int, str, int]] = []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data.rpartition(b")")[2].split()
        if len(fields) >= 3 and int(fields[2]) == pgid:
            found.append((int(name), fields[0].decode("ascii", "replace"), int(fields[1])))
    return found


def sweep(pgid: int, leader: int) -> tuple[int, bool]:
    """Reap our zombies in the group; return (live members, anything still to wait for)."""
    members = _group_members(pgid)
    if members is None:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return 0, False
        except PermissionError:
            pass
        return 1, True
    me, pids = os.getpid(), {m[0] for m in members}
    live, pending = 0, False
    for pid, state, ppid in members:
        if state not in ("Z", "X"):
            live += 1
            pending = True
        elif ppid == me and pid != leader:  # the leader is reaped by asyncio's child watcher
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            pending = True
        elif ppid in pids:  # its parent is dying: it will be re-parented to us next
            pending = True
    return live, pending


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _wait_group_gone(pgid: int, leader: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while sweep(pgid, leader)[1]:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


async def kill_group(pgid: int, leader: int, grace_s: float) -> None:
    """SIGTERM the whole group, SIGKILL what is left after ``grace_s``, reap the dead."""
    signal_group(pgid, signal.SIGTERM)
    signal_group(pgid, signal.SIGCONT)  # a stopped process only acts on SIGTERM once resumed
    if await _wait_group_gone(pgid, leader, grace_s):
        return
    signal_group(pgid, signal.SIGKILL)
    await _wait_group_gone(pgid, leader, 5.0)
