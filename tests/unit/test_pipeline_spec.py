"""Pipeline YAML parsing and validation: normalised values, and every error with its line."""

from __future__ import annotations

import textwrap

import msgspec
import pytest

from app.domain.pipelines.durations import parse_duration
from app.domain.pipelines.spec import (
    BranchFilter,
    ParseResult,
    PipelineSpec,
    RunConfig,
    SpecError,
    Triggers,
    parse_definition,
)

CONTRACT_EXAMPLE = """\
priority: normal            # high | normal | low  -> RabbitMQ message priority
timeout: 1h                 # whole execution
concurrency: 1
variables: {APP_ENV: staging}
triggers:                   # default: manual only
  manual: true
  push: {branches: [main, "release/*"]}
  pull_request: {branches: [main]}
  schedule: ["0 3 * * *"]   # cron, UTC
secrets: [DEPLOY_TOKEN]
steps:
  - name: checkout
    git: {url: "https://example.com/repo.git", ref: main, credential: git-token}
  - name: unit
    run: pytest -q
    needs: [checkout]
    matrix: {PY: ["3.11", "3.12"]}
    env: {PYTHONDONTWRITEBYTECODE: "1"}
    timeout: 10m
    retries: 2
    retry_delay: 5s
    allow_failure: false
    when: {branch: [main], event: [push, manual], status: success}
  - name: approve
    approval: {role: maintainer, timeout: 24h}
  - name: deploy
    ansible: {playbook: deploy.yml, inventory: staging, credential: ssh-deploy,
              extra_vars: {v: "1"}, tags: [app], limit: web, check: false}
  - name: smoke
    http: {url: "http://example.com/health", method: GET, expect_status: 200}
"""


def parse(text: str, known_secrets: set[str] | None = None) -> ParseResult:
    return parse_definition(textwrap.dedent(text), known_secrets)


def spec_of(text: str) -> PipelineSpec:
    result = parse(text)
    assert result.errors == []
    assert result.spec is not None
    return result.spec


def errors_of(text: str, known_secrets: set[str] | None = None) -> list[tuple[str, int | None, str]]:
    result = parse(text, known_secrets)
    assert result.spec is None
    assert not result.valid
    return [(error.path, error.line, error.message) for error in result.errors]


def single_error(text: str, known_secrets: set[str] | None = None) -> tuple[str, int | None, str]:
    errors = errors_of(text, known_secrets)
    assert len(errors) == 1, errors
    return errors[0]


# --- valid definitions -------------------------------------------------------------------


def test_contract_example_parses_into_normalised_values() -> None:
    result = parse_definition(CONTRACT_EXAMPLE, known_secrets={"DEPLOY_TOKEN"})
    assert result.valid and result.errors == []
    spec = result.spec
    assert spec is not None
    assert (spec.priority, spec.timeout, spec.concurrency) == ("normal", 3600.0, 1)
    assert spec.variables == {"APP_ENV": "staging"}
    assert spec.triggers == Triggers(
        manual=True,
        push=BranchFilter(branches=["main", "release/*"]),
        pull_request=BranchFilter(branches=["main"]),
        schedule=["0 3 * * *"],
    )
    assert spec.secrets == ["DEPLOY_TOKEN"]
    checkout, unit, approve, deploy, smoke = spec.steps
    assert checkout.kind == "git" and checkout.git is not None
    assert (checkout.git.url, checkout.git.ref, checkout.git.credential) == (
        "https://example.com/repo.git",
        "main",
        "git-token",
    )
    assert checkout.needs is None
    assert unit.config == RunConfig(commands=["pytest -q"])
    assert unit.needs == ["checkout"]
    assert unit.matrix == {"PY": ["3.11", "3.12"]}
    assert (unit.timeout, unit.retries, unit.retry_delay, unit.allow_failure) == (600.0, 2, 5.0, False)
    assert (unit.when.branch, unit.when.event, unit.when.status) == (["main"], ["push", "manual"], "success")
    assert approve.approval is not None
    assert (approve.approval.role, approve.approval.timeout) == ("maintainer", 86400.0)
    assert deploy.ansible is not None
    assert deploy.ansible.extra_vars == {"v": "1"}
    assert (deploy.ansible.tags, deploy.ansible.limit, deploy.ansible.check) == (["app"], "web", False)
    assert smoke.http is not None
    assert (smoke.http.method, smoke.http.expect_status) == ("GET", [200])


