"""Settings come from ANSFLOW_* only, and impossible combinations are refused with the setting to change."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.config import ConfigError, Settings


def test_embedded_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite+aiosqlite:///var/ansflow.db"
    assert settings.embedded_broker and settings.embedded_cache
    assert (settings.host, settings.port, settings.web_workers) == ("127.0.0.1", 8000, 1)


def test_production_urls_switch_each_subsystem() -> None:
    settings = Settings.from_env({
        "ANSFLOW_DATABASE_URL": "postgresql+asyncpg://u@h/db", "ANSFLOW_REDIS_URL": "redis://h:6379/0",
        "ANSFLOW_BROKER_URL": "amqp://g:g@h:5672/", "ANSFLOW_WEB_WORKERS": "4",
    })
    assert not settings.embedded_broker and not settings.embedded_cache and not settings.is_sqlite


@pytest.mark.parametrize(("env", "names"), [
    ({"ANSFLOW_WEB_WORKERS": "2"}, ["ANSFLOW_BROKER_URL", "ANSFLOW_REDIS_URL"]),
    ({"ANSFLOW_WEB_WORKERS": "2", "ANSFLOW_REDIS_URL": "redis://h/0"}, ["ANSFLOW_BROKER_URL"]),
    ({"ANSFLOW_WEB_WORKERS": "2", "ANSFLOW_REDIS_URL": "redis://h/0", "ANSFLOW_BROKER_URL": "amqp://h/"},
     ["ANSFLOW_DATABASE_URL"]),
    ({"ANSFLOW_DATABASE_URL": "mysql://x"}, ["ANSFLOW_DATABASE_URL"]),
    ({"ANSFLOW_BROKER_URL": "redis://x"}, ["ANSFLOW_BROKER_URL"]),
    ({"ANSFLOW_PORT": "eighty"}, ["ANSFLOW_PORT"]),
])
def test_impossible_combinations_are_refused(env: dict[str, str], names: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    for name in names:
        assert name in str(caught.value)


def test_secret_key_is_generated_once_with_mode_600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = Settings().resolved_secret_key()
    second = Settings().resolved_secret_key()
    assert first == second and len(first) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "var" / "secret.key").st_mode)
    assert mode == 0o600
    assert Settings(secret_key="given").resolved_secret_key() == "given"
