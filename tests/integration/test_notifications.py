"""Finished runs are announced as the system settings say: failures (and timeouts) by default,
successes when ``notify_on_success`` is on, to the deployment's notification webhook."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.client import ApiClient
from tests.support.flows import make_pipeline, make_project, run, wait_for

FAILING = "steps:\n  - name: broken\n    run: exit 3\n"
PASSING = "steps:\n  - name: fine\n    run: echo fine\n"


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def chat() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/secret-path", received
    finally:
        server.shutdown()


async def _until(received: list[dict[str, Any]], count: int, within_s: float = 15.0) -> None:
    deadline = time.monotonic() + within_s
    while len(received) < count:
        assert time.monotonic() < deadline, f"{len(received)} of {count} notifications arrived: {received}"
        await asyncio.sleep(0.05)


async def test_the_notification_webhook_hears_what_the_settings_ask_for(
    api: ApiClient, chat: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = chat
    admin = await api.admin()
    current = (await admin.get("/api/v1/settings/system")).json()
    settings = {**current, "notification_webhook_url": url, "notify_on_failure": True, "notify_on_success": False}
    assert (await admin.put("/api/v1/settings/system", json=settings)).status_code == 200
    try:
        project = await make_project(admin)
        failing = await make_pipeline(admin, project, FAILING, name="nightly-broken")
        passing = await make_pipeline(admin, project, PASSING, name="nightly-fine")
        failed = (await run(admin, failing))["id"]
        assert (await wait_for(admin, failed))["status"] == "failed"
        await _until(received, 1)
        first = received[0]
        assert (first["status"], first["execution_id"], first["pipeline"], first["number"]) == (
            "failed", failed, "nightly-broken", 1)
        assert first["text"] == "nightly-broken #1 finished: failed"

        quiet = (await run(admin, passing))["id"]
        assert (await wait_for(admin, quiet))["status"] == "success"  # not announced: notify_on_success is off
        assert (await admin.put("/api/v1/settings/system",
                                json={**settings, "notify_on_success": True})).status_code == 200
        announced = (await run(admin, passing))["id"]
        await wait_for(admin, announced)
        await _until(received, 2)
        await asyncio.sleep(0.3)
        assert [r["execution_id"] for r in received] == [failed, announced], received
    finally:
        await admin.put("/api/v1/settings/system", json=current)
