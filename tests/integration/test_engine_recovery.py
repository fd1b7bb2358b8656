"""Crash recovery and idempotence: duplicate messages, a killed worker, a RabbitMQ restart."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import pytest

from app.config import Settings
from app.lib.jobs import send
from tests.support.backends import BackendSet
from tests.support.client import ApiClient, running_app
from tests.support.flows import log_text, make_pipeline, make_project, run, steps_by_name, wait_for, wait_for_step
from tests.support.workers import WorkerProcess


async def test_duplicate_message_does_not_run_a_step_twice(api: ApiClient, tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    admin = await api.admin()
    pipeline = await make_pipeline(
        admin,
        await make_project(admin),
        f"""
steps:
  - name: once
    run: [echo x >> {counter}, sleep 1]
""",
    )
    started = await run(admin, pipeline)
    rt = api.app.state.runtime
    await wait_for_step(admin, started["id"], "once", "running")
    send(rt.broker, rt.queues.executions, "executions.run", started["id"])  # redelivery while running
    done = await wait_for(admin, started["id"])
    send(rt.broker, rt.queues.executions, "executions.run", started["id"])  # redelivery after the end
    await asyncio.sleep(1)
    assert done["status"] == "success"
    assert counter.read_text().count("x") == 1
    assert (await log_text(admin, started["id"])).count("execution #") == 1


def _isolated(backends: BackendSet) -> Settings:
    """Same database, own queues (so only the workers this test starts consume them), short leases."""
    return msgspec.structs.replace(
        backends.settings, key_prefix=f"r{secrets.token_hex(4)}", lease_seconds=3.0, sweep_seconds=1.0
    )


@asynccontextmanager
async def _app(settings: Settings) -> AsyncIterator[ApiClient]:
    async with running_app(settings) as client:
        yield client


@pytest.mark.real_services
async def test_killed_worker_execution_is_rerun_by_the_sweeper(backends: BackendSet, tmp_path: Path) -> None:
    if backends.name != "real":
        pytest.skip("needs a separate dramatiq worker process on RabbitMQ")
    settings = _isolated(backends)
    marker = tmp_path / "attempts"
    async with _app(settings) as api:
        admin = await api.admin()
        pipeline = await make_pipeline(
            admin,
            await make_project(admin),
            f"""
steps:
  - name: slow
    run: [echo attempt >> {marker}, sleep 4, echo finished]
""",
        )
        first_worker = WorkerProcess(settings).start()
        try:
            started = await run(admin, pipeline)
            await wait_for_step(admin, started["id"], "slow", "running", timeout=60)
            for _ in range(300):  # the step's process itself has started (not only its status)
                if marker.exists():
                    break
                await asyncio.sleep(0.05)
        finally:
            first_worker.kill()
        with WorkerProcess(settings):
            done = await wait_for(admin, started["id"], timeout=90)
        assert done["status"] == "success"
        assert steps_by_name(done)["slow"]["status"] == "success"
        text = await log_text(admin, started["id"])
        assert "stopped renewing its lease" in text
        assert marker.read_text().count("attempt") == 2


async def _rabbitmqctl(command: str, check: bool = True) -> None:
    await asyncio.to_thread(subprocess.run, ["rabbitmqctl", command], check=check, capture_output=True, timeout=120)


@pytest.mark.real_services
async def test_rabbitmq_restart_every_execution_finishes_exactly_once(backends: BackendSet, tmp_path: Path) -> None:
    """Including a run requested while RabbitMQ is down."""
    if backends.name != "real":
        pytest.skip("needs RabbitMQ")
    settings = _isolated(backends)
    async with _app(settings) as api:
        admin = await api.admin()
        pipeline = await make_pipeline(
            admin,
            await make_project(admin),
            f"""
steps:
  - name: work
    run: [echo "$ANSFLOW_EXECUTION_ID" >> {tmp_path}/done, sleep 2]
""",
        )
        with WorkerProcess(settings, threads=2):
            ids = [(await run(admin, pipeline))["id"] for _ in range(4)]
            await wait_for_step(admin, ids[0], "work", "running", timeout=60)
            await _rabbitmqctl("stop_app")
            # a run requested while the broker is down is stored and answered 201; the sweeper sends it later
            late = await run(admin, pipeline)
            assert late["status"] == "queued"
            ids.append(late["id"])
            await asyncio.sleep(2)
            await _rabbitmqctl("start_app")
            await _rabbitmqctl("await_startup", check=False)
            finals = [await wait_for(admin, i, timeout=180) for i in ids]
        assert [f["status"] for f in finals] == ["success"] * 5
        lines = (tmp_path / "done").read_text().split()
        assert sorted(lines) == sorted(ids)
