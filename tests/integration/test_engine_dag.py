"""The engine on the real path: API -> queue -> worker -> runners -> storage, on both backends."""

from __future__ import annotations

from datetime import datetime

from tests.support.client import ApiClient
from tests.support.flows import log_text, make_pipeline, make_project, run, steps_by_name, wait_for

PARALLEL = """
steps:
  - name: setup
    run: echo setup
  - name: left
    run: [sleep 1, echo left]
    needs: [setup]
  - name: right
    run: [sleep 1, echo right]
    needs: [setup]
  - name: join
    run: echo join
    needs: [left, right]
"""


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_parallel_branches_overlap_in_time(api: ApiClient) -> None:
    admin = await api.admin()
    project = await make_project(admin)
    pipeline = await make_pipeline(admin, project, PARALLEL)
    done = await wait_for(admin, (await run(admin, pipeline))["id"])
    assert done["status"] == "success"
    steps = steps_by_name(done)
    left, right = steps["left"], steps["right"]
    assert _ts(left["started_at"]) < _ts(right["finished_at"])
    assert _ts(right["started_at"]) < _ts(left["finished_at"])
    assert _ts(steps["join"]["started_at"]) >= max(_ts(left["finished_at"]), _ts(right["finished_at"]))
    text = await log_text(admin, done["id"])
    assert "left" in text and "right" in text and "join" in text


async def test_failed_step_skips_downstream_and_failure_handler_runs(api: ApiClient) -> None:
    admin = await api.admin()
    project = await make_project(admin)
    pipeline = await make_pipeline(
        admin,
        project,
        """
steps:
  - name: build
    run: exit 4
  - name: deploy
    run: echo should not run
  - name: on-fail
    run: echo cleaning up
    needs: [build]
    when: {status: failure}
""",
    )
    done = await wait_for(admin, (await run(admin, pipeline))["id"])
    steps = steps_by_name(done)
    assert done["status"] == "failed"
    assert steps["build"]["status"] == "failed" and steps["build"]["exit_code"] == 4
    assert steps["deploy"]["status"] == "skipped"
    assert steps["on-fail"]["status"] == "success"
