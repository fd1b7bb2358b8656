"""``GET /metrics``: parses with the Prometheus text parser, carries every promised family, labels
requests by route template, honours ANSFLOW_METRICS_TOKEN, and merges processes in multiprocess mode.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from app.lib.metrics_batch import FLUSH_S
from tests.support.backends import BackendSet
from tests.support.client import ApiClient, running_app
from tests.support.flows import make_pipeline, make_project, run, wait_for
from tests.support.server import LiveServer, admin_token, live_client
from tests.support.workers import WorkerProcess

FAMILIES = {
    "ansflow_http_requests", "ansflow_http_request_duration_seconds", "ansflow_cache_hits",
    "ansflow_cache_misses", "ansflow_db_pool_connections_in_use", "ansflow_db_pool_overflow",
    "ansflow_db_pool_size", "ansflow_queue_depth", "ansflow_queue_latency_seconds", "ansflow_executions",
    "ansflow_step_duration_seconds", "ansflow_websocket_connections", "ansflow_worker_lease_age_seconds",
    "ansflow_cache_backend_errors", "ansflow_cache_bypassed",
}


def parse(text: str) -> dict[str, list[Sample]]:
    families: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        families.setdefault(family.name, []).extend(family.samples)
    return families


def value(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


async def test_metrics_parse_and_carry_every_family(api: ApiClient, backends: BackendSet) -> None:
    admin = await api.admin()
    pipeline = await make_pipeline(admin, await make_project(admin), "steps:\n  - name: a\n    run: echo hi\n")
    for _ in range(2):
        assert (await admin.get(f"/api/v1/pipelines/{pipeline}/status")).status_code == 200
    await wait_for(admin, (await run(admin, pipeline))["id"])
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = parse(response.text)
    assert families.keys() >= FAMILIES, sorted(FAMILIES - families.keys())
    assert value(families["ansflow_cache_hits"], "ansflow_cache_hits_total", cache="pipeline-status") >= 1
    assert value(families["ansflow_cache_misses"], "ansflow_cache_misses_total", cache="pipeline-status") >= 1
    assert value(families["ansflow_executions"], "ansflow_executions", status="success") >= 1
    assert value(families["ansflow_db_pool_size"], "ansflow_db_pool_size") > 0
    if backends.name == "embedded":  # the worker runs in this process; on RabbitMQ it is another process
        assert value(families["ansflow_step_duration_seconds"], "ansflow_step_duration_seconds_count") >= 1
        assert value(families["ansflow_queue_latency_seconds"], "ansflow_queue_latency_seconds_count") >= 1


async def test_requests_are_labelled_by_route_template(api: ApiClient) -> None:
    admin = await api.admin()
    missing = uuid.uuid4()
    assert (await admin.get(f"/api/v1/projects/{missing}")).status_code == 404
    families = parse((await api.get("/metrics")).text)
    requests = families["ansflow_http_requests"]
    assert value(requests, "ansflow_http_requests_total", route="/api/v1/projects/{project_id}", method="GET",
                 status="404") >= 1
    assert not [s for s in requests if str(missing) in s.labels.get("route", "")]
    latency = families["ansflow_http_request_duration_seconds"]
    assert value(latency, "ansflow_http_request_duration_seconds_count", route="/api/v1/projects/{project_id}") >= 1


async def test_metrics_token_is_required_when_configured(backends: BackendSet) -> None:
    token = secrets.token_urlsafe(16)
    async with running_app(msgspec.structs.replace(backends.settings, metrics_token=token)) as api:
        assert (await api.get("/metrics")).status_code == 401
        assert (await api.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        allowed = await api.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200
        assert "ansflow_http_requests_total" in allowed.text
        api.client.cookies.clear()


@contextmanager
def multiprocess_dir() -> Iterator[str]:
    """Exported to the server processes only: this test process keeps its own registry."""
    directory = tempfile.mkdtemp(prefix="prom-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    try:
        yield directory
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]


@pytest.mark.real_services
async def test_multiprocess_metrics_merge_every_web_worker(
    backends: BackendSet, worker_process: WorkerProcess | None
) -> None:
    if backends.name != "real":
        pytest.skip("several granian workers need Redis, RabbitMQ and PostgreSQL")
    with multiprocess_dir(), LiveServer(backends.settings, workers=2) as server:
        token = admin_token(server)
        async with live_client(server, token) as client:
            before = parse((await client.get("/metrics")).text)
            sent = 40
            for _ in range(sent):  # new connections, so both workers take some
                async with httpx.AsyncClient(base_url=server.url) as one:
                    assert (await one.get("/health")).status_code == 200
            # each worker writes its batched counts within FLUSH_S (metrics_batch.py), scraped or not
            deadline, counted = time.monotonic() + 10 * FLUSH_S, 0.0
            while True:
                after = parse((await client.get("/metrics")).text)
                counted = (value(after["ansflow_http_requests"], "ansflow_http_requests_total", route="/health")
                           - value(before.get("ansflow_http_requests", []), "ansflow_http_requests_total",
                                   route="/health"))
                if counted >= sent or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
    assert counted == sent  # every worker's requests, whichever worker answered the scrape
