"""Typed reads from composed YAML nodes that collect every problem with its line.

Validation works on nodes (not loaded Python values) because only nodes keep the line marks
users need, and because reading scalars from their source text keeps "3.10" from becoming 3.1.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, NamedTuple

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.domain.pipelines.durations import parse_duration

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_TAG_NAMES = {
    "tag:yaml.org,2002:str": "a string",
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a date",
}
_COERCIBLE_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"}


class Issue(NamedTuple):
    """One validation problem: where (dotted path and 1-based line) and what."""

    path: str
    line: int | None
    message: str


class Field(NamedTuple):
    """A mapping entry: the value node plus the path and line of its key, for error reports."""

    value: Node
    path: str
    line: int


def line_of(node: Node) -> int:
    """1-based line where the node starts."""
    return int(node.start_mark.line) + 1


def join(path: str, key: str) -> str:
    """Dotted path of a key below path."""
    return f"{path}.{key}" if path else key


def describe(node: Node) -> str:
    """The node's type in words, for "expected X, got Y" messages."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return _TAG_NAMES.get(str(node.tag), "a value")


def is_null(node: Node) -> bool:
    """True for an empty value or an explicit ~/null."""
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def is_string(node: Node) -> bool:
    """True for a scalar YAML reads as a string."""
    return isinstance(node, ScalarNode) and node.tag == _STR_TAG


