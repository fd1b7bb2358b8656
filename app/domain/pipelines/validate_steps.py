"""Validation of one step: its name, kind, ordering, matrix, retries and conditions.

Cross-step checks (duplicate names, unknown needs, cycles) need every step and live in
validate.py; this module hands them a StepDraft with the lines they need.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from app.domain.pipelines.validate_kinds import KIND_READERS
from app.domain.pipelines.yamlnodes import ENV_NAME, Checker, Field, is_null

STEP_KINDS: tuple[str, ...] = tuple(KIND_READERS)
STEP_KEYS: tuple[str, ...] = (
    "name",
    *STEP_KINDS,
    "needs",
    "matrix",
    "env",
    "timeout",
    "retries",
    "retry_delay",
    "allow_failure",
    "when",
)
EVENTS = ("manual", "push", "pull_request", "schedule", "api", "retry")
WHEN_STATUSES = ("success", "failure", "always")
STEP_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
STEP_NAME_RULE = "use letters, digits, '_', '-' and '.' (at most 100 characters)"
MAX_RETRIES = 10
MAX_MATRIX = 256
_MATRIX_FORBIDDEN = frozenset("[],=\r\n")


class NeedRef(NamedTuple):
    """One name listed under `needs`, with where it was written."""

    name: str
    path: str
    line: int


class StepDraft(NamedTuple):
    """What the cross-step checks need to know about a step."""

    path: str
    line: int
    name: str | None
    name_line: int
    needs: list[NeedRef] | None
    needs_line: int | None
    data: dict[str, Any] | None


def check_step(checker: Checker, field: Field) -> StepDraft:
    """Validate one entry of `steps`; data is None when anything in it is wrong."""
    before = len(checker.issues)
    entries = checker.mapping(field, STEP_KEYS)
    if entries is None:
        return StepDraft(field.path, field.line, None, field.line, None, None, None)
    name = _name(checker, field, entries)
    kinds = [kind for kind in STEP_KINDS if kind in entries]
    data: dict[str, Any] = {"name": name}
    if not kinds:
        checker.error(field.path, field.line, "a step needs exactly one of: " + ", ".join(STEP_KINDS))
    else:
        for extra in kinds[1:]:
            entry = entries[extra]
            message = f"a step has exactly one kind, found both '{kinds[0]}' and '{extra}'"
            checker.error(entry.path, entry.line, message)
        data["kind"] = kinds[0]
        config = KIND_READERS[kinds[0]](checker, entries[kinds[0]])
        data[kinds[0]] = config
    needs, needs_line = _needs(checker, entries.get("needs"))
    if needs is not None:
        data["needs"] = [need.name for need in needs]
    readers: dict[str, Callable[[Field], object]] = {
        "matrix": lambda f: _matrix(checker, f),
        "env": checker.env_map,
        "timeout": checker.duration,
        "retries": lambda f: checker.integer(f, 0, MAX_RETRIES),
        "retry_delay": lambda f: checker.duration(f, positive=False),
        "allow_failure": checker.boolean,
        "when": lambda f: _when(checker, f),
    }
    for key, reader in readers.items():
        option = entries.get(key)
        if option is not None and not is_null(option.value):
            data[key] = reader(option)
    name_line = entries["name"].line if "name" in entries else field.line
    valid = len(checker.issues) == before
    return StepDraft(field.path, field.line, name, name_line, needs, needs_line, data if valid else None)


def _name(checker: Checker, field: Field, entries: dict[str, Field]) -> str | None:
    entry = entries.get("name")
    if entry is None or is_null(entry.value):
        checker.error(f"{field.path}.name", field.line, "missing required key 'name'")
        return None
    return checker.name(entry, STEP_NAME, STEP_NAME_RULE)


def _needs(checker: Checker, entry: Field | None) -> tuple[list[NeedRef] | None, int | None]:
    """Explicit needs (None when the key is absent: the step waits for the one before it)."""
    if entry is None or is_null(entry.value):
        return None, None
    elements = checker.items(entry, allow_single=True)
    if elements is None:
        return [], entry.line
    refs: list[NeedRef] = []
    for element in elements:
        text = checker.string(element, expected="a step name")
        if text is not None:
            refs.append(NeedRef(text, element.path, element.line))
    return refs, entry.line


def _matrix(checker: Checker, field: Field) -> dict[str, list[str]] | None:
    """KEY -> non-empty list of distinct scalars, taken as written."""
    entries = checker.mapping(field)
    if entries is None:
        return None
    if not entries:
        checker.error(field.path, field.line, "a matrix needs at least one variable")
        return None
    result: dict[str, list[str]] = {}
    ok = True
    for key, entry in entries.items():
        values = _matrix_values(checker, key, entry)
        if values is None:
            ok = False
        else:
            result[key] = values
    if not ok:
        return None
    size = math.prod(len(values) for values in result.values())
    if size > MAX_MATRIX:
        checker.error(field.path, field.line, f"the matrix expands to {size} steps; at most {MAX_MATRIX} allowed")
        return None
    return result


def _matrix_values(checker: Checker, key: str, entry: Field) -> list[str] | None:
    if not ENV_NAME.match(key):
        message = f"invalid matrix variable '{key}': use letters, digits and _, not starting with a digit"
        checker.error(entry.path, entry.line, message)
        return None
    elements = checker.items(entry)
    if elements is None:
        return None
    if not elements:
        checker.error(entry.path, entry.line, f"matrix variable '{key}' needs at least one value")
        return None
    values: list[str] = []
    ok = True
    for element in elements:
        value = checker.string(element, coerce=True, expected="a scalar (string, number or boolean)")
        if value is None:
            ok = False
        elif not value or _MATRIX_FORBIDDEN & set(value):
            message = f"invalid matrix value {value!r}: must be non-empty, without [ ] , = or line breaks"
            checker.error(element.path, element.line, message)
            ok = False
        elif value in values:
            checker.error(element.path, element.line, f"duplicate matrix value '{value}'")
            ok = False
        else:
            values.append(value)
    return values if ok else None


def _when(checker: Checker, field: Field) -> dict[str, Any] | None:
    """`when: {branch?, event?, status?}`: branch globs, trigger events, upstream outcome."""
    entries = checker.mapping(field, ("branch", "event", "status"))
    if entries is None:
        return None
    data: dict[str, Any] = {}
    ok = True
    if "branch" in entries and not is_null(entries["branch"].value):
        branches = checker.string_list(entries["branch"], coerce=True)
        ok = ok and branches is not None
        data["branch"] = branches
    if "event" in entries and not is_null(entries["event"].value):
        elements = checker.items(entries["event"], allow_single=True)
        events = [checker.choice(element, EVENTS) for element in elements or []]
        ok = ok and elements is not None and None not in events
        data["event"] = events
    if "status" in entries and not is_null(entries["status"].value):
        status = checker.choice(entries["status"], WHEN_STATUSES)
        ok = ok and status is not None
        data["status"] = status
    return data if ok else None
