"""Contract tests run every backend factory twice: on the in-process ("memory") backend and on the
real service. The memory flavour runs on every backend; the real flavour needs ``--backend=real``."""

from __future__ import annotations

import secrets

import pytest

from app.config import Settings
from app.db.migrate import upgrade
from tests.support.backends import BackendSet


@pytest.fixture(scope="session")
def memory_settings(backend_name: str, tmp_path_factory: pytest.TempPathFactory,
                    request: pytest.FixtureRequest) -> Settings:
    """Embedded defaults: SQLite (migrated), in-process cache, sessions, events and broker."""
    if backend_name == "embedded":
        embedded: BackendSet = request.getfixturevalue("backends")
        return embedded.settings
    root = tmp_path_factory.mktemp("contract-memory")
    settings = Settings(database_url=f"sqlite+aiosqlite:///{root / 'contract.db'}", secret_key="contract",
                        workspace_dir=str(root / "workspaces"), key_prefix=f"c{secrets.token_hex(4)}")
    upgrade(settings)
    return settings


@pytest.fixture(params=["memory", "real"])
def flavour(request: pytest.FixtureRequest, backend_name: str) -> str:
    if request.param == "real" and backend_name != "real":
        pytest.skip("the real-service flavour runs with --backend=real")
    return str(request.param)


@pytest.fixture
def contract_settings(flavour: str, request: pytest.FixtureRequest) -> Settings:
    if flavour == "memory":
        memory: Settings = request.getfixturevalue("memory_settings")
        return memory
    real: BackendSet = request.getfixturevalue("backends")
    assert real.settings.redis_url and real.settings.broker_url and not real.settings.is_sqlite
    return real.settings

