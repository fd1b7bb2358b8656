"""The step runner interface: what the engine hands a runner and what it gets back.

Runners are pure async domain code: no database, no web framework. The engine builds a
:class:`StepContext`, passes the step's parsed config (a msgspec Struct whose shape matches
one of the ``*Config`` protocols below) and a :data:`LineSink`, and stores the
:class:`StepOutcome`. Every line a runner sends to the sink is already masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import msgspec

from app.domain.logs.lines import LineSink, LineWriter
from app.domain.logs.masking import SecretMasker

__all__ = [
    "AnsibleConfig",
    "DockerConfig",
    "GitConfig",
    "HttpConfig",
    "LineSink",
    "NotifyConfig",
    "RunConfig",
    "Runner",
    "StepContext",
    "StepOutcome",
    "StepStatus",
    "StepStopped",
    "base_env",
    "fail",
    "guarded",
    "option",
    "remaining",
]

StepStatus = Literal["success", "failed", "timed_out", "cancelled"]
T = TypeVar("T")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_KILL_GRACE_S = 5.0


class StepOutcome(msgspec.Struct, frozen=True):
    """How a step ended. ``message`` is a short human reason (also written to the log)."""

    status: StepStatus
    exit_code: int | None = None
    message: str | None = None


@dataclass
class StepContext:
    """Everything a runner needs to know about the step it runs.

    ``env`` is added on top of a minimal base env (PATH, HOME, LANG): the engine puts the
    pipeline variables, matrix values, ``ANSFLOW_*`` and secret env vars in it. ``secrets``
    holds every secret value the step can see (name -> value): credentials are looked up in it
    by name, and every value in it is masked in the output. ``cancel`` is set by the engine
    to stop the step; the runner then kills its processes and returns ``cancelled``.
    """

    execution_id: str
    step_name: str
    workspace: Path
    env: dict[str, str] = field(default_factory=dict)
    timeout_s: float | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    kill_grace_s: float = DEFAULT_KILL_GRACE_S
    masker: SecretMasker = field(init=False, repr=False)
    started: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.workspace = Path(self.workspace)
        self.masker = SecretMasker(self.secrets.values())
        self.started = time.monotonic()

    def writer(self, sink: LineSink) -> LineWriter:
        """The masking, serializing writer all of this step's output goes through."""
        return LineWriter(sink, self.masker)


def remaining(ctx: StepContext) -> float | None:
    """Seconds left of the step's timeout (which covers all its subprocesses), or None."""
    if ctx.timeout_s is None:
        return None
    return max(0.0, ctx.timeout_s - (time.monotonic() - ctx.started))


def base_env(ctx: StepContext, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Minimal env for a step's processes: no worker settings or credentials leak into it."""
    env = {
        "PATH": os.environ.get("PATH") or DEFAULT_PATH,
        "HOME": os.environ.get("HOME") or str(ctx.workspace),
        "LANG": "C.UTF-8",
    }
    env.update(ctx.env)
    if extra:
        env.update(extra)
    return env


async def fail(
    out: LineWriter, message: str, status: StepStatus = "failed", exit_code: int | None = None
) -> StepOutcome:
    """Write ``message`` as a system line and return it as the outcome."""
    await out.system(message)
    return StepOutcome(status=status, exit_code=exit_code, message=out.masker.mask_line(message))


class StepStopped(Exception):
    """The step was cancelled or ran out of time while awaiting something."""

    def __init__(self, status: Literal["cancelled", "timed_out"]) -> None:
        super().__init__(status)
        self.status: Literal["cancelled", "timed_out"] = status


async def guarded(work: Coroutine[Any, Any, T], ctx: StepContext, timeout_s: float | None) -> T:
    """Await ``work`` unless the step is cancelled or ``timeout_s`` passes (then StepStopped)."""
    task = asyncio.ensure_future(work)
    cancelled = asyncio.ensure_future(ctx.cancel.wait())
    try:
        done, _ = await asyncio.wait({task, cancelled}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        cancelled.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task in done:
        return task.result()
    raise StepStopped("cancelled" if cancelled in done else "timed_out")


class Runner(Protocol):
    """One step kind. ``run`` never raises for a step failure: it returns the outcome."""

    async def run(self, config: Any, ctx: StepContext, sink: LineSink) -> StepOutcome: ...


# Shapes of the parsed step configs (app.domain.pipelines.spec). Read-only properties, so
# frozen Structs match. Fields the spec may or may not have are read with ``option()``.


def option(config: object, *names: str) -> Any:
    """First present, non-None attribute among ``names`` (tolerates spec field renames)."""
    for name in names:
        value = getattr(config, name, None)
        if value is not None:
            return value
    return None


class RunConfig(Protocol):
    """``run:``; an optional ``shell`` attribute (e.g. "bash") is honoured when present."""

    @property
    def commands(self) -> Sequence[str]: ...


class GitConfig(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def ref(self) -> str | None: ...
    @property
    def credential(self) -> str | None: ...
    @property
    def depth(self) -> int | None: ...


class HttpConfig(Protocol):
    """``http:``; the request timeout is read from ``timeout`` (seconds) or ``timeout_s``."""

    @property
    def url(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def body(self) -> Any: ...
    @property
    def expect_status(self) -> Sequence[int]: ...


class DockerConfig(Protocol):
    """``docker:``; commands from ``run`` (or ``commands``), optional ``workdir``."""

    @property
    def image(self) -> str: ...
    @property
    def env(self) -> Mapping[str, str]: ...


class AnsibleConfig(Protocol):
    @property
    def playbook(self) -> str: ...
    @property
    def inventory(self) -> str | None: ...
    @property
    def extra_vars(self) -> Mapping[str, Any]: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def limit(self) -> str | None: ...
    @property
    def check(self) -> bool: ...
    @property
    def credential(self) -> str | None: ...


class NotifyConfig(Protocol):
    """``notify:``; an optional ``channel`` is shown in the log line."""

    @property
    def message(self) -> str: ...
    @property
    def url(self) -> str | None: ...
