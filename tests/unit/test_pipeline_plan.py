"""Plan expansion (ordering, matrix) and the pure scheduling rule decide()."""

from __future__ import annotations

import textwrap

from app.domain.pipelines.plan import (
    Decisions,
    PlannedStep,
    RunContext,
    decide,
    expand_plan,
    hard_failures,
    plan_summary,
)
from app.domain.pipelines.spec import parse_definition

PUSH_MAIN = RunContext(branch="main", event="push")


def plan_of(text: str) -> list[PlannedStep]:
    result = parse_definition(textwrap.dedent(text))
    assert result.errors == []
    assert result.spec is not None
    return expand_plan(result.spec)


def needs_of(plan: list[PlannedStep]) -> dict[str, list[str]]:
    return {step.name: step.needs for step in plan}


# --- expansion and ordering --------------------------------------------------------------


def test_matrix_expansion_names_follow_key_order_and_cartesian_product() -> None:
    plan = plan_of(
        """\
        steps:
          - name: unit
            run: pytest
            matrix: {PY: ["3.11", "3.12"], OS: [linux, mac]}
        """
    )
    assert [step.name for step in plan] == [
        "unit[PY=3.11,OS=linux]",
        "unit[PY=3.11,OS=mac]",
        "unit[PY=3.12,OS=linux]",
        "unit[PY=3.12,OS=mac]",
    ]
    first = plan[0]
    assert (first.base_name, first.kind, first.matrix, first.index) == ("unit", "run", {"PY": "3.11", "OS": "linux"}, 0)
    assert first.spec.name == "unit"
    assert [step.index for step in plan] == [0, 1, 2, 3]


def test_step_without_needs_waits_for_the_previous_one() -> None:
    plan = plan_of("steps: [{name: a, run: x}, {name: b, run: y}, {name: c, run: z}]")
    assert needs_of(plan) == {"a": [], "b": ["a"], "c": ["b"]}


def test_empty_needs_starts_at_once_and_explicit_needs_wait_for_all() -> None:
    plan = plan_of(
        """\
        steps:
          - {name: a, run: x}
          - {name: b, run: x, needs: []}
          - {name: c, run: x, needs: [a, b]}
          - {name: d, run: x}
        """
    )
    assert needs_of(plan) == {"a": [], "b": [], "c": ["a", "b"], "d": ["c"]}


def test_needs_on_a_matrix_step_means_all_its_expansions() -> None:
    plan = plan_of(
        """\
        steps:
          - name: checkout
            git: {url: "https://x/r.git"}
          - name: unit
            run: pytest
            matrix: {PY: ["3.11", "3.12"]}
          - name: report
            notify: done
          - name: lint
            run: ruff
            needs: [unit, checkout]
        """
    )
    assert needs_of(plan) == {
        "checkout": [],
        "unit[PY=3.11]": ["checkout"],
        "unit[PY=3.12]": ["checkout"],
        "report": ["unit[PY=3.11]", "unit[PY=3.12]"],
        "lint": ["unit[PY=3.11]", "unit[PY=3.12]", "checkout"],
    }


def test_plan_summary_for_the_validate_endpoint() -> None:
    plan = plan_of("steps: [{name: a, git: {url: u}}, {name: b, run: x, matrix: {V: [1, 2]}}]")
    assert plan_summary(plan) == [
        {"name": "a", "kind": "git", "needs": []},
        {"name": "b[V=1]", "kind": "run", "needs": ["a"]},
        {"name": "b[V=2]", "kind": "run", "needs": ["a"]},
    ]


# --- decide: ordering and parallelism ----------------------------------------------------

DIAMOND = """\
steps:
  - {name: build, run: make}
  - {name: unit, run: test, needs: [build]}
  - {name: lint, run: lint, needs: [build]}
  - {name: deploy, run: ship, needs: [unit, lint]}
"""