class Checker:
    """Collects issues while reading nodes; readers return None when the value is unusable."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self._constructor = SafeConstructor()

    def error(self, path: str, line: int | None, message: str) -> None:
        """Record one problem."""
        self.issues.append(Issue(path, line, message))

    def type_error(self, field: Field, expected: str) -> None:
        """Record a wrong-type problem naming the expected type."""
        self.error(field.path, field.line, f"expected {expected}, got {describe(field.value)}")

    def construct(self, node: Node) -> Any:
        """The plain Python value of a node (merge keys applied), or None if it cannot be built."""
        try:
            return self._constructor.construct_object(node, deep=True)
        except (ConstructorError, ValueError, TypeError):
            return None

    def mapping(self, field: Field, allowed: Collection[str] | None = None) -> dict[str, Field] | None:
        """Entries of a mapping by key; reports wrong type, duplicate keys and unknown keys."""
        node = field.value
        if not isinstance(node, MappingNode):
            self.type_error(field, "a mapping")
            return None
        own = [(key, value) for key, value in node.value if key.tag != _MERGE_TAG]
        entries = list(node.value)
        if len(own) != len(entries):
            try:
                self._constructor.flatten_mapping(node)
                entries = list(node.value)
            except ConstructorError as exc:
                self.error(field.path, field.line, f"invalid merge key: {exc.problem}")
                entries = own
        own_ids = {id(key) for key, _ in own}
        seen_own: set[str] = set()
        result: dict[str, Field] = {}
        for key, value in entries:
            if not isinstance(key, ScalarNode) or is_null(key):
                self.error(field.path, line_of(key), "mapping keys must be strings")
                continue
            name = str(key.value)
            if id(key) in own_ids:
                if name in seen_own:
                    self.error(join(field.path, name), line_of(key), f"duplicate key '{name}'")
                    continue
                seen_own.add(name)
            if allowed is not None and name not in allowed:
                self.error(join(field.path, name), line_of(key), _unknown_key_message(name, allowed))
                continue
            result[name] = Field(value, join(field.path, name), line_of(key))
        return result

    def items(self, field: Field, *, allow_single: bool = False) -> list[Field] | None:
        """Elements of a list (a lone scalar counts as a one-element list if allow_single)."""
        node = field.value
        if isinstance(node, SequenceNode):
            return [Field(item, f"{field.path}[{i}]", line_of(item)) for i, item in enumerate(node.value)]
        if allow_single and isinstance(node, ScalarNode) and not is_null(node):
            return [field]
        self.type_error(field, "a list")
        return None

    def string(self, field: Field, *, coerce: bool = False, expected: str = "a string") -> str | None:
        """A string value; with coerce, numbers and booleans are taken as written ("3.10")."""
        node = field.value
        if isinstance(node, ScalarNode) and (node.tag == _STR_TAG or (coerce and node.tag in _COERCIBLE_TAGS)):
            return str(node.value)
        self.type_error(field, expected)
        return None

    def name(self, field: Field, pattern: re.Pattern[str], rule: str) -> str | None:
        """A string that must also match pattern; rule says in words what is allowed."""
        text = self.string(field)
        if text is not None and not pattern.match(text):
            self.error(field.path, field.line, f"invalid name '{text}': {rule}")
            return None
        return text

    def integer(self, field: Field, low: int, high: int | None = None) -> int | None:
        """An integer within [low, high]."""
        value = self.construct(field.value) if isinstance(field.value, ScalarNode) else None
        bounds = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"
        if not isinstance(value, int) or isinstance(value, bool):
            self.type_error(field, bounds)
            return None
        if value < low or (high is not None and value > high):
            self.error(field.path, field.line, f"expected {bounds}, got {value}")
            return None
        return value

    def boolean(self, field: Field) -> bool | None:
        """A true/false value."""
        value = self.construct(field.value) if isinstance(field.value, ScalarNode) else None
        if not isinstance(value, bool):
            self.type_error(field, "a boolean (true or false)")
            return None
        return value

    def duration(self, field: Field, *, positive: bool = True) -> float | None:
        """A duration in seconds ("10m", "1h30m", 90); zero is refused when positive."""
        node = field.value
        value = self.construct(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.type_error(field, "a duration such as 30s, 10m or 1h30m")
            return None
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.error(field.path, field.line, str(exc))
            return None
        if positive and seconds <= 0:
            self.error(field.path, field.line, f"duration must be greater than zero, got {node.value!r}")
            return None
        return seconds

    def choice(self, field: Field, choices: Collection[str]) -> str | None:
        """One of a fixed set of words."""
        text = self.string(field, expected="one of " + ", ".join(choices))
        if text is not None and text not in choices:
            self.error(field.path, field.line, f"invalid value '{text}': expected one of {', '.join(choices)}")
            return None
        return text

    def string_list(self, field: Field, *, allow_single: bool = True, coerce: bool = False) -> list[str] | None:
        """A list of strings (or one string when allow_single); bad elements are reported each."""
        elements = self.items(field, allow_single=allow_single)
        if elements is None:
            return None
        values = [self.string(item, coerce=coerce) for item in elements]
        if any(value is None for value in values):
            return None
        return [value for value in values if value is not None]

    def env_map(self, field: Field) -> dict[str, str] | None:
        """Environment-variable-like mapping: NAME -> string (numbers and booleans as written)."""
        entries = self.mapping(field)
        if entries is None:
            return None
        result: dict[str, str] = {}
        ok = True
        for key, entry in entries.items():
            if not ENV_NAME.match(key):
                self.error(
                    entry.path,
                    entry.line,
                    f"invalid variable name '{key}': use letters, digits and _, not starting with a digit",
                )
                ok = False
                continue
            value = self.string(entry, coerce=True)
            if value is None:
                ok = False
            else:
                result[key] = value
        return result if ok else None


def _unknown_key_message(name: str, allowed: Collection[str]) -> str:
    return f"unknown key '{name}' (allowed: {', '.join(sorted(allowed))})"


def compose(text: str, checker: Checker) -> Node | None:
    """Compose a single YAML document; syntax errors are recorded with their line."""
    try:
        node: Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        checker.error("", int(mark.line) + 1 if mark is not None else None, f"YAML syntax error: {problem}")
        return None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        checker.error("", line, f"YAML syntax error: unacceptable character #x{exc.character:04x}")
        return None
    except yaml.YAMLError as exc:
        checker.error("", None, f"YAML syntax error: {exc}")
        return None
    if node is None:
        checker.error("", 1, "the definition is empty: expected a mapping with 'steps'")
    return node
