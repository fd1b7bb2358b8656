"""Each step kind against real things: a local git repo, a local HTTP server, the real docker CLI."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import pytest

from app.domain.pipelines.spec import (
    AnsibleConfig,
    DockerConfig,
    GitConfig,
    HttpConfig,
    NotifyConfig,
    RunConfig,
)
from app.domain.runners.base import StepContext
from app.domain.runners.git import repository_identity
from app.domain.runners.registry import RUNNERS
from app.domain.runners.shell import shell_argv

TOKEN = "ghp_TestToken1234567890abcdef"


class Collector:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    async def __call__(self, stream: str, text: str) -> None:
        self.lines.append((stream, text))

    def of(self, stream: str) -> list[str]:
        return [t for s, t in self.lines if s == stream]

    def text(self) -> str:
        return "\n".join(t for _, t in self.lines)


def make_ctx(workspace: Path, **kwargs: Any) -> StepContext:
    workspace.mkdir(parents=True, exist_ok=True)
    return StepContext(execution_id="exec-1", step_name="step", workspace=workspace, **kwargs)


def write_exe(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def removed(path: str) -> bool:
    return not Path(path).exists()


# ---------------------------------------------------------------- run


async def test_run_stops_at_the_first_failing_command(tmp_path: Path) -> None:
    sink = Collector()
    outcome = await RUNNERS["run"].run(RunConfig(commands=["echo one", "false", "echo two"]), make_ctx(tmp_path), sink)
    assert outcome.status == "failed"
    assert outcome.exit_code == 1
    assert sink.of("stdout") == ["one"]


async def test_run_commands_share_one_shell(tmp_path: Path) -> None:
    sink = Collector()
    config = RunConfig(commands=["mkdir -p sub", "cd sub", "export X=1", 'echo "$X $(basename "$PWD")"'])
    outcome = await RUNNERS["run"].run(config, make_ctx(tmp_path), sink)
    assert outcome.status == "success"
    assert sink.of("stdout") == ["1 sub"]


class ShellRun(msgspec.Struct, frozen=True):
    commands: list[str]
    shell: str | None = None


async def test_run_with_bash_uses_pipefail(tmp_path: Path) -> None:
    sink = Collector()
    outcome = await RUNNERS["run"].run(ShellRun(["false | cat", "echo unreachable"], "bash"), make_ctx(tmp_path), sink)
    assert outcome.status == "failed"
    assert sink.of("stdout") == []


def test_shell_argv_variants() -> None:
    assert shell_argv(None, "x") == ["/bin/sh", "-e", "-c", "x"]
    assert shell_argv("python3 -u {0}", "x", "/tmp/s.py") == ["python3", "-u", "/tmp/s.py"]
    assert shell_argv("python3", "x") == ["python3", "-c", "x"]


# ---------------------------------------------------------------- git


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """main: v1 (tag v1.0) then v2; feature: main + feature.txt."""
    repo = tmp_path / "origin"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "version.txt").write_text("v1\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    _git(repo, "tag", "-a", "v1.0", "-m", "release 1.0")
    (repo / "version.txt").write_text("v2\n")
    _git(repo, "commit", "-q", "-am", "second")
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "feature.txt").write_text("feature\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "feature work")
    _git(repo, "checkout", "-q", "main")
    return repo


async def test_git_checks_out_the_default_branch_of_a_local_path(tmp_path: Path, origin: Path) -> None:
    ws, sink = tmp_path / "ws", Collector()
    outcome = await RUNNERS["git"].run(GitConfig(url=str(origin)), make_ctx(ws), sink)
    assert outcome.status == "success", sink.text()
    assert (ws / "version.txt").read_text() == "v2\n"
    assert _git(ws, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert any(line.startswith("HEAD is now at ") and line.endswith(" second") for line in sink.of("stdout"))


async def test_git_checks_out_a_tag_shallow_over_file_url(tmp_path: Path, origin: Path) -> None:
    ws, sink = tmp_path / "ws", Collector()
    config = GitConfig(url=origin.as_uri(), ref="v1.0", depth=1)
    outcome = await RUNNERS["git"].run(config, make_ctx(ws), sink)
    assert outcome.status == "success", sink.text()
    assert (ws / "version.txt").read_text() == "v1\n"
    assert _git(ws, "rev-parse", "--abbrev-ref", "HEAD") == "HEAD"  # detached
    assert _git(ws, "describe", "--tags") == "v1.0"
    assert (ws / ".git" / "shallow").exists()


async def test_git_checks_out_a_branch_as_a_local_branch(tmp_path: Path, origin: Path) -> None:
    ws, sink = tmp_path / "ws", Collector()
    outcome = await RUNNERS["git"].run(GitConfig(url=str(origin), ref="feature"), make_ctx(ws), sink)
    assert outcome.status == "success", sink.text()
    assert (ws / "feature.txt").exists()
    assert _git(ws, "rev-parse", "--abbrev-ref", "HEAD") == "feature"


async def test_git_checks_out_a_commit_id(tmp_path: Path, origin: Path) -> None:
    first = _git(origin, "rev-list", "--max-parents=0", "HEAD")
    ws, sink = tmp_path / "ws", Collector()
    outcome = await RUNNERS["git"].run(GitConfig(url=origin.as_uri(), ref=first, depth=1), make_ctx(ws), sink)
    assert outcome.status == "success", sink.text()
    assert _git(ws, "rev-parse", "HEAD") == first
    assert (ws / "version.txt").read_text() == "v1\n"


async def test_git_without_ref_builds_the_commit_a_webhook_reported(tmp_path: Path, origin: Path) -> None:
    """A push to ``feature`` builds that push, even though ``main`` is the default branch and
    ``feature`` moved on after the push; the step names the repository another way than the forge."""
    pushed = _git(origin, "rev-parse", "feature")
    _git(origin, "checkout", "-q", "feature")
    (origin / "later.txt").write_text("pushed after the webhook\n")
    _git(origin, "add", ".")
    _git(origin, "commit", "-q", "-m", "later")
    _git(origin, "checkout", "-q", "main")
    env = {"ANSFLOW_COMMIT": pushed, "ANSFLOW_REPO_URL": origin.as_uri() + ".git", "ANSFLOW_BRANCH": "feature"}
    ws, sink = tmp_path / "ws", Collector()
    outcome = await RUNNERS["git"].run(GitConfig(url=str(origin)), make_ctx(ws, env=env), sink)
    assert outcome.status == "success", sink.text()
    assert _git(ws, "rev-parse", "HEAD") == pushed
    assert (ws / "feature.txt").exists() and not (ws / "later.txt").exists()
    assert any("the commit that triggered this run" in line for line in sink.of("system")), sink.text()


async def test_git_without_ref_ignores_a_webhook_commit_of_another_repository(tmp_path: Path, origin: Path) -> None:
    env = {"ANSFLOW_COMMIT": "0" * 40, "ANSFLOW_REPO_URL": "https://github.com/someone/else.git"}
    ws, sink = tmp_path / "ws", Collector()
    outcome = await RUNNERS["git"].run(GitConfig(url=str(origin)), make_ctx(ws, env=env), sink)
    assert outcome.status == "success", sink.text()
    assert _git(ws, "rev-parse", "--abbrev-ref", "HEAD") == "main"


def test_repository_identity_matches_the_spellings_forges_use() -> None:
    same = ["https://GitHub.com/Owner/Repo.git", "git@github.com:owner/repo.git", "ssh://git@github.com/owner/repo/",
            "https://token@github.com:443/owner/repo"]
    assert len({repository_identity(url) for url in same}) == 1
    assert repository_identity("https://github.com/owner/repo") != repository_identity("https://gitlab.com/owner/repo")
    assert repository_identity("/srv/git/repo.git") == repository_identity("file:///srv/git/repo")


async def test_git_refetch_into_a_used_workspace_moves_to_the_new_ref(tmp_path: Path, origin: Path) -> None:
    ws = tmp_path / "ws"
    await RUNNERS["git"].run(GitConfig(url=str(origin), ref="feature"), make_ctx(ws), Collector())
    outcome = await RUNNERS["git"].run(GitConfig(url=str(origin), ref="v1.0"), make_ctx(ws), Collector())
    assert outcome.status == "success"
    assert (ws / "version.txt").read_text() == "v1\n"


async def test_git_unknown_ref_fails(tmp_path: Path, origin: Path) -> None:
    sink = Collector()
    outcome = await RUNNERS["git"].run(GitConfig(url=str(origin), ref="nope"), make_ctx(tmp_path / "ws"), sink)
    assert outcome.status == "failed"
    assert (outcome.message or "").startswith("git fetch:")


async def test_git_missing_credential_fails_clearly(tmp_path: Path, origin: Path) -> None:
    sink = Collector()
    config = GitConfig(url=str(origin), credential="deploy-key")
    outcome = await RUNNERS["git"].run(config, make_ctx(tmp_path / "ws"), sink)
    assert outcome.status == "failed"
    assert outcome.message == "credential 'deploy-key' is not available to this step"


class _AuthRepoHandler(SimpleHTTPRequestHandler):
    """Dumb-HTTP git server that insists on the token, and remembers what it was sent."""

    seen: list[str | None]
    expected: str

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def git_http(tmp_path: Path, origin: Path) -> Iterator[tuple[str, list[str | None]]]:
    bare = tmp_path / "served" / "repo.git"
    _git(tmp_path, "clone", "-q", "--bare", str(origin), str(bare))
    _git(bare, "update-server-info")
    seen: list[str | None] = []
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    handler = type(
        "Handler",
        (_AuthRepoHandler,),
        {"seen": seen, "expected": f"Basic {basic}", "__init__": _served_from(tmp_path / "served")},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/repo.git", seen
    finally:
        server.shutdown()
        server.server_close()


def _served_from(directory: Path) -> Any:
    def init(self: SimpleHTTPRequestHandler, *args: Any, **kwargs: Any) -> None:
        SimpleHTTPRequestHandler.__init__(self, *args, directory=str(directory), **kwargs)

    return init


async def test_git_token_is_sent_as_a_header_and_never_printed(
    tmp_path: Path, git_http: tuple[str, list[str | None]]
) -> None:
    url, seen = git_http
    ws, sink = tmp_path / "ws", Collector()
    # Make git as talkative as it gets, with its own redaction off: our masker must hold.
    env = {"GIT_TRACE": "1", "GIT_CURL_VERBOSE": "1", "GIT_TRACE_REDACT": "0"}
    ctx = make_ctx(ws, secrets={"git-token": TOKEN}, env=env)
    outcome = await RUNNERS["git"].run(GitConfig(url=url, ref="main", credential="git-token"), ctx, sink)
    assert outcome.status == "success", sink.text()
    assert (ws / "version.txt").read_text() == "v2\n"
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert f"Basic {basic}" in seen
    log = sink.text()
    assert TOKEN not in log
    assert basic not in log
    assert "Authorization: Basic " in log  # git did print the header line: masked, not absent


async def test_git_without_the_token_is_refused(tmp_path: Path, git_http: tuple[str, list[str | None]]) -> None:
    url, _ = git_http
    sink = Collector()
    outcome = await RUNNERS["git"].run(GitConfig(url=url, ref="main"), make_ctx(tmp_path / "ws"), sink)
    assert outcome.status == "failed"


async def test_git_ssh_key_goes_to_a_private_temp_file_outside_the_workspace(tmp_path: Path) -> None:
    bindir, record = tmp_path / "bin", tmp_path / "ssh-record.txt"
    write_exe(
        bindir / "ssh",
        f'while [ $# -gt 0 ]; do if [ "$1" = -i ]; then key=$2; fi; shift; done\n'
        f'echo "$key $(stat -c %a "$key") $(head -c 10 "$key")" > {record}\n'
        "exit 255\n",
    )
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAkeymaterial\n-----END OPENSSH PRIVATE KEY-----"
    ws, sink = tmp_path / "ws", Collector()
    ctx = make_ctx(ws, secrets={"deploy": key}, env={"PATH": f"{bindir}:{os.environ['PATH']}"})
    config = GitConfig(url="ssh://git@git.example.invalid/repo.git", ref="main", credential="deploy")
    outcome = await RUNNERS["git"].run(config, ctx, sink)
    assert outcome.status == "failed"
    key_path, mode, head = record.read_text().split(" ", 2)
    assert mode == "600"
    assert head.strip() == "-----BEGIN"
    assert not Path(key_path).is_relative_to(ws)
    assert removed(key_path)
    assert "AAAAkeymaterial" not in sink.text()


# ---------------------------------------------------------------- http


class _Api(SimpleHTTPRequestHandler):
    posts: list[Any]

    def _reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/ok":
            self._reply(200, "hello\nworld\n")
        elif self.path == "/many":
            self._reply(200, "".join(f"row {i}\n" for i in range(150)))
        elif self.path == "/down":
            self._reply(503, "maintenance")
        elif self.path == "/slow":
            time.sleep(3)
            with contextlib.suppress(OSError):  # the client gave up
                self._reply(200, "late")
        else:
            self._reply(404, "")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.posts.append(json.loads(self.rfile.read(length)))
        self._reply(500 if self.path == "/broken" else 200, "ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[tuple[str, list[Any]]]:
    posts: list[Any] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Api", (_Api,), {"posts": posts}))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", posts
    finally:
        server.shutdown()
        server.server_close()


async def test_http_expected_status_logs_request_and_body(tmp_path: Path, api: tuple[str, list[Any]]) -> None:
    base, _ = api
    sink = Collector()
    outcome = await RUNNERS["http"].run(HttpConfig(url=f"{base}/ok"), make_ctx(tmp_path), sink)
    assert outcome.status == "success"
    first = sink.of("system")[0]
    assert first.startswith(f"GET {base}/ok -> 200 (") and first.endswith(" ms)")
    assert sink.of("stdout") == ["hello", "world"]


async def test_http_unexpected_status_fails(tmp_path: Path, api: tuple[str, list[Any]]) -> None:
    base, _ = api
    sink = Collector()
    outcome = await RUNNERS["http"].run(HttpConfig(url=f"{base}/down"), make_ctx(tmp_path), sink)
    assert outcome.status == "failed"
    assert outcome.message == "expected status 200, got 503"
    assert sink.of("stdout") == ["maintenance"]
    ok = await RUNNERS["http"].run(HttpConfig(url=f"{base}/down", expect_status=[503]), make_ctx(tmp_path), sink)
    assert ok.status == "success"


async def test_http_long_body_is_shortened(tmp_path: Path, api: tuple[str, list[Any]]) -> None:
    base, _ = api
    sink = Collector()
    await RUNNERS["http"].run(HttpConfig(url=f"{base}/many"), make_ctx(tmp_path), sink)
    assert sink.of("stdout") == [f"row {i}" for i in range(100)]
    assert "(body shortened to its first 100 lines)" in sink.of("system")


async def test_http_timeout_is_timed_out(tmp_path: Path, api: tuple[str, list[Any]]) -> None:
    base, _ = api
    sink = Collector()
    outcome = await RUNNERS["http"].run(HttpConfig(url=f"{base}/slow", timeout=0.3), make_ctx(tmp_path), sink)
    assert outcome.status == "timed_out"
    step = await RUNNERS["http"].run(HttpConfig(url=f"{base}/slow"), make_ctx(tmp_path, timeout_s=0.3), sink)
    assert step.status == "timed_out"


async def test_http_connection_refused_fails(tmp_path: Path) -> None:
    sink = Collector()
    outcome = await RUNNERS["http"].run(HttpConfig(url="http://127.0.0.1:9/"), make_ctx(tmp_path), sink)
    assert outcome.status == "failed"
    assert "ConnectError" in (outcome.message or "")


# ---------------------------------------------------------------- notify


async def test_notify_without_url_logs_the_masked_message(tmp_path: Path) -> None:
    sink = Collector()
    ctx = make_ctx(tmp_path, secrets={"T": TOKEN})
    outcome = await RUNNERS["notify"].run(NotifyConfig(message=f"deployed with {TOKEN}"), ctx, sink)
    assert outcome.status == "success"
    assert sink.of("system") == ["notify: deployed with ***"]


async def test_notify_posts_json_text_to_the_webhook(tmp_path: Path, api: tuple[str, list[Any]]) -> None:
    base, posts = api
    sink = Collector()
    ctx = make_ctx(tmp_path, secrets={"T": TOKEN})
    outcome = await RUNNERS["notify"].run(NotifyConfig(message=f"v2 {TOKEN}", url=f"{base}/hook"), ctx, sink)
    assert outcome.status == "success"
    assert posts == [{"text": "v2 ***"}]
    assert "notification sent to 127.0.0.1 -> 200" in sink.of("system")
    failed = await RUNNERS["notify"].run(NotifyConfig(message="x", url=f"{base}/broken"), ctx, sink)
    assert failed.status == "failed"


# ---------------------------------------------------------------- docker


def _docker_engine_up() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    return subprocess.run([docker, "info"], capture_output=True, timeout=30).returncode == 0


async def test_docker_without_cli_fails_clearly(tmp_path: Path) -> None:
    sink = Collector()
    ctx = make_ctx(tmp_path / "ws", env={"PATH": str(tmp_path / "empty")})
    outcome = await RUNNERS["docker"].run(DockerConfig(image="alpine", run=["true"]), ctx, sink)
    assert outcome.status == "failed"
    assert outcome.message == "docker CLI not found on this worker"
    assert sink.of("system") == ["docker CLI not found on this worker"]


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI")
@pytest.mark.skipif(_docker_engine_up(), reason="a docker engine is running here")
async def test_docker_with_engine_down_fails_clearly(tmp_path: Path) -> None:
    sink = Collector()
    outcome = await RUNNERS["docker"].run(DockerConfig(image="alpine", run=["true"]), make_ctx(tmp_path), sink)
    assert outcome.status == "failed"
    assert (outcome.message or "").startswith("docker engine not reachable: ")
    assert len(outcome.message or "") > len("docker engine not reachable: ")


# ---------------------------------------------------------------- ansible


async def test_ansible_absent_fails_clearly(tmp_path: Path) -> None:
    sink = Collector()
    ctx = make_ctx(tmp_path / "ws", env={"PATH": str(tmp_path / "empty")})
    outcome = await RUNNERS["ansible"].run(AnsibleConfig(playbook="site.yml"), ctx, sink)
    assert outcome.status == "failed"
    assert (outcome.message or "").startswith("ansible-playbook not found on this worker")


async def test_ansible_command_line_and_private_key(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    write_exe(
        bindir / "ansible-playbook",
        'for a in "$@"; do echo "arg:$a"; done\n'
        'while [ $# -gt 0 ]; do if [ "$1" = --private-key ]; then key=$2; fi; shift; done\n'
        'echo "mode:$(stat -c %a "$key") unbuffered:$PYTHONUNBUFFERED"\n',
    )
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nkeybody\n-----END OPENSSH PRIVATE KEY-----\n"
    ws, sink = tmp_path / "ws", Collector()
    ctx = make_ctx(ws, secrets={"ssh-deploy": key}, env={"PATH": f"{bindir}:/usr/bin:/bin"})
    config = AnsibleConfig(
        playbook="deploy.yml",
        inventory="staging",
        credential="ssh-deploy",
        extra_vars={"v": "1", "n": 2},
        tags=["app", "db"],
        limit="web",
        check=True,
    )
    outcome = await RUNNERS["ansible"].run(config, ctx, sink)
    assert outcome.status == "success", sink.text()
    args = [line[4:] for line in sink.of("stdout") if line.startswith("arg:")]
    key_path = args[-1]
    assert args == [
        "deploy.yml", "-i", "staging", "-e", '{"v":"1","n":2}',
        "--tags", "app,db", "--limit", "web", "--check", "--private-key", key_path,
    ]  # fmt: skip
    assert "mode:600 unbuffered:1" in sink.of("stdout")
    assert not Path(key_path).is_relative_to(ws)
    assert removed(key_path)


async def test_ansible_rejects_a_token_as_ssh_credential(tmp_path: Path) -> None:
    write_exe(tmp_path / "bin" / "ansible-playbook", "exit 0\n")
    ctx = make_ctx(tmp_path / "ws", secrets={"tok": TOKEN}, env={"PATH": str(tmp_path / "bin")})
    outcome = await RUNNERS["ansible"].run(AnsibleConfig(playbook="p.yml", credential="tok"), ctx, Collector())
    assert outcome.status == "failed"
    assert outcome.message == "credential 'tok' is not an SSH private key"


def test_registry_covers_every_kind_but_approval() -> None:
    assert set(RUNNERS) == {"run", "git", "http", "docker", "ansible", "notify"}
