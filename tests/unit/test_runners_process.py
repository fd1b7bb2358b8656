"""run_process with real subprocesses: streaming, big output, timeout, cancel, process trees."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import pytest

from app.domain.logs.lines import LineWriter
from app.domain.runners.base import StepContext
from app.domain.runners.process import run_process


class Collector:
    """A LineSink that records lines and lets a test wait for one."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self._waiters: list[tuple[str, asyncio.Event]] = []

    async def __call__(self, stream: str, text: str) -> None:
        self.lines.append((stream, text))
        for wanted, event in self._waiters:
            if wanted in ("", text):  # "" waits for any line
                event.set()

    def of(self, stream: str) -> list[str]:
        return [text for s, text in self.lines if s == stream]

    async def wait_for_any(self) -> None:
        event = asyncio.Event()
        self._waiters.append(("", event))
        await asyncio.wait_for(event.wait(), 10.0)

    async def wait_for(self, text: str) -> None:
        event = asyncio.Event()
        self._waiters.append((text, event))
        if any(t == text for _, t in self.lines):
            return
        await asyncio.wait_for(event.wait(), 10.0)


def make_ctx(tmp_path: Path, **kwargs: object) -> StepContext:
    return StepContext(execution_id="exec-1", step_name="unit", workspace=tmp_path, **kwargs)  # type: ignore[arg-type]


def writer(ctx: StepContext, sink: Collector) -> LineWriter:
    return ctx.writer(sink)


def assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


async def test_lines_arrive_while_the_process_still_runs(tmp_path: Path) -> None:
    ctx, sink = make_ctx(tmp_path), Collector()
    script = "echo first; while [ ! -e release ]; do sleep 0.05; done; echo done"
    task = asyncio.create_task(run_process(["sh", "-c", script], ctx, writer(ctx, sink)))
    await sink.wait_for("first")
    assert not task.done()  # we saw the line while the process was still blocked
    (tmp_path / "release").touch()
    outcome = await task
    assert outcome.status == "success" and outcome.exit_code == 0
    assert sink.of("stdout") == ["first", "done"]


async def test_100k_lines_arrive_in_order_byte_identical(tmp_path: Path) -> None:
    ctx, sink = make_ctx(tmp_path), Collector()
    code = (
        "import sys\n"
        "w = sys.stdout.write\n"
        "for i in range(100000):\n"
        "    w(f'line {i} \\u00e9\\u20ac ' + 'x' * (i % 53) + '\\n')\n"
    )
    outcome = await run_process([sys.executable, "-c", code], ctx, writer(ctx, sink))
    assert outcome.status == "success"
    expected = [f"line {i} é€ " + "x" * (i % 53) for i in range(100000)]
    assert sink.of("stdout") == expected


async def test_a_200k_line_is_split_into_pieces_that_concatenate_back(tmp_path: Path) -> None:
    ctx, sink = make_ctx(tmp_path), Collector()
    code = "import sys; sys.stdout.write('ab\\u20ac' * 40000 + '\\nafter\\n')"  # 200,000 bytes
    outcome = await run_process([sys.executable, "-c", code], ctx, writer(ctx, sink))
    assert outcome.status == "success"
    out = sink.of("stdout")
    assert out[-1] == "after"
    pieces = out[:-1]
    assert len(pieces) == 4
    assert all(len(p.encode()) <= 65536 for p in pieces)
    assert "".join(pieces) == "ab€" * 40000


async def test_stdout_and_stderr_are_kept_apart(tmp_path: Path) -> None:
    ctx, sink = make_ctx(tmp_path), Collector()
    outcome = await run_process(["sh", "-c", "echo out; echo err >&2; echo out2"], ctx, writer(ctx, sink))
    assert outcome.status == "success"
    assert sink.of("stdout") == ["out", "out2"]
    assert sink.of("stderr") == ["err"]


async def test_exit_code_is_propagated(tmp_path: Path) -> None:
    ctx, sink = make_ctx(tmp_path), Collector()
    outcome = await run_process(["sh", "-c", "echo bye; exit 3"], ctx, writer(ctx, sink))
    assert outcome.status == "failed"
    assert outcome.exit_code == 3
    assert outcome.message == "process exited with code 3"
    assert sink.of("system") == ["process exited with code 3"]


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    ctx, sink = make_ctx(tmp_path, timeout_s=2.0), Collector()
    outcome = await run_process(["sh", "-c", "sleep 300 & echo $!; sleep 300"], ctx, writer(ctx, sink))
    grandchild = int(sink.of("stdout")[0])
    try:
        assert outcome.status == "timed_out"
        assert outcome.exit_code is None
        assert outcome.message == "timed out after 2 s: process group killed"
        assert_gone(grandchild)
    finally:
        kill_quietly(grandchild)


