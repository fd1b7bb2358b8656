"""Execution retention (``execution_retention_days`` in the system settings): the sweeper deletes
finished executions past it, with their steps and logs, and a pipeline's status moves to the
newest run that is left."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import msgspec
import pytest
from sqlalchemy import func, select, update

from app.db.models.executions import Execution, ExecutionStep, LogLine
from app.db.models.webhooks import WebhookDelivery
from app.domain.executions.sweeper import SweepReport, sweep
from app.domain.runtime import Runtime
from app.lib.clock import utcnow
from tests.support.backends import BackendSet
from tests.support.client import ApiClient, running_app
from tests.support.flows import make_pipeline, make_project, run, wait_for

T = TypeVar("T")
ECHO = "steps:\n  - name: a\n    run: echo kept-or-not\n"


def in_app(api: ApiClient, fn: Callable[[Runtime], Awaitable[T]]) -> T:
    rt: Runtime = api.app.state.runtime
    result: T = api.client.blocking_portal.call(fn, rt)
    return result


async def test_executions_past_retention_are_removed_with_their_steps_and_logs(api: ApiClient) -> None:
    admin = await api.admin()
    pipeline = await make_pipeline(admin, await make_project(admin), ECHO)
    kept = (await run(admin, pipeline))["id"]
    await wait_for(admin, kept)
    old = (await run(admin, pipeline))["id"]
    await wait_for(admin, old)
    assert (await admin.get(f"/api/v1/pipelines/{pipeline}/status")).json()["execution_id"] == old

    async def age_and_sweep(rt: Runtime) -> tuple[SweepReport, int, int]:
        async with rt.sessionmaker() as session:
            await session.execute(update(Execution).where(Execution.id == old)
                                  .values(finished_at=utcnow() - timedelta(days=91)))
            await session.commit()
        report = await sweep(rt, execution_retention_days=90)
        async with rt.sessionmaker() as session:
            steps = await session.scalar(select(func.count()).select_from(ExecutionStep)
                                         .where(ExecutionStep.execution_id == old))
            lines = await session.scalar(select(func.count()).select_from(LogLine).where(LogLine.execution_id == old))
        return report, steps or 0, lines or 0

    report, steps, lines = in_app(api, age_and_sweep)
    assert report.executions_removed == 1
    assert (steps, lines) == (0, 0)
    assert (await admin.get(f"/api/v1/executions/{old}")).status_code == 404
    assert (await admin.get(f"/api/v1/executions/{kept}")).status_code == 200
    assert (await admin.get(f"/api/v1/pipelines/{pipeline}/status")).json()["execution_id"] == kept
    again, _, _ = in_app(api, age_and_sweep)
    assert again.executions_removed == 0


async def test_the_sweeper_applies_the_retention_days_of_the_system_settings(backends: BackendSet) -> None:
    """The in-process sweeper (embedded mode) reads ``execution_retention_days`` on each sweep."""
    if not backends.settings.embedded_broker:
        pytest.skip("the sweeper runs in the worker processes; the deletion itself is tested above")
    settings = msgspec.structs.replace(backends.settings, sweep_seconds=0.2)
    async with running_app(settings) as api:
        admin = await api.admin()
        current = (await admin.get("/api/v1/settings/system")).json()
        changed = await admin.put("/api/v1/settings/system", json={**current, "execution_retention_days": 30})
        assert changed.status_code == 200, changed.text
        try:
            pipeline = await make_pipeline(admin, await make_project(admin), ECHO)
            aged, recent = (await run(admin, pipeline))["id"], (await run(admin, pipeline))["id"]
            await wait_for(admin, aged)
            await wait_for(admin, recent)

            async def age(rt: Runtime) -> None:
                async with rt.sessionmaker() as session:
                    await session.execute(update(Execution).where(Execution.id == aged)
                                          .values(finished_at=utcnow() - timedelta(days=31)))
                    await session.commit()

            in_app(api, age)
            deadline = time.monotonic() + 30  # retention runs every RETENTION_EVERY-th sweep (4 s here)
            while (await admin.get(f"/api/v1/executions/{aged}")).status_code != 404:
                assert time.monotonic() < deadline, "the sweeper kept a run older than the retention"
                await asyncio.sleep(0.1)
            assert (await admin.get(f"/api/v1/executions/{recent}")).status_code == 200
        finally:
            await admin.put("/api/v1/settings/system", json=current)


async def test_webhook_deliveries_past_retention_are_removed(api: ApiClient) -> None:
    admin = await api.admin()
    project = uuid.UUID(await make_project(admin))

    async def deliveries_then_sweep(rt: Runtime) -> tuple[SweepReport, set[str]]:
        async with rt.sessionmaker() as session:
            for name, age in (("old", timedelta(days=91)), ("recent", timedelta(days=1))):
                session.add(WebhookDelivery(project_id=project, provider="github", event="push", delivery_id=name,
                                            status_code=202, result="accepted", created_at=utcnow() - age))
            await session.commit()
        report = await sweep(rt, execution_retention_days=90)
        async with rt.sessionmaker() as session:
            left = set(await session.scalars(select(WebhookDelivery.delivery_id)
                                             .where(WebhookDelivery.project_id == project)))
        return report, left

    report, left = in_app(api, deliveries_then_sweep)
    assert report.deliveries_removed >= 1
    assert left == {"recent"}
