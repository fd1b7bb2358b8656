"""Step kind -> runner. ``approval`` is not here: the engine handles it without a process."""

from __future__ import annotations

from app.domain.runners.ansible import AnsibleRunner
from app.domain.runners.base import Runner
from app.domain.runners.docker import DockerRunner
from app.domain.runners.git import GitRunner
from app.domain.runners.http import HttpRunner
from app.domain.runners.notify import NotifyRunner
from app.domain.runners.shell import ShellRunner

RUNNERS: dict[str, Runner] = {
    "run": ShellRunner(),
    "git": GitRunner(),
    "http": HttpRunner(),
    "docker": DockerRunner(),
    "ansible": AnsibleRunner(),
    "notify": NotifyRunner(),
}
