"""Validation of each step kind's configuration (the value under `run:`, `git:`, ...).

Each reader returns the plain data of the kind's config Struct (see spec.py), or None when the
config is unusable; every problem goes to the Checker with its line.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from yaml.nodes import MappingNode, Node, SequenceNode

from app.domain.pipelines.yamlnodes import Checker, Field, is_null, is_string, join

ROLES = ("guest", "reporter", "developer", "maintainer", "owner")
MAX_EXTRA_VARS_NODES = 1000
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

KindReader = Callable[[Checker, Field], "dict[str, Any] | None"]


def _config(
    checker: Checker, field: Field, allowed: Collection[str], required: Collection[str] = ()
) -> dict[str, Field] | None:
    """The kind's mapping, with unknown keys and missing required keys reported."""
    entries = checker.mapping(field, allowed)
    if entries is None:
        return None
    missing = [key for key in required if key not in entries or is_null(entries[key].value)]
    for key in missing:
        checker.error(join(field.path, key), field.line, f"missing required key '{key}'")
    return None if missing else entries


def _read(
    checker: Checker, entries: dict[str, Field], readers: dict[str, Callable[[Field], object]]
) -> dict[str, Any] | None:
    """Apply one reader per present, non-null key; None if any of them failed."""
    data: dict[str, Any] = {}
    ok = True
    for key, reader in readers.items():
        entry = entries.get(key)
        if entry is None or is_null(entry.value):
            continue
        value = reader(entry)
        if value is None:
            ok = False
        else:
            data[key] = value
    return data if ok else None


def commands(checker: Checker, field: Field) -> list[str] | None:
    """A shell command or a list of them, none empty."""
    values = checker.string_list(field, allow_single=True)
    if values is None:
        return None
    if not values or any(not value.strip() for value in values):
        checker.error(field.path, field.line, "expected a non-empty command or list of commands")
        return None
    return values


def read_run(checker: Checker, field: Field) -> dict[str, Any] | None:
    """`run: pytest -q` or `run: [make, make test]`."""
    values = commands(checker, field)
    return None if values is None else {"commands": values}


def read_git(checker: Checker, field: Field) -> dict[str, Any] | None:
    """`git: {url, ref?, credential?, depth?}`."""
    entries = _config(checker, field, ("url", "ref", "credential", "depth"), ("url",))
    if entries is None:
        return None
    return _read(
        checker,
        entries,
        {
            "url": checker.string,
            "ref": lambda f: checker.string(f, coerce=True),
            "credential": checker.string,
            "depth": lambda f: checker.integer(f, 1),
        },
    )


def read_ansible(checker: Checker, field: Field) -> dict[str, Any] | None:
    """`ansible: {playbook, inventory?, credential?, extra_vars?, tags?, limit?, check?}`."""
    allowed = ("playbook", "inventory", "credential", "extra_vars", "tags", "limit", "check")
    entries = _config(checker, field, allowed, ("playbook",))
    if entries is None:
        return None
    return _read(
        checker,
        entries,
        {
            "playbook": checker.string,
            "inventory": checker.string,
            "credential": checker.string,
            "extra_vars": lambda f: _extra_vars(checker, f),
            "tags": lambda f: checker.string_list(f, coerce=True),
            "limit": checker.string,
            "check": checker.boolean,
        },
    )


def _extra_vars(checker: Checker, field: Field) -> dict[str, Any] | None:
    """Ansible extra vars keep their YAML types (they become JSON for --extra-vars)."""
    entries = checker.mapping(field)
    if entries is None:
        return None
    if _expanded_size(field.value) > MAX_EXTRA_VARS_NODES:
        checker.error(field.path, field.line, f"extra_vars too large: at most {MAX_EXTRA_VARS_NODES} values")
        return None
    return {key: checker.construct(entry.value) for key, entry in entries.items()}


def _expanded_size(node: Node) -> int:
    """Values counted with aliases expanded (stops past the limit), so `&a`/`*a` nesting
    cannot turn a small document into an exponentially large (or recursive) value."""
    count = 0
    stack = [node]
    while stack and count <= MAX_EXTRA_VARS_NODES:
        current = stack.pop()
        count += 1
        if isinstance(current, SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, MappingNode):
            stack.extend(value for pair in current.value for value in pair)
    return count


def read_approval(checker: Checker, field: Field) -> dict[str, Any] | None:
    """`approval: {role?, timeout?, message?}`; an empty `approval:` takes the defaults."""
    if is_null(field.value):
        return {}
    entries = _config(checker, field, ("role", "timeout", "message"))
    if entries is None:
        return None
    return _read(
        checker,
        entries,
        {
            "role": lambda f: checker.choice(f, ROLES),
            "timeout": checker.duration,
            "message": checker.string,
        },
    )


def read_http(checker: Checker, field: Field) -> dict[str, Any] | None:
    """`http: {url, method?, headers?, body?, expect_status?, timeout?}`."""
    allowed = ("url", "method", "headers", "body", "expect_status", "timeout")
    entries = _config(checker, field, allowed, ("url",))
    if entries is None:
        return None
    return _read(
        checker,
        entries,
        {
            "url": checker.string,
            "method": lambda f: _method(checker, f),
            "headers": lambda f: _headers(checker, f),
            "body": checker.string,
            "expect_status": lambda f: _statuses(checker, f),
            "timeout": checker.duration,
        },
    )


def _method(checker: Checker, field: Field) -> str | None:
    text = checker.string(field)
    if text is None:
        return None
    if text.upper() not in HTTP_METHODS:
        checker.error(field.path, field.line, f"invalid method '{text}': expected one of {', '.join(HTTP_METHODS)}")
        return None
    return text.upper()


def _headers(checker: Checker, field: Field) -> dict[str, str] | None:
    entries = checker.mapping(field)
    if entries is None:
        return None
    values = {key: checker.string(entry, coerce=True) for key, entry in entries.items()}
    if any(value is None for value in values.values()):
        return None
    return {key: value for key, value in values.items() if value is not None}


def _statuses(checker: Checker, field: Field) -> list[int] | None:
    """One status code or a list of them."""
    elements = checker.items(field, allow_single=True)
    if elements is None:
        return None
    codes = [checker.integer(element, 100, 599) for element in elements]
    if not codes or any(code is None for code in codes):
        if not codes:
            checker.error(field.path, field.line, "expected at least one status code")
        return None
    return [code for code in codes if code is not None]


def read_notify(checker: Checker, field: Field) -> dict[str, Any] | None:
    """`notify: {message, url?, channel?}`, or just `notify: "text"`."""
    if is_string(field.value):
        message = checker.string(field)
        if not message:
            checker.error(field.path, field.line, "expected a non-empty message")
            return None
        return {"message": message}
    entries = _config(checker, field, ("message", "url", "channel"), ("message",))
    if entries is None:
        return None
    return _read(
        checker,
        entries,
        {"message": checker.string, "url": checker.string, "channel": checker.string},
    )


def read_docker(checker: Checker, field: Field) -> dict[str, Any] | None:
    """`docker: {image, run?, env?, workdir?}`; without `run` the image's own command runs."""
    entries = _config(checker, field, ("image", "run", "env", "workdir"), ("image",))
    if entries is None:
        return None
    return _read(
        checker,
        entries,
        {
            "image": checker.string,
            "run": lambda f: commands(checker, f),
            "env": checker.env_map,
            "workdir": checker.string,
        },
    )


KIND_READERS: dict[str, KindReader] = {
    "run": read_run,
    "git": read_git,
    "ansible": read_ansible,
    "approval": read_approval,
    "http": read_http,
    "notify": read_notify,
    "docker": read_docker,
}