def test_defaults_for_a_minimal_definition() -> None:
    spec = spec_of("steps: [{name: a, run: echo hi}]")
    assert (spec.priority, spec.timeout, spec.concurrency) == ("normal", None, None)
    assert spec.triggers == Triggers(manual=True, push=None, pull_request=None, schedule=[])
    step = spec.steps[0]
    assert (step.retries, step.retry_delay, step.allow_failure, step.timeout) == (0, 0.0, False, None)
    assert (step.when.status, step.when.branch, step.when.event) == ("success", [], [])


def test_every_kind_and_its_short_forms() -> None:
    spec = spec_of(
        """\
        steps:
          - name: sh
            run: [make, make test]
          - name: say
            notify: deployed
          - name: hook
            notify: {message: done, url: "https://chat.example/hook", channel: ops}
          - name: box
            docker: {image: "python:3.12", run: pytest, env: {CI: true}, workdir: /src}
          - name: gate
            approval:
          - name: ping
            http: {url: "http://x/", method: post, expect_status: [200, 204], headers: {X-N: 1}, body: "{}"}
        """
    )
    sh, say, hook, box, gate, ping = spec.steps
    assert sh.run == RunConfig(commands=["make", "make test"])
    assert say.notify is not None and say.notify.message == "deployed"
    assert hook.notify is not None and (hook.notify.url, hook.notify.channel) == ("https://chat.example/hook", "ops")
    assert box.docker is not None
    assert (box.docker.image, box.docker.run, box.docker.env, box.docker.workdir) == (
        "python:3.12",
        ["pytest"],
        {"CI": "true"},
        "/src",
    )
    assert gate.approval is not None and (gate.approval.role, gate.approval.timeout) == ("maintainer", None)
    assert ping.http is not None
    assert (ping.http.method, ping.http.expect_status, ping.http.headers) == ("POST", [200, 204], {"X-N": "1"})


def test_scalars_are_kept_as_written() -> None:
    spec = spec_of(
        """\
        variables: {V: 3.10, N: 007, B: yes}
        steps:
          - name: unit
            run: pytest
            matrix: {PY: [3.10, 3.9]}
        """
    )
    assert spec.variables == {"V": "3.10", "N": "007", "B": "yes"}
    assert spec.steps[0].matrix == {"PY": ["3.10", "3.9"]}


def test_needs_may_name_a_matrix_step_by_its_base_name() -> None:
    spec = spec_of(
        """\
        steps:
          - name: unit
            run: pytest
            matrix: {PY: ["3.11", "3.12"]}
          - name: report
            run: echo
            needs: [unit]
        """
    )
    assert spec.steps[1].needs == ["unit"]


def test_anchors_and_merge_keys_are_supported() -> None:
    spec = spec_of(
        """\
        steps:
          - &base
            name: a
            run: echo
            timeout: 1m
          - <<: *base
            name: b
        """
    )
    assert [(step.name, step.timeout) for step in spec.steps] == [("a", 60.0), ("b", 60.0)]


def test_triggers_forms_and_matching() -> None:
    spec = spec_of(
        """\
        triggers:
          manual: false
          push: true
          pull_request: {branches: ["release/*"]}
          schedule: "@daily"
        steps: [{name: a, run: x}]
        """
    )
    triggers = spec.triggers
    assert triggers.manual is False and triggers.schedule == ["@daily"]
    assert triggers.push == BranchFilter(branches=["*"])
    assert not triggers.matches("manual", None)
    assert triggers.matches("push", "feature/x")
    assert triggers.matches("pull_request", "release/1.2")
    assert not triggers.matches("pull_request", "main")
    assert not spec_of("triggers: {push: false}\nsteps: [{name: a, run: x}]").triggers.matches("push", "main")


def test_spec_round_trips_through_json() -> None:
    spec = parse_definition(CONTRACT_EXAMPLE).spec
    assert spec is not None
    assert msgspec.json.decode(msgspec.json.encode(spec), type=PipelineSpec) == spec


# --- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("5s", 5.0),
        ("24h", 86400.0),
        ("500ms", 0.5),
        ("2d", 172800.0),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        ("90", 90.0),
        (90, 90.0),
        (0, 0.0),
        (2.5, 2.5),
    ],
)
def test_parse_duration(value: str | int | float, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "10x", "m", "30m1h", "1m1m", "-5s", "ten minutes", -1, True])
def test_parse_duration_rejects(value: str | int | bool) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(value)


# --- document-level errors ---------------------------------------------------------------