async def test_processes_ignoring_sigterm_get_sigkill_after_the_grace_period(tmp_path: Path) -> None:
    ctx, sink = make_ctx(tmp_path, timeout_s=2.0, kill_grace_s=0.5), Collector()
    script = "trap '' TERM; sleep 300 & echo $!; sleep 300"
    outcome = await run_process(["sh", "-c", script], ctx, writer(ctx, sink))
    grandchild = int(sink.of("stdout")[0])
    try:
        assert outcome.status == "timed_out"
        assert_gone(grandchild)
    finally:
        kill_quietly(grandchild)


async def test_cancel_stops_the_step_promptly_and_kills_the_tree(tmp_path: Path) -> None:
    ctx, sink = make_ctx(tmp_path), Collector()
    task = asyncio.create_task(run_process(["sh", "-c", "sleep 300 & echo $!; wait"], ctx, writer(ctx, sink)))
    await sink.wait_for_any()
    grandchild = int(sink.of("stdout")[0])
    try:
        ctx.cancel.set()
        outcome = await asyncio.wait_for(task, 5.0)
        assert outcome.status == "cancelled"
        assert_gone(grandchild)
    finally:
        kill_quietly(grandchild)


async def test_cancel_before_start_runs_nothing(tmp_path: Path) -> None:
    ctx, sink = make_ctx(tmp_path), Collector()
    ctx.cancel.set()
    outcome = await run_process(["sh", "-c", "touch ran"], ctx, writer(ctx, sink))
    assert outcome.status == "cancelled"
    assert not (tmp_path / "ran").exists()


async def test_background_jobs_do_not_outlive_a_successful_step(tmp_path: Path) -> None:
    ctx, sink = make_ctx(tmp_path), Collector()
    outcome = await run_process(["sh", "-c", "sleep 300 & echo $!"], ctx, writer(ctx, sink))
    leftover = int(sink.of("stdout")[0])
    try:
        assert outcome.status == "success"
        assert_gone(leftover)
        assert "stopping background processes left running by the step" in sink.of("system")
    finally:
        kill_quietly(leftover)


ESCAPE = """
setsid sh -c 'echo $$ > escaped.pid; exec sleep 300' &
while [ ! -s escaped.pid ]; do sleep 0.02; done
cat escaped.pid
"""


async def test_a_process_escaping_the_group_cannot_hang_the_step(tmp_path: Path) -> None:
    """setsid leaves our process group but keeps stdout open: reading gives up when idle."""
    ctx, sink = make_ctx(tmp_path), Collector()
    outcome = await asyncio.wait_for(run_process(["sh", "-c", ESCAPE], ctx, writer(ctx, sink)), 30)
    escaped = int(sink.of("stdout")[0])
    kill_quietly(escaped)
    with contextlib.suppress(ChildProcessError):
        await asyncio.to_thread(os.waitpid, escaped, 0)  # re-parented to us (subreaper)
    assert outcome.status == "success"
    assert any("outside the step" in line for line in sink.of("system")), sink.lines


async def test_env_is_minimal_plus_the_step_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSFLOW_WORKER_ONLY", "leak")
    ctx, sink = make_ctx(tmp_path, env={"APP_ENV": "staging"}), Collector()
    outcome = await run_process(["sh", "-c", "env; pwd"], ctx, writer(ctx, sink))
    assert outcome.status == "success"
    out = sink.of("stdout")
    assert "APP_ENV=staging" in out
    assert "LANG=C.UTF-8" in out
    assert not any(line.startswith("ANSFLOW_WORKER_ONLY=") for line in out)
    assert out[-1] == str(tmp_path)


async def test_secrets_printed_by_the_process_are_masked(tmp_path: Path) -> None:
    secret = "hunter2-very-secret"
    ctx, sink = make_ctx(tmp_path, secrets={"DEPLOY_TOKEN": secret}, env={"T": secret}), Collector()
    code = "import os, sys; t = os.environ['T']; print('x' * 65530 + t + 'y'); print(t, file=sys.stderr)"
    outcome = await run_process([sys.executable, "-c", code], ctx, writer(ctx, sink))
    assert outcome.status == "success"
    assert "".join(sink.of("stdout")) == "x" * 65530 + "***y"
    assert sink.of("stderr") == ["***"]
    assert not any(secret[:6] in text for _, text in sink.lines)


async def test_a_missing_program_fails_with_a_message(tmp_path: Path) -> None:
    ctx, sink = make_ctx(tmp_path), Collector()
    outcome = await run_process(["/nonexistent/tool"], ctx, writer(ctx, sink))
    assert outcome.status == "failed"
    assert "cannot start /nonexistent/tool" in (outcome.message or "")


async def test_a_failing_sink_stops_the_process_and_raises(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)

    async def broken(stream: str, text: str) -> None:
        raise RuntimeError("log store down")

    with pytest.raises(RuntimeError, match="log store down"):
        await asyncio.wait_for(
            run_process(["sh", "-c", "echo $$ > pid; echo hi; sleep 300"], ctx, ctx.writer(broken)), 10
        )
    assert_gone(int((tmp_path / "pid").read_text()))
