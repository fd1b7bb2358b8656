"""Cron schedules (both backends): the evaluation, called directly with a fixed 'now', starts a due
pipeline exactly once, also when evaluated again and from two concurrent evaluators with their own
database pools (as two worker processes would); missed slots catch up once, never one by one.

The 'now' used is far in the future, with crons that match no minute near today, so the schedule
loop running in the background workers (real clock) never fires these pipelines by itself. The
evaluators get runtimes built on the test's event loop (database pools are loop-bound; the app's
own runtime lives on the test client's loop); they send jobs through the app's broker, so the
executions they start run on the same workers as everything else.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.runtime import Runtime, build_runtime
from app.domain.triggers.schedules import evaluate_schedules, latest_slot
from tests.support.backends import BackendSet
from tests.support.client import ApiClient
from tests.support.flows import execution, log_text, make_pipeline, wait_for

NEW_YEAR = """
triggers:
  manual: false
  schedule: ["0 3 1 1 *"]
steps:
  - name: show
    run: echo "seen event=$ANSFLOW_EVENT branch=$ANSFLOW_BRANCH trigger=$ANSFLOW_TRIGGER"
"""
DAILY = """
triggers:
  schedule: ["30 4 * * *", "0 3 * * *"]
steps:
  - name: noop
    run: "true"
"""


@pytest.fixture
async def evaluators(api: ApiClient, backends: BackendSet) -> AsyncIterator[list[Runtime]]:
    """Two runtimes with their own pools, as two worker processes have."""
    app_rt: Runtime = api.app.state.runtime
    found = [build_runtime(backends.settings, app_rt.broker) for _ in range(2)]
    for rt in found:
        await rt.cache.init()
    yield found
    for rt in found:
        await rt.close()


async def project_on(admin: ApiClient, branch: str) -> str:
    response = await admin.post("/api/v1/projects", json={"name": f"cron-{secrets.token_hex(4)}",
                                                          "default_branch": branch})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def runs_of(admin: ApiClient, pipeline: str) -> list[dict[str, Any]]:
    response = await admin.get("/api/v1/executions", params={"pipeline_id": pipeline, "limit": 200})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def fire(rt: Runtime, admin: ApiClient, pipeline: str, now: datetime) -> list[str]:
    """Evaluate at ``now``; the executions started for ``pipeline`` (other tests' pipelines may be due too)."""
    started = await evaluate_schedules(rt, now)
    return [str(i) for i in started if (await execution(admin, str(i)))["pipeline_id"] == pipeline]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_latest_slot_is_the_due_minute_itself() -> None:
    assert latest_slot(["0 3 * * *"], at("2099-01-05T03:00:00")) == (at("2099-01-05T03:00:00"), "0 3 * * *")
    assert latest_slot(["0 3 * * *"], at("2099-01-05T02:59:59")) == (at("2099-01-04T03:00:00"), "0 3 * * *")
    assert latest_slot(["@hourly", "*/20 * * * *"], at("2099-01-05T12:45:10"))[0] == at("2099-01-05T12:40:00")
    assert latest_slot(["not a cron"], at("2099-01-05T12:45:10")) is None


async def test_a_due_schedule_starts_exactly_once(api: ApiClient, evaluators: list[Runtime]) -> None:
    admin = await api.admin()
    project = await project_on(admin, "trunk")
    pipeline = await make_pipeline(admin, project, NEW_YEAR)
    now = at("2099-01-01T03:00:30")
    rt = evaluators[0]
    first = await fire(rt, admin, pipeline, now)
    assert first == [r["id"] for r in await runs_of(admin, pipeline)] and len(first) == 1
    assert await fire(rt, admin, pipeline, now) == []
    assert await fire(evaluators[1], admin, pipeline, at("2099-01-01T03:00:50")) == []
    [run] = await runs_of(admin, pipeline)
    done = await wait_for(admin, run["id"])
    assert done["status"] == "success" and done["trigger"] == "schedule"
    assert "seen event=schedule branch=trunk trigger=schedule" in await log_text(admin, run["id"])


async def test_concurrent_evaluators_start_one_execution(api: ApiClient, evaluators: list[Runtime]) -> None:
    admin = await api.admin()
    project = await project_on(admin, "main")
    pipeline = await make_pipeline(admin, project, NEW_YEAR)
    now = at("2100-01-01T03:00:05")
    results = await asyncio.gather(*(fire(rt, admin, pipeline, now) for rt in (*evaluators, *evaluators)))
    started = [i for ids in results for i in ids]
    assert len(started) == 1, results
    assert [r["id"] for r in await runs_of(admin, pipeline)] == started
    await wait_for(admin, started[0])


async def test_missed_slots_catch_up_once_and_saving_never_fires_the_past(
    api: ApiClient, evaluators: list[Runtime]
) -> None:
    admin = await api.admin()
    project = await project_on(admin, "main")
    pipeline = await make_pipeline(admin, project, DAILY)
    rt = evaluators[0]
    assert await fire(rt, admin, pipeline, at("2000-01-01T03:00:10")) == []  # before the pipeline was saved
    assert await runs_of(admin, pipeline) == []
    # five days without a worker: only the latest slot (of the 04:30 expression) fires, once
    fired = await fire(rt, admin, pipeline, at("2099-01-05T12:00:00"))
    assert len(fired) == 1
    assert (await execution(admin, fired[0]))["trigger"] == "schedule"
    assert await fire(rt, admin, pipeline, at("2099-01-05T23:59:00")) == []
    assert len(await fire(rt, admin, pipeline, at("2099-01-06T03:00:20"))) == 1
    assert len(await fire(rt, admin, pipeline, at("2099-01-06T04:30:01"))) == 1
    assert len(await runs_of(admin, pipeline)) == 3
    for run in await runs_of(admin, pipeline):
        await wait_for(admin, run["id"])