def test_decide_starts_roots_then_parallel_branches_then_the_join() -> None:
    plan = plan_of(DIAMOND)
    assert decide(plan, {}, PUSH_MAIN) == Decisions(start=["build"], skip=[])
    assert decide(plan, {"build": "running"}, PUSH_MAIN) == Decisions(start=[], skip=[])
    assert decide(plan, {"build": "success"}, PUSH_MAIN) == Decisions(start=["unit", "lint"], skip=[])
    waiting = {"build": "success", "unit": "success", "lint": "running"}
    assert decide(plan, waiting, PUSH_MAIN) == Decisions(start=[], skip=[])
    done = {"build": "success", "unit": "success", "lint": "success"}
    assert decide(plan, done, PUSH_MAIN) == Decisions(start=["deploy"], skip=[])


def test_decide_never_returns_steps_that_are_not_pending() -> None:
    plan = plan_of(DIAMOND)
    statuses = {"build": "success", "unit": "running", "lint": "waiting_approval"}
    assert decide(plan, statuses, PUSH_MAIN) == Decisions(start=[], skip=[])
    assert decide(plan, {step.name: "success" for step in plan}, PUSH_MAIN) == Decisions(start=[], skip=[])


def test_matrix_expansions_run_in_parallel_and_gate_the_next_step() -> None:
    plan = plan_of("steps: [{name: unit, run: t, matrix: {PY: [a, b]}}, {name: report, run: r}]")
    assert decide(plan, {}, PUSH_MAIN).start == ["unit[PY=a]", "unit[PY=b]"]
    assert decide(plan, {"unit[PY=a]": "success", "unit[PY=b]": "running"}, PUSH_MAIN).start == []
    assert decide(plan, {"unit[PY=a]": "success", "unit[PY=b]": "success"}, PUSH_MAIN).start == ["report"]
    one_failed = {"unit[PY=a]": "failed", "unit[PY=b]": "success"}
    assert decide(plan, one_failed, PUSH_MAIN) == Decisions(start=[], skip=["report"])


# --- decide: failures ---------------------------------------------------------------------


def test_failure_skips_everything_downstream_in_one_call() -> None:
    plan = plan_of(DIAMOND)
    decision = decide(plan, {"build": "failed"}, PUSH_MAIN)
    assert decision == Decisions(start=[], skip=["unit", "lint", "deploy"])
    assert hard_failures(plan, {"build": "failed"}) == ["build"]


def test_failure_in_one_branch_does_not_stop_the_other() -> None:
    plan = plan_of(DIAMOND)
    statuses = {"build": "success", "unit": "failed", "lint": "running"}
    assert decide(plan, statuses, PUSH_MAIN) == Decisions(start=[], skip=[])
    statuses["lint"] = "success"
    assert decide(plan, statuses, PUSH_MAIN) == Decisions(start=[], skip=["deploy"])


def test_timed_out_counts_as_failed() -> None:
    plan = plan_of("steps: [{name: a, run: x}, {name: b, run: y}]")
    assert decide(plan, {"a": "timed_out"}, PUSH_MAIN) == Decisions(start=[], skip=["b"])
    assert hard_failures(plan, {"a": "timed_out"}) == ["a"]


def test_allow_failure_counts_as_success_downstream() -> None:
    plan = plan_of(
        """\
        steps:
          - {name: flaky, run: x, allow_failure: true}
          - {name: next, run: y}
          - {name: on-fail, run: z, needs: [flaky], when: {status: failure}}
        """
    )
    statuses = {"flaky": "failed"}
    assert decide(plan, statuses, PUSH_MAIN) == Decisions(start=["next"], skip=["on-fail"])
    assert hard_failures(plan, statuses) == []


def test_when_failure_runs_only_after_an_upstream_failure() -> None:
    text = """\
    steps:
      - {name: build, run: make}
      - {name: test, run: t}
      - {name: rollback, run: r, when: {status: failure}}
    """
    plan = plan_of(text)
    # build failed: test is skipped, and rollback still sees the failure through it.
    assert decide(plan, {"build": "failed"}, PUSH_MAIN) == Decisions(start=["rollback"], skip=["test"])
    # everything went well: rollback is skipped.
    assert decide(plan, {"build": "success", "test": "success"}, PUSH_MAIN) == Decisions(start=[], skip=["rollback"])


