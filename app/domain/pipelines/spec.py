"""Pipeline definition (CONTRACT section 4) as msgspec Structs, and the YAML entry point.

The Structs hold already-validated, normalised values (durations in seconds, `run` as a list
of commands, scalars as strings) so the engine never re-interprets YAML.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Sequence
from typing import Any, Literal

import msgspec

from app.domain.pipelines.validate import check_definition

StepKind = Literal["run", "git", "ansible", "approval", "http", "notify", "docker"]
Priority = Literal["high", "normal", "low"]
WhenStatus = Literal["success", "failure", "always"]


class _Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Base: immutable, strict when decoded from stored JSON, compact when encoded."""


class RunConfig(_Spec, frozen=True):
    """Shell commands run in order in the workspace; the first failure fails the step."""

    commands: list[str]


class GitConfig(_Spec, frozen=True):
    """Clone or fetch a repository into the workspace; ref None means the run's ref/default."""

    url: str
    ref: str | None = None
    credential: str | None = None
    depth: int | None = None


class AnsibleConfig(_Spec, frozen=True):
    """ansible-playbook invocation; extra_vars keep their YAML types."""

    playbook: str
    inventory: str | None = None
    credential: str | None = None
    extra_vars: dict[str, Any] = {}
    tags: list[str] = []
    limit: str | None = None
    check: bool = False


class ApprovalConfig(_Spec, frozen=True):
    """Pause until a member with at least `role` approves; timeout in seconds (None: wait)."""

    role: Literal["guest", "reporter", "developer", "maintainer", "owner"] = "maintainer"
    timeout: float | None = None
    message: str | None = None


class HttpConfig(_Spec, frozen=True):
    """One HTTP request; the step succeeds when the status is in expect_status."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = {}
    body: str | None = None
    expect_status: list[int] = msgspec.field(default_factory=lambda: [200])
    timeout: float | None = None


class NotifyConfig(_Spec, frozen=True):
    """A message to users (channel) and/or a webhook (url)."""

    message: str
    url: str | None = None
    channel: str | None = None


class DockerConfig(_Spec, frozen=True):
    """Run commands in a container (workspace mounted); empty run = the image's own command."""

    image: str
    run: list[str] = []
    env: dict[str, str] = {}
    workdir: str | None = None


class WhenSpec(_Spec, frozen=True):
    """Conditions to run a step: branch globs, trigger events, upstream outcome."""

    branch: list[str] = []
    event: list[str] = []
    status: WhenStatus = "success"


StepConfig = RunConfig | GitConfig | AnsibleConfig | ApprovalConfig | HttpConfig | NotifyConfig | DockerConfig


class StepSpec(_Spec, frozen=True):
    """One step as written (before matrix expansion); exactly the field named by kind is set.

    needs None means "the step listed before" (see plan.expand_plan); durations are seconds.
    """

    name: str
    kind: StepKind
    run: RunConfig | None = None
    git: GitConfig | None = None
    ansible: AnsibleConfig | None = None
    approval: ApprovalConfig | None = None
    http: HttpConfig | None = None
    notify: NotifyConfig | None = None
    docker: DockerConfig | None = None
    needs: list[str] | None = None
    matrix: dict[str, list[str]] = {}
    env: dict[str, str] = {}
    timeout: float | None = None
    retries: int = 0
    retry_delay: float = 0.0
    allow_failure: bool = False
    when: WhenSpec = msgspec.field(default_factory=WhenSpec)

    @property
    def config(self) -> StepConfig:
        """The config of this step's kind."""
        config: StepConfig | None = getattr(self, self.kind)
        if config is None:  # only reachable for a hand-built, inconsistent StepSpec
            raise ValueError(f"step '{self.name}' has kind '{self.kind}' but no such config")
        return config


class BranchFilter(_Spec, frozen=True):
    """Branch globs a forge event must match (fnmatch: "release/*")."""

    branches: list[str] = msgspec.field(default_factory=lambda: ["*"])


class Triggers(_Spec, frozen=True):
    """What starts the pipeline; manual runs are allowed unless manual is false."""

    manual: bool = True
    push: BranchFilter | None = None
    pull_request: BranchFilter | None = None
    schedule: list[str] = []

    def matches(self, event: str, branch: str | None) -> bool:
        """Whether a forge event on branch should start the pipeline (push / pull_request)."""
        if event == "manual":
            return self.manual
        selected = {"push": self.push, "pull_request": self.pull_request}.get(event)
        return selected is not None and branch is not None and branch_matches(selected.branches, branch)


class PipelineSpec(_Spec, frozen=True):
    """A validated pipeline definition; timeout in seconds, concurrency None = unlimited."""

    steps: list[StepSpec]
    priority: Priority = "normal"
    timeout: float | None = None
    concurrency: int | None = None
    variables: dict[str, str] = {}
    triggers: Triggers = msgspec.field(default_factory=Triggers)
    secrets: list[str] = []


class SpecError(msgspec.Struct, frozen=True):
    """One validation problem: dotted path ("steps[2].needs"), 1-based line, message."""

    path: str
    line: int | None
    message: str


class ParseResult(msgspec.Struct, frozen=True):
    """Either a spec (errors empty) or every problem found (spec None)."""

    spec: PipelineSpec | None
    errors: list[SpecError]

    @property
    def valid(self) -> bool:
        """True when the definition had no errors."""
        return self.spec is not None and not self.errors


def branch_matches(patterns: Sequence[str], branch: str) -> bool:
    """Case-sensitive glob match of a branch against any pattern ("*" matches "/" too)."""
    return any(fnmatch.fnmatchcase(branch, pattern) for pattern in patterns)


def parse_definition(text: str, known_secrets: Collection[str] | None = None) -> ParseResult:
    """Parse and validate pipeline YAML, reporting every problem with its line.

    known_secrets: the project's secret names; None skips the existence check (e.g. when
    validating without a project).
    """
    data, issues = check_definition(text, known_secrets)
    if data is None or issues:
        errors = [SpecError(issue.path, issue.line, issue.message) for issue in issues]
        errors.sort(key=lambda error: error.line or 0)
        return ParseResult(None, errors)
    try:
        spec = msgspec.convert(data, PipelineSpec)
    except msgspec.ValidationError as exc:  # a validator gap: still an error, never a crash
        return ParseResult(None, [SpecError("", None, f"invalid definition: {exc}")])
    return ParseResult(spec, [])
