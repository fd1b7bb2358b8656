"""Test harness: the same suite runs on embedded defaults or on PostgreSQL + Redis + RabbitMQ.

Select with ``--backend=embedded`` (default) or ``--backend=real`` (or ANSFLOW_TEST_BACKEND).
Real runs create a throw-away PostgreSQL database and use a unique key/queue prefix, so runs
never collide. With CI=true an unreachable service fails the run instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.backends import BackendSet, embedded_backends, real_backends
from tests.support.client import ApiClient, running_app
from tests.support.server import LiveServer, admin_token, live_client
from tests.support.workers import WorkerProcess


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        default=os.environ.get("ANSFLOW_TEST_BACKEND", "embedded"),
        choices=["embedded", "real"],
        help="embedded defaults or real services",
    )


@pytest.fixture(scope="session")
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--backend"))


@pytest.fixture(scope="session")
def backends(backend_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendSet]:
    root = tmp_path_factory.mktemp("ansflow")
    if backend_name == "real":
        with real_backends(root) as found:
            yield found
    else:
        with embedded_backends(root) as found:
            yield found


@pytest.fixture(scope="session")
def worker_process(backends: BackendSet) -> Iterator[WorkerProcess | None]:
    """Real mode: a separate ``dramatiq workers.app`` process; embedded mode runs workers in the app."""
    if backends.settings.embedded_broker:
        yield None
        return
    with WorkerProcess(backends.settings) as worker:
        yield worker


@pytest.fixture
async def api(backends: BackendSet, worker_process: WorkerProcess | None) -> AsyncIterator[ApiClient]:
    async with running_app(backends.settings) as client:
        yield client


@pytest.fixture
def workspace_root(backends: BackendSet) -> Path:
    return Path(backends.settings.workspace_dir)


@pytest.fixture(scope="session")
def live_server(backends: BackendSet, worker_process: WorkerProcess | None) -> Iterator[LiveServer]:
    """granian serving the app in a subprocess (with a separate worker process on real services)."""
    with LiveServer(backends.settings) as server:
        yield server


@pytest.fixture(scope="session")
def live_token(live_server: LiveServer) -> str:
    return admin_token(live_server)


@pytest.fixture
async def live(live_server: LiveServer, live_token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with live_client(live_server, live_token) as client:
        yield client
