"""Helpers that drive the API like a user: make a project and pipeline, run it, wait for the end."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from tests.support.client import ApiClient

FINAL = {"success", "failed", "cancelled", "timed_out"}


async def make_project(api: ApiClient, name: str | None = None) -> str:
    response = await api.post("/api/v1/projects", json={"name": name or f"proj-{secrets.token_hex(4)}"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def make_pipeline(api: ApiClient, project_id: str, definition: str, name: str | None = None) -> str:
    response = await api.post(
        f"/api/v1/projects/{project_id}/pipelines",
        json={"name": name or f"pipe-{secrets.token_hex(4)}", "definition": definition},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def run(api: ApiClient, pipeline_id: str, **body: Any) -> dict[str, Any]:
    response = await api.post(f"/api/v1/pipelines/{pipeline_id}/runs", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def execution(api: ApiClient, execution_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/executions/{execution_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def wait_for(
    api: ApiClient, execution_id: str, statuses: set[str] | None = None, timeout: float = 60.0
) -> dict[str, Any]:
    """Poll until the execution reaches one of ``statuses`` (default: any final status)."""
    wanted = statuses or FINAL
    deadline = time.monotonic() + timeout
    while True:
        current = await execution(api, execution_id)
        if current["status"] in wanted:
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"execution stuck in {current['status']}: {current}")
        await asyncio.sleep(0.1)


async def wait_for_step(
    api: ApiClient, execution_id: str, step: str, status: str, timeout: float = 30.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        current = await execution(api, execution_id)
        found = next(s for s in current["steps"] if s["name"] == step)
        if found["status"] == status:
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"step {step} is {found['status']}, wanted {status}")
        await asyncio.sleep(0.1)


async def log_text(api: ApiClient, execution_id: str) -> str:
    response = await api.get(f"/api/v1/executions/{execution_id}/logs.txt")
    assert response.status_code == 200, response.text
    return response.text


def steps_by_name(detail: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in detail["steps"]}
