"""The execution plan: matrix-expanded steps with resolved needs, and the pure scheduling rule.

Kept free of I/O so the engine, the validate endpoint and the tests share one definition of
"what runs next".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from app.domain.pipelines.graph import effective_needs, expanded_name, matrix_combinations
from app.domain.pipelines.spec import PipelineSpec, StepKind, StepSpec, branch_matches

TERMINAL = frozenset({"success", "failed", "skipped", "cancelled", "timed_out"})
FAILED = frozenset({"failed", "timed_out"})


class PlannedStep(msgspec.Struct, frozen=True):
    """One step to execute: a matrix expansion gets its own name, e.g. `unit[PY=3.11]`.

    needs are expanded names; matrix holds this expansion's values ({} without a matrix);
    index is the position in the plan (definition order, then matrix order).
    """

    name: str
    base_name: str
    kind: StepKind
    needs: list[str]
    matrix: dict[str, str]
    spec: StepSpec
    index: int


class RunContext(msgspec.Struct, frozen=True):
    """What the run was started by: the branch (None if unknown) and the trigger event."""

    branch: str | None = None
    event: str = "manual"


class Decisions(msgspec.Struct, frozen=True):
    """Pending steps to start now and pending steps that can no longer run (to mark skipped)."""

    start: list[str]
    skip: list[str]


def expand_plan(spec: PipelineSpec) -> list[PlannedStep]:
    """Expand matrices and apply the CONTRACT ordering rules to a validated spec.

    A step without `needs` waits for the step listed before it (all expansions of it when it
    has a matrix); a need naming a matrix step means all of its expansions.
    """
    expansions = {
        step.name: [(expanded_name(step.name, combo), combo) for combo in matrix_combinations(step.matrix)]
        for step in spec.steps
    }
    base_needs = effective_needs([(step.name, step.needs) for step in spec.steps])
    plan: list[PlannedStep] = []
    for step, needs in zip(spec.steps, base_needs, strict=True):
        unknown = [need for need in needs if need not in expansions]
        if unknown:
            raise ValueError(f"step '{step.name}' needs unknown steps: {', '.join(unknown)}")
        resolved = [name for need in needs for name, _ in expansions[need]]
        for name, combo in expansions[step.name]:
            plan.append(
                PlannedStep(
                    name=name,
                    base_name=step.name,
                    kind=step.kind,
                    needs=list(resolved),
                    matrix=combo,
                    spec=step,
                    index=len(plan),
                )
            )
    return plan


def plan_summary(plan: Sequence[PlannedStep]) -> list[dict[str, Any]]:
    """`plan.steps` of POST /pipelines/validate: [{name, kind, needs}] after matrix expansion."""
    return [{"name": step.name, "kind": step.kind, "needs": list(step.needs)} for step in plan]


def is_ok(step: PlannedStep, status: str) -> bool:
    """Success for downstream purposes: success, or a failure the step was allowed to have."""
    return status == "success" or (status in FAILED and step.spec.allow_failure)


def hard_failures(plan: Sequence[PlannedStep], statuses: Mapping[str, str]) -> list[str]:
    """Steps that failed or timed out without allow_failure: these fail the execution."""
    return [step.name for step in plan if statuses.get(step.name) in FAILED and not step.spec.allow_failure]


def decide(plan: Sequence[PlannedStep], statuses: Mapping[str, str], context: RunContext) -> Decisions:
    """Which pending steps start now and which become skipped, given every step's status.

    A pending step is decided once all its needs are terminal. Its `when.status` must hold:
    `success` (default): every need is ok (success, or failed with allow_failure) and no
    upstream step (transitively) failed hard; `failure`: some upstream step failed hard;
    `always`: nothing. Then `when.branch` globs must match context.branch (an unknown branch
    matches no pattern) and `when.event` must contain context.event. Steps failing a condition
    are skipped; skips cascade within this one call, so the engine applies the result, then
    calls again only after a started step finishes. Steps missing from statuses are pending.
    """
    by_name = {step.name: step for step in plan}
    current = {step.name: statuses.get(step.name, "pending") for step in plan}
    start: list[str] = []
    skip: list[str] = []
    changed = True
    while changed:
        changed = False
        for step in plan:
            if current[step.name] != "pending" or step.name in start:
                continue
            if any(current.get(need, "pending") not in TERMINAL for need in step.needs):
                continue
            if _should_run(step, current, by_name, context):
                start.append(step.name)
            else:
                skip.append(step.name)
                current[step.name] = "skipped"
                changed = True
    start.sort(key=lambda name: by_name[name].index)
    return Decisions(start=start, skip=skip)


def _should_run(
    step: PlannedStep, current: Mapping[str, str], by_name: Mapping[str, PlannedStep], context: RunContext
) -> bool:
    when = step.spec.when
    if when.status == "success":
        needs_ok = all(is_ok(by_name[need], current[need]) for need in step.needs if need in by_name)
        if not needs_ok or _upstream_failed(step, current, by_name):
            return False
    elif when.status == "failure" and not _upstream_failed(step, current, by_name):
        return False
    if when.branch and (context.branch is None or not branch_matches(when.branch, context.branch)):
        return False
    return not when.event or context.event in when.event


def _upstream_failed(step: PlannedStep, current: Mapping[str, str], by_name: Mapping[str, PlannedStep]) -> bool:
    """Whether any step this one depends on, directly or not, failed without allow_failure."""
    seen: set[str] = set()
    pending = list(step.needs)
    while pending:
        name = pending.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        upstream = by_name[name]
        if current.get(name) in FAILED and not upstream.spec.allow_failure:
            return True
        pending.extend(upstream.needs)
    return False
