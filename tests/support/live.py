"""Live-server flows: pipelines over HTTP, WebSocket followers collecting every message."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def project_and_pipeline(client: httpx.AsyncClient, definition: str) -> tuple[str, str]:
    project = await client.post("/api/v1/projects", json={"name": f"live-{secrets.token_hex(4)}"})
    assert project.status_code == 201, project.text
    pid = project.json()["id"]
    pipeline = await client.post(f"/api/v1/projects/{pid}/pipelines", json={"name": "p", "definition": definition})
    assert pipeline.status_code == 201, pipeline.text
    return str(pid), str(pipeline.json()["id"])


async def start_run(client: httpx.AsyncClient, pipeline_id: str) -> str:
    response = await client.post(f"/api/v1/pipelines/{pipeline_id}/runs", json={})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def wait_final(client: httpx.AsyncClient, execution_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = (await client.get(f"/api/v1/executions/{execution_id}")).json()
        if detail["status"] in {"success", "failed", "cancelled", "timed_out"}:
            return dict(detail)
        await asyncio.sleep(0.2)
    raise AssertionError("execution did not finish")


async def stored_seqs(client: httpx.AsyncClient, execution_id: str) -> list[int]:
    seqs: list[int] = []
    after = 0
    while True:
        page = (
            await client.get(f"/api/v1/executions/{execution_id}/logs", params={"after_seq": after, "limit": 5000})
        ).json()
        seqs.extend(line["seq"] for line in page["lines"])
        if len(page["lines"]) < 5000:
            return seqs
        after = page["next_seq"]


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


class Follower:
    """Collect all messages of one socket until the server closes it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.close_code: int | None = None

    @property
    def log_seqs(self) -> list[int]:
        return [m["seq"] for m in self.messages if m["type"] == "log"]

    async def follow(
        self,
        url: str,
        token: str | None = None,
        *,
        stop_after_logs: int | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> Follower:
        extra = dict(headers or {})
        if token:
            extra["Authorization"] = f"Bearer {token}"
        async with asyncio.timeout(timeout):
            async with connect(url, additional_headers=extra, max_size=None, max_queue=None, ping_interval=None) as ws:
                try:
                    async for raw in ws:
                        self.messages.append(json.loads(raw))
                        if stop_after_logs is not None and len(self.log_seqs) >= stop_after_logs:
                            return self
                except ConnectionClosed:
                    pass
                self.close_code = ws.close_code
        return self
