"""Whole-definition validation: top-level keys, triggers, secrets and the step graph.

Produces plain data shaped like PipelineSpec (spec.py converts it) plus every issue found, so
a user fixing a definition sees all problems in one round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from croniter import croniter
from yaml.nodes import ScalarNode

from app.domain.pipelines.graph import effective_needs, find_cycles
from app.domain.pipelines.validate_steps import StepDraft, check_step
from app.domain.pipelines.yamlnodes import ENV_NAME, Checker, Field, Issue, compose, is_null, line_of

TOP_KEYS = ("priority", "timeout", "concurrency", "variables", "triggers", "secrets", "steps")
PRIORITIES = ("high", "normal", "low")
_CRON_KEYWORDS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def check_definition(text: str, known_secrets: Collection[str] | None) -> tuple[dict[str, Any] | None, list[Issue]]:
    """Plain PipelineSpec data and no issues, or None and every issue found."""
    checker = Checker()
    root = compose(text, checker)
    if root is None:
        return None, checker.issues
    top = checker.mapping(Field(root, "", line_of(root)), TOP_KEYS)
    if top is None:
        return None, checker.issues
    data: dict[str, Any] = {}
    readers: dict[str, Callable[[Field], object]] = {
        "priority": lambda f: checker.choice(f, PRIORITIES),
        "timeout": checker.duration,
        "concurrency": lambda f: checker.integer(f, 1),
        "variables": checker.env_map,
        "triggers": lambda f: _triggers(checker, f),
        "secrets": lambda f: _secrets(checker, f, known_secrets),
    }
    for key, reader in readers.items():
        entry = top.get(key)
        if entry is not None and not is_null(entry.value):
            data[key] = reader(entry)
    data["steps"] = _steps(checker, top.get("steps"), line_of(root))
    if checker.issues:
        return None, checker.issues
    return data, []


def _steps(checker: Checker, entry: Field | None, root_line: int) -> list[dict[str, Any] | None]:
    if entry is None or is_null(entry.value):
        checker.error("steps", entry.line if entry else root_line, "missing required key 'steps'")
        return []
    elements = checker.items(entry)
    if elements is None:
        return []
    if not elements:
        checker.error("steps", entry.line, "a pipeline needs at least one step")
        return []
    drafts = [check_step(checker, element) for element in elements]
    _check_graph(checker, drafts)
    return [draft.data for draft in drafts]


def _check_graph(checker: Checker, drafts: list[StepDraft]) -> None:
    """Duplicate names, unknown needs and cycles (implicit "previous step" edges included)."""
    first: dict[str, StepDraft] = {}
    labels: list[str] = []
    for draft in drafts:
        if draft.name is None:
            labels.append(draft.path)
        elif draft.name in first:
            line = first[draft.name].name_line
            checker.error(
                f"{draft.path}.name", draft.name_line, f"duplicate step name '{draft.name}' (first on line {line})"
            )
            labels.append(draft.path)
        else:
            first[draft.name] = draft
            labels.append(draft.name)
    for draft in drafts:
        for need in draft.needs or []:
            if need.name not in first:
                checker.error(need.path, need.line, f"unknown step '{need.name}' in needs")
    explicit = [
        None if draft.needs is None else [need.name for need in draft.needs if need.name in first] for draft in drafts
    ]
    needs = effective_needs(list(zip(labels, explicit, strict=True)))
    by_label = dict(zip(labels, drafts, strict=True))
    for cycle in find_cycles(labels, dict(zip(labels, needs, strict=True))):
        members = [by_label[label] for label in cycle[:-1]]
        anchor = next((draft for draft in members if draft.needs_line is not None), members[0])
        line = anchor.needs_line if anchor.needs_line is not None else anchor.line
        checker.error(f"{anchor.path}.needs", line, "cycle: " + " -> ".join(cycle))


def _secrets(checker: Checker, field: Field, known: Collection[str] | None) -> list[str] | None:
    """Secret names (env-var-like); with known given, each must exist in the project."""
    elements = checker.items(field, allow_single=True)
    if elements is None:
        return None
    names: list[str] = []
    ok = True
    for element in elements:
        name = checker.name(element, ENV_NAME, "use letters, digits and _, not starting with a digit")
        if name is None:
            ok = False
        elif known is not None and name not in known:
            checker.error(element.path, element.line, f"unknown secret '{name}': add it to the project first")
            ok = False
        elif name not in names:
            names.append(name)
    return names if ok else None


def _triggers(checker: Checker, field: Field) -> dict[str, Any] | None:
    """`triggers: {manual?, push?, pull_request?, schedule?}`."""
    entries = checker.mapping(field, ("manual", "push", "pull_request", "schedule"))
    if entries is None:
        return None
    data: dict[str, Any] = {}
    readers: dict[str, Callable[[Field], object]] = {
        "manual": checker.boolean,
        "push": lambda f: _branch_filter(checker, f),
        "pull_request": lambda f: _branch_filter(checker, f),
        "schedule": lambda f: _schedule(checker, f),
    }
    ok = True
    for key, reader in readers.items():
        entry = entries.get(key)
        if entry is None or is_null(entry.value):
            continue
        value = reader(entry)
        if value is None:
            ok = False
        elif value is not False or key == "manual":
            data[key] = value
    return data if ok else None


def _branch_filter(checker: Checker, field: Field) -> dict[str, Any] | bool | None:
    """`push: true` (every branch), `push: false` (off) or `push: {branches: [main, "release/*"]}`."""
    node = field.value
    if isinstance(node, ScalarNode):
        value = checker.construct(node)
        if isinstance(value, bool):
            return {} if value else False
        checker.type_error(field, "true, false or a mapping with 'branches'")
        return None
    entries = checker.mapping(field, ("branches",))
    if entries is None:
        return None
    entry = entries.get("branches")
    if entry is None or is_null(entry.value):
        return {}
    branches = checker.string_list(entry, coerce=True)
    if branches is None:
        return None
    if not branches or any(not branch for branch in branches):
        checker.error(entry.path, entry.line, "expected at least one branch name or pattern")
        return None
    return {"branches": branches}


def _schedule(checker: Checker, field: Field) -> list[str] | None:
    """Cron expressions (five fields, UTC) or @daily-style keywords."""
    elements = checker.items(field, allow_single=True)
    if elements is None:
        return None
    crons: list[str] = []
    ok = True
    for element in elements:
        text = checker.string(element, expected="a cron expression")
        if text is None:
            ok = False
            continue
        expression = " ".join(text.split())
        keyword = expression.startswith("@")
        if (keyword and expression not in _CRON_KEYWORDS) or (
            not keyword and (len(expression.split()) != 5 or not croniter.is_valid(expression))
        ):
            message = f"invalid cron expression '{text}': expected 5 fields (minute hour day month weekday)"
            checker.error(element.path, element.line, message)
            ok = False
        else:
            crons.append(expression)
    return crons if ok else None
