"""The ``docker`` step: the commands in a throwaway container, workspace mounted at /workspace.

Never pretends: a worker without the docker CLI, or whose engine does not answer, fails the
step saying so. Environment values reach the container as ``-e NAME`` with the value in the
docker CLI's own environment, so no value (secrets included) appears on a command line.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import uuid

from app.domain.logs.lines import LineSink
from app.domain.runners.base import DockerConfig, StepContext, StepOutcome, base_env, fail, option, remaining
from app.domain.runners.process import capture, run_process

PROBE_TIMEOUT_S = 20.0
CONTAINER_WORKSPACE = "/workspace"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _cli_env(ctx: StepContext, container_env: dict[str, str]) -> dict[str, str]:
    """Env of the docker CLI: the step env, the container's values, the worker's DOCKER_* settings."""
    env = base_env(ctx, container_env)
    env.update({k: v for k, v in os.environ.items() if k.startswith("DOCKER_")})
    return env


async def docker_problem(docker: str | None, env: dict[str, str], timeout_s: float) -> str | None:
    """Why docker cannot run steps here, or None when the engine answers."""
    if docker is None:
        return "docker CLI not found on this worker"
    code, text = await capture([docker, "info", "--format", "{{.ServerVersion}}"], env, timeout_s)
    if code == 0:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "docker engine not reachable: " + (lines[-1] if lines else f"docker info exited with {code}")


class DockerRunner:
    """Runs ``docker:`` steps."""

    async def run(self, config: DockerConfig, ctx: StepContext, sink: LineSink) -> StepOutcome:
        out = ctx.writer(sink)
        container_env = {**ctx.env, **dict(config.env or {}), "ANSFLOW_WORKSPACE": CONTAINER_WORKSPACE}
        bad = sorted(k for k in container_env if not _ENV_NAME.match(k))
        if bad:
            return await fail(out, f"invalid environment variable names: {', '.join(bad)}")
        env = _cli_env(ctx, container_env)
        docker = shutil.which("docker", path=env["PATH"])
        left = remaining(ctx)
        problem = await docker_problem(docker, env, PROBE_TIMEOUT_S if left is None else min(left, PROBE_TIMEOUT_S))
        if problem is not None or docker is None:
            return await fail(out, problem or "docker CLI not found on this worker")
        name = f"ansflow-{uuid.uuid4().hex[:16]}"
        commands: list[str] = list(option(config, "run", "commands") or [])
        workdir = posixpath.join(CONTAINER_WORKSPACE, option(config, "workdir") or "")
        argv = [
            docker, "run", "--rm", "--init", "--name", name,
            "--label", f"ansflow.execution={ctx.execution_id}",
            "--label", f"ansflow.step={ctx.step_name}",
            "-v", f"{ctx.workspace.resolve()}:{CONTAINER_WORKSPACE}",
            "-w", workdir.rstrip("/") or "/",
            *[arg for key in sorted(container_env) for arg in ("-e", key)],
            config.image,
        ]  # fmt: skip
        if commands:  # none: the image's own command
            argv += ["sh", "-e", "-c", "\n".join(commands)]
        await out.system(f"running in container {config.image}")
        outcome: StepOutcome | None = None
        try:
            outcome = await run_process(argv, ctx, out, env=env)
            return outcome
        finally:
            if outcome is None or outcome.status in ("cancelled", "timed_out"):
                # Killing the CLI does not stop the container: remove it explicitly.
                await capture([docker, "rm", "--force", name], env, PROBE_TIMEOUT_S)
