"""The ``run`` step: the commands as one shell script with ``set -e``.

The commands are joined with newlines into one script, so ``cd`` and ``export`` carry over
from one command to the next (as in GitLab's ``script``) and the first failing command stops
the step with its exit code.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import tempfile

from app.domain.logs.lines import LineSink
from app.domain.runners.base import RunConfig, StepContext, StepOutcome, option
from app.domain.runners.process import run_process

DEFAULT_SHELL = "/bin/sh"
SH_LIKE = frozenset({"sh", "dash", "ash", "ksh", "zsh"})


def shell_argv(shell: str | None, script: str, script_file: str | None = None) -> list[str]:
    """Command line running ``script`` with ``shell`` and fail-fast semantics.

    ``shell`` is a program name or a command line; with a ``{0}`` placeholder (as in GitHub
    Actions) the placeholder is replaced by ``script_file``, which holds the script.
    """
    parts = shlex.split(shell) if shell else [DEFAULT_SHELL]
    if "{0}" in parts:
        if script_file is None:
            raise ValueError("a shell with {0} needs the script written to a file")
        return [script_file if p == "{0}" else p for p in parts]
    name = os.path.basename(parts[0])
    if name == "bash":
        return [*parts, "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script]
    if name in SH_LIKE:
        return [*parts, "-e", "-c", script]
    return [*parts, "-c", script]  # python3, pwsh, node -e style interpreters


class ShellRunner:
    """Runs ``run:`` steps."""

    async def run(self, config: RunConfig, ctx: StepContext, sink: LineSink) -> StepOutcome:
        out = ctx.writer(sink)
        script = "\n".join(config.commands)
        if not script.strip():
            await out.system("no commands to run")
            return StepOutcome(status="success", exit_code=0)
        shell: str | None = option(config, "shell")
        script_file: str | None = None
        try:
            if shell and "{0}" in shell:
                fd, script_file = tempfile.mkstemp(prefix="ansflow-step-", suffix=".script")
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(script + "\n")
            return await run_process(shell_argv(shell, script, script_file), ctx, out)
        finally:
            if script_file is not None:
                with contextlib.suppress(OSError):
                    os.unlink(script_file)