def test_when_always_runs_after_success_failure_or_skip() -> None:
    plan = plan_of(
        """\
        steps:
          - {name: build, run: make}
          - {name: test, run: t}
          - {name: cleanup, run: c, when: {status: always}}
        """
    )
    assert decide(plan, {"build": "failed"}, PUSH_MAIN) == Decisions(start=["cleanup"], skip=["test"])
    assert decide(plan, {"build": "success", "test": "success"}, PUSH_MAIN).start == ["cleanup"]
    assert decide(plan, {"build": "success", "test": "cancelled"}, PUSH_MAIN).start == ["cleanup"]


def test_success_step_after_an_always_step_still_sees_the_earlier_failure() -> None:
    plan = plan_of(
        """\
        steps:
          - {name: test, run: t}
          - {name: cleanup, run: c, when: {status: always}}
          - {name: deploy, run: d}
        """
    )
    assert decide(plan, {"test": "failed", "cleanup": "success"}, PUSH_MAIN) == Decisions(start=[], skip=["deploy"])


def test_skipped_upstream_is_not_success() -> None:
    plan = plan_of(
        """\
        steps:
          - {name: publish, run: p, when: {branch: [main]}}
          - {name: announce, run: a}
          - {name: on-fail, run: f, needs: [publish], when: {status: failure}}
          - {name: tidy, run: t, needs: [publish], when: {status: always}}
        """
    )
    decision = decide(plan, {}, RunContext(branch="feature", event="push"))
    # publish is skipped by its branch; no failure happened, so on-fail is skipped too.
    assert decision == Decisions(start=["tidy"], skip=["publish", "announce", "on-fail"])


# --- decide: branch and event conditions -------------------------------------------------


def test_branch_glob_condition() -> None:
    plan = plan_of("steps: [{name: release, run: r, when: {branch: [main, 'release/*']}}]")
    assert decide(plan, {}, RunContext(branch="release/1.2", event="push")).start == ["release"]
    assert decide(plan, {}, RunContext(branch="main", event="push")).start == ["release"]
    assert decide(plan, {}, RunContext(branch="feature/x", event="push")).skip == ["release"]
    # an unknown branch matches no pattern
    assert decide(plan, {}, RunContext(branch=None, event="manual")).skip == ["release"]


def test_no_branch_condition_runs_on_any_or_unknown_branch() -> None:
    plan = plan_of("steps: [{name: a, run: x}]")
    assert decide(plan, {}, RunContext()).start == ["a"]


def test_event_condition() -> None:
    plan = plan_of(
        "steps: [{name: nightly, run: n, needs: [], when: {event: [schedule, manual]}}, {name: b, run: x, needs: []}]"
    )
    assert decide(plan, {}, RunContext(branch="main", event="schedule")).start == ["nightly", "b"]
    assert decide(plan, {}, RunContext(branch="main", event="push")) == Decisions(start=["b"], skip=["nightly"])


def test_condition_skip_cascades_to_dependents() -> None:
    plan = plan_of(
        """\
        steps:
          - {name: build, run: b}
          - {name: deploy, run: d, when: {branch: [main]}}
          - {name: smoke, http: {url: "http://x/health"}}
        """
    )
    statuses = {"build": "success"}
    assert decide(plan, statuses, RunContext(branch="dev", event="push")) == Decisions(
        start=[], skip=["deploy", "smoke"]
    )
    assert decide(plan, statuses, RunContext(branch="main", event="push")).start == ["deploy"]


def test_decisions_follow_plan_order_even_when_needs_point_forward() -> None:
    plan = plan_of(
        """\
        steps:
          - {name: late, run: x, needs: [early]}
          - {name: early, run: y, needs: []}
          - {name: other, run: z, needs: []}
        """
    )
    assert decide(plan, {}, PUSH_MAIN).start == ["early", "other"]
    assert decide(plan, {"early": "failed", "other": "success"}, PUSH_MAIN).skip == ["late"]