def test_yaml_syntax_error_has_its_line() -> None:
    path, line, message = single_error("steps:\n  - name: a\n    run: [echo\n  - name: b\n")
    assert (path, line) == ("", 4)
    assert message.startswith("YAML syntax error")


def test_unreadable_character_is_a_syntax_error_with_line() -> None:
    assert single_error("steps:\n  - name: a\x00\n") == ("", 2, "YAML syntax error: unacceptable character #x0000")


def test_several_documents_are_a_syntax_error() -> None:
    assert single_error("steps: []\n---\nsteps: []\n")[1] == 2


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_definition(text: str) -> None:
    assert single_error(text) == ("", 1, "the definition is empty: expected a mapping with 'steps'")


def test_root_must_be_a_mapping() -> None:
    assert single_error("- name: a\n  run: x\n") == ("", 1, "expected a mapping, got a list")


def test_steps_required_and_non_empty() -> None:
    assert single_error("priority: high\n") == ("steps", 1, "missing required key 'steps'")
    assert single_error("priority: high\nsteps: []\n") == ("steps", 2, "a pipeline needs at least one step")
    assert single_error("steps: {a: 1}\n") == ("steps", 1, "expected a list, got a mapping")


def test_unknown_top_level_key() -> None:
    path, line, message = single_error("steps: [{name: a, run: x}]\nstages: [build]\n")
    assert (path, line) == ("stages", 2)
    assert message.startswith("unknown key 'stages'")


def test_duplicate_yaml_key() -> None:
    assert single_error("steps: [{name: a, run: x}]\npriority: low\npriority: high\n") == (
        "priority",
        3,
        "duplicate key 'priority'",
    )


def test_bad_priority_concurrency_timeout() -> None:
    errors = errors_of("priority: urgent\nconcurrency: 0\ntimeout: soon\nsteps: [{name: a, run: x}]\n")
    assert [(path, line) for path, line, _ in errors] == [("priority", 1), ("concurrency", 2), ("timeout", 3)]
    assert errors[0][2] == "invalid value 'urgent': expected one of high, normal, low"
    assert errors[1][2] == "expected an integer >= 1, got 0"
    assert "invalid duration 'soon'" in errors[2][2]


def test_wrong_types_name_the_expected_type() -> None:
    errors = errors_of(
        """\
        concurrency: two
        variables: [A]
        steps:
          - name: a
            run: x
            allow_failure: maybe
          - name: 7
            git: {url: 1}
        """
    )
    assert errors == [
        ("concurrency", 1, "expected an integer >= 1, got a string"),
        ("variables", 2, "expected a mapping, got a list"),
        ("steps[0].allow_failure", 6, "expected a boolean (true or false), got a string"),
        ("steps[1].name", 7, "expected a string, got an integer"),
        ("steps[1].git.url", 8, "expected a string, got an integer"),
    ]


def test_bad_variable_name() -> None:
    assert single_error("variables:\n  OK: 1\n  1BAD: x\nsteps: [{name: a, run: x}]\n")[:2] == ("variables.1BAD", 3)


def test_bad_cron_expressions() -> None:
    errors = errors_of(
        """\
        triggers:
          schedule:
            - "0 3 * * *"
            - "61 * * * *"
            - "0 3 * * * *"
            - "@reboot"
        steps: [{name: a, run: x}]
        """
    )
    assert [(path, line) for path, line, _ in errors] == [
        ("triggers.schedule[1]", 4),
        ("triggers.schedule[2]", 5),
        ("triggers.schedule[3]", 6),
    ]
    assert errors[0][2].startswith("invalid cron expression '61 * * * *'")


def test_unknown_trigger_key_and_bad_branch_filter() -> None:
    errors = errors_of("triggers:\n  tag: true\n  push: {branches: []}\nsteps: [{name: a, run: x}]\n")
    assert [(path, line) for path, line, _ in errors] == [("triggers.tag", 2), ("triggers.push.branches", 3)]


def test_unknown_secrets_checked_only_when_known_secrets_given() -> None:
    text = "secrets: [DEPLOY_TOKEN, API_KEY]\nsteps: [{name: a, run: x}]\n"
    assert single_error(text, known_secrets={"DEPLOY_TOKEN"}) == (
        "secrets[1]",
        1,
        "unknown secret 'API_KEY': add it to the project first",
    )
    assert parse(text).valid
    assert parse(text, {"DEPLOY_TOKEN", "API_KEY"}).valid
    assert single_error("secrets: [bad-name]\nsteps: [{name: a, run: x}]\n")[:2] == ("secrets[0]", 1)


