"""The ``ansible`` step: ``ansible-playbook`` run from the workspace.

Fails clearly on a worker without Ansible instead of skipping. The SSH key credential goes to
a 0600 temp file outside the workspace (``--private-key``), removed when the step ends.
"""

from __future__ import annotations

import json
import shutil
from contextlib import ExitStack

from app.domain.logs.lines import LineSink
from app.domain.runners.base import AnsibleConfig, StepContext, StepOutcome, base_env, fail
from app.domain.runners.credentials import is_ssh_key, ssh_key_file
from app.domain.runners.process import run_process

ANSIBLE_ENV = {
    "PYTHONUNBUFFERED": "1",  # lines as they happen, not when a buffer fills
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_FORCE_COLOR": "0",
    "ANSIBLE_RETRY_FILES_ENABLED": "0",
}


def ansible_argv(program: str, config: AnsibleConfig, private_key: str | None) -> list[str]:
    """The ansible-playbook command line for ``config``."""
    argv = [program, config.playbook]
    if config.inventory:
        argv += ["-i", config.inventory]
    if config.extra_vars:
        argv += ["-e", json.dumps(dict(config.extra_vars), separators=(",", ":"))]
    if config.tags:
        argv += ["--tags", ",".join(config.tags)]
    if config.limit:
        argv += ["--limit", config.limit]
    if config.check:
        argv.append("--check")
    if private_key:
        argv += ["--private-key", private_key]
    return argv


class AnsibleRunner:
    """Runs ``ansible:`` steps."""

    async def run(self, config: AnsibleConfig, ctx: StepContext, sink: LineSink) -> StepOutcome:
        out = ctx.writer(sink)
        env = base_env(ctx, ANSIBLE_ENV)
        program = shutil.which("ansible-playbook", path=env["PATH"])
        if program is None:
            return await fail(out, "ansible-playbook not found on this worker (install ansible-core there)")
        secret: str | None = None
        if config.credential:
            secret = ctx.secrets.get(config.credential)
            if secret is None:
                return await fail(out, f"credential {config.credential!r} is not available to this step")
            if not is_ssh_key(secret):
                return await fail(out, f"credential {config.credential!r} is not an SSH private key")
        with ExitStack() as stack:
            key = str(stack.enter_context(ssh_key_file(secret))) if secret is not None else None
            return await run_process(ansible_argv(program, config, key), ctx, out, env=env)
