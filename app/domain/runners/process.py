"""Run one command for a step: streamed output, timeout and cancel that kill the whole tree.

The command runs in its own session (so its own process group) in the step's workspace, with
stdin closed. stdout and stderr are read concurrently as bytes arrive, split into masked log
lines and sent to the step's writer while the process runs. Timeout and cancel send SIGTERM to
the whole group, SIGKILL after a grace period, and reap what they killed: a background job the
step started (``sleep 300 &``) does not outlive the step. Neither does one left behind by a step
that exited normally.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Mapping, Sequence
from typing import Any

from app.domain.logs.lines import MAX_PENDING_CHARS, PIECE_BYTES, LineAssembler, LineWriter
from app.domain.runners.base import StepContext, StepOutcome, StepStatus, base_env, fail, remaining
from app.domain.runners.procgroup import become_subreaper, kill_group, signal_group, sweep

DRAIN_IDLE_S = 2.0


async def _open_pipe(loop: asyncio.AbstractEventLoop) -> tuple[asyncio.StreamReader, asyncio.ReadTransport, int]:
    """A pipe whose read end we own, so we can stop reading even if a stray process keeps it open."""
    rfd, wfd = os.pipe()
    reader = asyncio.StreamReader(limit=PIECE_BYTES, loop=loop)
    try:
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader, loop=loop), os.fdopen(rfd, "rb", buffering=0)
        )
    except BaseException:
        os.close(wfd)
        raise
    return reader, transport, wfd


async def _pump(
    reader: asyncio.StreamReader, stream: str, out: LineWriter, assembler: LineAssembler, progress: list[int]
) -> None:
    while chunk := await reader.read(PIECE_BYTES):
        progress[0] += 1
        await out.send(stream, assembler.feed(chunk))
        progress[0] += 1
    await out.send(stream, assembler.close())


async def _drain(
    pumps: list[asyncio.Task[None]], transports: list[asyncio.ReadTransport], progress: list[int], out: LineWriter
) -> None:
    """Read what is left in the pipes; give up on a pipe held open by an escaped process.

    Everything in our group is dead here, so a pipe that stays open *and* idle for
    DRAIN_IDLE_S is held by a process that left the group (setsid, a daemon).
    """
    last = progress[0]
    while True:
        _, pending = await asyncio.wait(pumps, timeout=DRAIN_IDLE_S)
        if not pending:
            break
        if progress[0] == last:
            for transport in transports:
                transport.close()
            await asyncio.wait(pending)
            await out.system("output still held open by a process outside the step; stopped reading")
            break
        last = progress[0]
    for task in pumps:
        task.result()  # re-raise a sink failure


def _exit_outcome(code: int) -> tuple[StepStatus, int, str | None]:
    if code == 0:
        return "success", 0, None
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return "failed", 128 - code, f"process killed by {name}"
    return "failed", code, f"process exited with code {code}"


def _fmt_s(seconds: float) -> str:
    return f"{seconds:g} s"


async def run_process(
    argv: Sequence[str],
    ctx: StepContext,
    out: LineWriter,
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
    grace_s: float | None = None,
    max_pending_chars: int = MAX_PENDING_CHARS,
) -> StepOutcome:
    """Run ``argv`` in ``ctx.workspace``, streaming its output to ``out``.

    ``env`` is the complete environment (default: :func:`base_env`); ``timeout_s`` defaults to
    what is left of the step's timeout; ``grace_s`` (SIGTERM -> SIGKILL) to ``ctx.kill_grace_s``.
    """
    timeout = remaining(ctx) if timeout_s is None else timeout_s
    nominal = ctx.timeout_s if timeout_s is None else timeout_s  # what the user configured
    grace = ctx.kill_grace_s if grace_s is None else grace_s
    if ctx.cancel.is_set():
        return await fail(out, "cancelled before start", "cancelled")
    if timeout is not None and timeout <= 0:
        return await fail(out, "timed out before start", "timed_out")
    become_subreaper()
    loop = asyncio.get_running_loop()
    readers: list[asyncio.StreamReader] = []
    transports: list[asyncio.ReadTransport] = []
    write_fds: list[int] = []
    try:
        for _ in range(2):
            reader, transport, wfd = await _open_pipe(loop)
            readers.append(reader)
            transports.append(transport)
            write_fds.append(wfd)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=str(ctx.workspace),
                env=dict(base_env(ctx) if env is None else env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_fds[0],
                stderr=write_fds[1],
                start_new_session=True,
            )
        except OSError as exc:
            return await fail(out, f"cannot start {argv[0]}: {exc.strerror or exc}")
        finally:
            for wfd in write_fds:
                os.close(wfd)
        outcome = await _supervise(proc, ctx, out, readers, transports, timeout, grace, max_pending_chars)
        if outcome.status == "timed_out":
            return await fail(out, f"timed out after {_fmt_s(nominal or 0)}: process group killed", "timed_out")
        return outcome
    finally:
        for transport in transports:
            transport.close()


async def _supervise(
    proc: asyncio.subprocess.Process,
    ctx: StepContext,
    out: LineWriter,
    readers: list[asyncio.StreamReader],
    transports: list[asyncio.ReadTransport],
    limit_s: float | None,
    grace: float,
    max_pending_chars: int,
) -> StepOutcome:
    """Race the process against timeout and cancel, then kill, reap and drain."""
    pgid = proc.pid  # start_new_session: the child leads its own group
    progress = [0]
    pumps = [
        asyncio.create_task(_pump(r, s, out, out.assembler(max_pending_chars=max_pending_chars), progress))
        for r, s in zip(readers, ("stdout", "stderr"), strict=True)
    ]
    exited = asyncio.create_task(proc.wait())
    cancelled = asyncio.create_task(ctx.cancel.wait())
    deadline = None if limit_s is None else time.monotonic() + limit_s
    stopped: StepStatus | None = None
    try:
        watched: set[asyncio.Future[Any]] = {exited, cancelled, *pumps}
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            done, _ = await asyncio.wait(watched, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            for task in done & set(pumps):
                watched.discard(task)
                task.result()  # a failing sink stops the step (and kills the process below)
            if exited in done:
                break
            if cancelled in done or not done:
                stopped = "cancelled" if cancelled in done else "timed_out"
                break
        if stopped is not None:
            await kill_group(pgid, proc.pid, grace)
            await proc.wait()
        elif sweep(pgid, proc.pid)[0]:
            await out.system("stopping background processes left running by the step")
            await kill_group(pgid, proc.pid, grace)
        await _drain(pumps, transports, progress, out)
        sweep(pgid, proc.pid)  # reap group members that died while we drained
    except BaseException:
        if proc.returncode is None or sweep(pgid, proc.pid)[1]:
            await asyncio.shield(kill_group(pgid, proc.pid, min(grace, 1.0)))
        for task in pumps:
            task.cancel()
        raise
    finally:
        cancelled.cancel()
        exited.cancel()  # no-op once the process has been waited for
    if stopped == "cancelled":
        return await fail(out, "cancelled: process group killed", "cancelled")
    if stopped == "timed_out":
        return StepOutcome(status="timed_out")  # run_process words the message
    status, code, message = _exit_outcome(proc.returncode if proc.returncode is not None else -1)
    if message:
        await out.system(message)
    return StepOutcome(status=status, exit_code=code, message=message)


async def capture(
    argv: Sequence[str], env: Mapping[str, str], timeout_s: float, cwd: str | None = None
) -> tuple[int | None, str]:
    """Run a short probe (e.g. ``docker info``); return (exit code or None, combined output)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return None, str(exc.strerror or exc)
    try:
        data, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        signal_group(proc.pid, signal.SIGKILL)
        await proc.wait()
        return None, f"no answer within {_fmt_s(timeout_s)}"
    except BaseException:
        signal_group(proc.pid, signal.SIGKILL)
        raise
    return proc.returncode, data.decode("utf-8", errors="replace")