# --- step-level errors -------------------------------------------------------------------


def test_unknown_step_key_and_unknown_kind_config_key() -> None:
    errors = errors_of(
        """\
        steps:
          - name: a
            run: x
            retry: 2
          - name: b
            git:
              url: https://x/r.git
              branch: main
        """
    )
    assert [(path, line) for path, line, _ in errors] == [("steps[0].retry", 4), ("steps[1].git.branch", 8)]
    assert errors[1][2] == "unknown key 'branch' (allowed: credential, depth, ref, url)"


def test_missing_step_name_points_at_the_step() -> None:
    assert single_error("steps:\n  - name: a\n    run: x\n  - run: y\n") == (
        "steps[1].name",
        4,
        "missing required key 'name'",
    )


def test_invalid_step_name() -> None:
    path, line, message = single_error("steps:\n  - name: 'has space'\n    run: x\n")
    assert (path, line) == ("steps[0].name", 2)
    assert message.startswith("invalid name 'has space'")


def test_duplicate_step_names() -> None:
    assert single_error("steps:\n  - name: a\n    run: x\n  - name: a\n    run: y\n") == (
        "steps[1].name",
        4,
        "duplicate step name 'a' (first on line 2)",
    )


def test_step_needs_exactly_one_kind() -> None:
    errors = errors_of(
        """\
        steps:
          - name: a
            needs: []
          - name: b
            run: x
            http: {url: "http://x"}
        """
    )
    assert errors == [
        ("steps[0]", 2, "a step needs exactly one of: run, git, ansible, approval, http, notify, docker"),
        ("steps[1].http", 6, "a step has exactly one kind, found both 'run' and 'http'"),
    ]


def test_missing_required_kind_keys() -> None:
    errors = errors_of(
        """\
        steps:
          - name: a
            ansible: {inventory: staging}
          - name: b
            http: {method: GET}
          - name: c
            run: []
        """
    )
    assert errors == [
        ("steps[0].ansible.playbook", 3, "missing required key 'playbook'"),
        ("steps[1].http.url", 5, "missing required key 'url'"),
        ("steps[2].run", 7, "expected a non-empty command or list of commands"),
    ]


def test_unknown_needs_reported_on_the_line_of_the_name() -> None:
    errors = errors_of(
        """\
        steps:
          - name: a
            run: x
          - name: b
            run: y
            needs:
              - a
              - nope
        """
    )
    assert errors == [("steps[1].needs[1]", 8, "unknown step 'nope' in needs")]


def test_cycle_named_with_needs_line() -> None:
    errors = errors_of(
        """\
        steps:
          - name: a
            run: x
            needs: [b]
          - name: b
            run: y
            needs: [a]
        """
    )
    assert errors == [("steps[0].needs", 4, "cycle: a -> b -> a")]


def test_self_cycle() -> None:
    assert single_error("steps:\n  - name: a\n    run: x\n    needs: [a]\n") == (
        "steps[0].needs",
        4,
        "cycle: a -> a",
    )


def test_cycle_through_implicit_previous_step_edges() -> None:
    # c has no needs, so it waits for b, which waits for a, which needs c.
    errors = errors_of(
        """\
        steps:
          - name: a
            run: x
            needs: [c]
          - name: b
            run: y
          - name: c
            run: z
        """
    )
    assert errors == [("steps[0].needs", 4, "cycle: a -> c -> b -> a")]


def test_cycle_line_is_a_step_with_explicit_needs() -> None:
    errors = errors_of(
        """\
        steps:
          - name: first
            run: x
          - name: b
            run: y
            needs: [c]
          - name: c
            run: z
        """
    )
    assert errors == [("steps[1].needs", 6, "cycle: b -> c -> b")]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ("    timeout: 10 minutes\n", "steps[0].timeout"),
        ("    retry_delay: later\n", "steps[0].retry_delay"),
        ("    timeout: 0s\n", "steps[0].timeout"),
    ],
)
def test_bad_step_durations(body: str, path: str) -> None:
    error = single_error("steps:\n  - name: a\n    run: x\n" + body)
    assert error[:2] == (path, 4)


