"""The ``git`` step: check out a repository at a ref into the step's workspace.

``init`` + ``fetch <ref>`` + ``checkout FETCH_HEAD`` rather than ``clone``: it works in a
workspace that already has files, and with a branch, a tag or a commit id alike. A branch is
checked out as a local branch of that name (build tools read it), a tag or commit detached.

Without a ``ref``, a run started by a forge webhook checks out the very commit that triggered it
(``ANSFLOW_COMMIT``) when the step's repository is the one the webhook came from
(``ANSFLOW_REPO_URL``): a push to ``feature`` builds that push, not the default branch as it is by
the time the step runs. Any other step without a ``ref`` takes the remote's default branch.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import unquote, urlsplit

from app.domain.logs.lines import LineSink, LineWriter
from app.domain.runners.base import GitConfig, StepContext, StepOutcome, base_env, fail, remaining
from app.domain.runners.credentials import display_url, git_ssh_command, git_token_env, is_ssh_key, ssh_key_file
from app.domain.runners.process import capture, run_process

PROBE_TIMEOUT_S = 60.0
_FETCH_HEAD = re.compile(r"^(?P<sha>[0-9a-f]{40,64})\t[^\t]*\t(?P<kind>branch|tag) '(?P<name>.+)' of ")
_SYMREF = re.compile(r"^ref: refs/heads/(?P<name>\S+)\tHEAD$", re.MULTILINE)
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")  # git@host:owner/repo.git
_COMMIT = re.compile(r"^[0-9a-fA-F]{7,64}$")


def _fetched(workspace: Path) -> tuple[str, str, str] | None:
    """(kind, name, sha) of what the last fetch got, from .git/FETCH_HEAD."""
    try:
        first = (workspace / ".git" / "FETCH_HEAD").read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        return None
    match = _FETCH_HEAD.match(first)
    return (match["kind"], match["name"], match["sha"]) if match else None


def repository_identity(url: str) -> str:
    """One spelling per repository: ``https://Host/o/r.git``, ``git@host:o/r`` and ``ssh://git@host/o/r/``
    all give ``host/o/r``; local paths and ``file://`` URLs give the resolved path."""
    text = url.strip()
    if "://" in text:
        parsed = urlsplit(text)
        if parsed.scheme == "file":
            return str(Path(unquote(parsed.path)).resolve()).removesuffix(".git")
        host, path = (parsed.hostname or ""), parsed.path
    elif (match := _SCP_LIKE.match(text)) is not None:
        host, path = match["host"], match["path"]
    else:
        return str(Path(text).resolve()).removesuffix(".git")
    path = path.strip("/").removesuffix(".git").strip("/")
    return f"{host.lower()}/{path.lower()}"


def triggering_commit(url: str, env: dict[str, str]) -> str | None:
    """The webhook commit this run was started for, if the step checks out that same repository."""
    commit, repo = env.get("ANSFLOW_COMMIT"), env.get("ANSFLOW_REPO_URL")
    if not commit or not repo or not _COMMIT.match(commit):
        return None
    return commit if repository_identity(url) == repository_identity(repo) else None


class GitRunner:
    """Runs ``git:`` steps."""

    async def run(self, config: GitConfig, ctx: StepContext, sink: LineSink) -> StepOutcome:
        out = ctx.writer(sink)
        secret: str | None = None
        if config.credential:
            secret = ctx.secrets.get(config.credential)
            if secret is None:
                return await fail(out, f"credential {config.credential!r} is not available to this step")
        env = base_env(ctx, {"GIT_TERMINAL_PROMPT": "0"})
        with ExitStack() as stack:
            if secret is not None:
                if is_ssh_key(secret):
                    env["GIT_SSH_COMMAND"] = git_ssh_command(stack.enter_context(ssh_key_file(secret)))
                else:
                    env.update(git_token_env(config.url, secret))
            return await self._checkout(config, ctx, out, env)

    async def _checkout(self, config: GitConfig, ctx: StepContext, out: LineWriter, env: dict[str, str]) -> StepOutcome:
        ref = config.ref or triggering_commit(config.url, ctx.env)
        if ref is not None and config.ref is None:
            await out.system(f"checking out {display_url(config.url)} at {ref}, the commit that triggered this run")
        else:
            await out.system(f"checking out {display_url(config.url)} at {ref or 'its default branch'}")
        for verb, argv in (
            ("init", ["git", "-c", "init.defaultBranch=main", "init", "-q"]),
            ("config", ["git", "config", "remote.origin.url", config.url]),
        ):
            outcome = await self._git(verb, argv, ctx, out, env)
            if outcome.status != "success":
                return outcome
        if ref is None:
            ref = await self._default_branch(ctx, env)
        depth = ["--depth", str(config.depth)] if config.depth else []
        outcome = await self._git("fetch", ["git", "fetch", "--no-tags", *depth, "origin", ref], ctx, out, env)
        if outcome.status != "success":
            return outcome
        fetched = _fetched(ctx.workspace)
        commands: list[tuple[str, list[str]]]
        if fetched and fetched[0] == "branch":
            name = fetched[1]
            commands = [
                ("update-ref", ["git", "update-ref", f"refs/remotes/origin/{name}", "FETCH_HEAD"]),
                ("checkout", ["git", "checkout", "-q", "--force", "-B", name, "FETCH_HEAD"]),
            ]
        else:
            commands = [("checkout", ["git", "checkout", "-q", "--force", "--detach", "FETCH_HEAD"])]
            if fetched:  # a tag: keep it as a tag, so `git describe` works
                commands.insert(0, ("update-ref", ["git", "update-ref", f"refs/tags/{fetched[1]}", fetched[2]]))
        commands.append(("log", ["git", "log", "-1", "--format=HEAD is now at %h %s"]))
        for verb, argv in commands:
            outcome = await self._git(verb, argv, ctx, out, env)
            if outcome.status != "success":
                return outcome
        return outcome

    async def _default_branch(self, ctx: StepContext, env: dict[str, str]) -> str:
        """The remote's default branch name, or "HEAD" where the remote does not say."""
        left = remaining(ctx)
        timeout = PROBE_TIMEOUT_S if left is None else min(left, PROBE_TIMEOUT_S)
        code, text = await capture(
            ["git", "ls-remote", "--symref", "origin", "HEAD"], env, timeout, cwd=str(ctx.workspace)
        )
        match = _SYMREF.search(text) if code == 0 else None
        return match["name"] if match else "HEAD"

    async def _git(
        self, verb: str, argv: list[str], ctx: StepContext, out: LineWriter, env: dict[str, str]
    ) -> StepOutcome:
        outcome = await run_process(argv, ctx, out, env=env)
        if outcome.status != "failed":
            return outcome
        return StepOutcome(status="failed", exit_code=outcome.exit_code, message=f"git {verb}: {outcome.message}")