def test_bad_approval_and_http_durations() -> None:
    errors = errors_of(
        """\
        steps:
          - name: gate
            approval:
              role: maintainer
              timeout: 1 day
          - name: ping
            http:
              url: http://x
              timeout: fast
        """
    )
    assert [(path, line) for path, line, _ in errors] == [
        ("steps[0].approval.timeout", 5),
        ("steps[1].http.timeout", 9),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("11", "expected an integer from 0 to 10, got 11"),
        ("-1", "expected an integer from 0 to 10, got -1"),
        ("two", "expected an integer from 0 to 10, got a string"),
        ("true", "expected an integer from 0 to 10, got a boolean"),
    ],
)
def test_bad_retries(value: str, message: str) -> None:
    assert single_error(f"steps:\n  - name: a\n    run: x\n    retries: {value}\n") == (
        "steps[0].retries",
        4,
        message,
    )


@pytest.mark.parametrize(
    ("matrix", "path", "message"),
    [
        ("[a, b]", "steps[0].matrix", "expected a mapping, got a list"),
        ("{}", "steps[0].matrix", "a matrix needs at least one variable"),
        ("{PY: []}", "steps[0].matrix.PY", "matrix variable 'PY' needs at least one value"),
        ("{PY: '3.11'}", "steps[0].matrix.PY", "expected a list, got a string"),
        ("{PY: [[1]]}", "steps[0].matrix.PY[0]", "expected a scalar (string, number or boolean), got a list"),
        ("{PY: [a, a]}", "steps[0].matrix.PY[1]", "duplicate matrix value 'a'"),
        ("{PY: ['a,b']}", "steps[0].matrix.PY[0]", "invalid matrix value 'a,b'"),
        ("{py-version: [a]}", "steps[0].matrix.py-version", "invalid matrix variable 'py-version'"),
    ],
)
def test_bad_matrix(matrix: str, path: str, message: str) -> None:
    error = single_error(f"steps:\n  - name: a\n    run: x\n    matrix: {matrix}\n")
    assert error[:2] == (path, 4)
    assert error[2].startswith(message)


def test_matrix_size_is_limited() -> None:
    values = ", ".join(str(i) for i in range(20))
    error = single_error(f"steps:\n  - name: a\n    run: x\n    matrix: {{A: [{values}], B: [{values}]}}\n")
    assert error == ("steps[0].matrix", 4, "the matrix expands to 400 steps; at most 256 allowed")


def test_bad_when() -> None:
    errors = errors_of(
        """\
        steps:
          - name: a
            run: x
            when:
              branch: main
              event: [push, tag]
              status: maybe
              os: linux
        """
    )
    assert errors == [
        (
            "steps[0].when.event[1]",
            6,
            "invalid value 'tag': expected one of manual, push, pull_request, schedule, api, retry",
        ),
        ("steps[0].when.status", 7, "invalid value 'maybe': expected one of success, failure, always"),
        ("steps[0].when.os", 8, "unknown key 'os' (allowed: branch, event, status)"),
    ]


def test_when_branch_accepts_a_single_pattern() -> None:
    spec = spec_of("steps:\n  - name: a\n    run: x\n    when: {branch: 'release/*', event: push}\n")
    assert (spec.steps[0].when.branch, spec.steps[0].when.event) == (["release/*"], ["push"])


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of(
        """\
        priority: urgent
        timeout: 10x
        colour: red
        secrets: [A, B]
        steps:
          - name: build
            run: make
            needs: [deploy]
          - name: test
            run: [make test]
            bogus: 1
          - name: deploy
            git: {url: x, depth: 0}
          - name: build
            notify: hi
          - name: lint
            run: x
            needs: [ghost]
            retries: 99
            matrix: {PY: []}
        """,
        known_secrets={"A"},
    )
    assert [(path, line) for path, line, _ in errors] == [
        ("priority", 1),
        ("timeout", 2),
        ("colour", 3),
        ("secrets[1]", 4),
        ("steps[0].needs", 8),
        ("steps[1].bogus", 11),
        ("steps[2].git.depth", 13),
        ("steps[3].name", 14),
        ("steps[4].needs[0]", 18),
        ("steps[4].retries", 19),
        ("steps[4].matrix.PY", 20),
    ]
    assert errors[4][2] == "cycle: build -> deploy -> test -> build"


def test_errors_are_spec_error_structs() -> None:
    result = parse("colour: red\nsteps: [{name: a, run: x}]\n")
    assert result.spec is None
    assert isinstance(result.errors[0], SpecError)
    assert msgspec.to_builtins(result.errors[0]) == {
        "path": "colour",
        "line": 1,
        "message": result.errors[0].message,
    }
