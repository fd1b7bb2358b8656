"""RFC 9457 problem details: the one response shape for every error, and its OpenAPI documentation."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldProblem(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = msgspec.field(default_factory=list)
    retry_after: int | None = None


_TITLES = {
    400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 413: "Payload too large", 415: "Unsupported media type",
    422: "Unprocessable content", 429: "Too many requests", 500: "Internal server error",
    503: "Service unavailable",
}

_NAMED_FIELD = re.compile(r"(unknown|missing required) field `([^`]*)`")
_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`")
_BODY_PARAMETER = "data"  # Litestar's name for the request body parameter: clients never see it


def problem(status: int, detail: str, errors: list[FieldProblem] | None = None, title: str | None = None) -> Problem:
    title = title or _TITLES.get(status, "Error")
    slug = title.lower().replace(" ", "-")
    return Problem(type=f"https://ansflow.dev/problems/{slug}", title=title, status=status, detail=detail,
                   errors=errors or [])


def _field_problem(item: dict[str, Any]) -> FieldProblem:
    message = str(item.get("message", "invalid value"))
    key = str(item.get("key") or "")
    at = _AT_PATH.search(message)
    prefix = at.group(1) if at else ""
    named = _NAMED_FIELD.search(message)
    if named:  # the field is named as sent, even an empty name
        kind, name = named.groups()
        field = f"{prefix}.{name}" if prefix else name
        return FieldProblem(field=field, message="unknown field" if kind == "unknown" else "required field missing")
    if prefix:
        return FieldProblem(field=prefix, message=_AT_PATH.sub("", message))
    if item.get("source") == "body" and key == _BODY_PARAMETER:
        if message == repr(key):  # Litestar's KeyError text: there was no body at all
            return FieldProblem(field="body", message="a JSON request body is required")
        return FieldProblem(field="body", message=message)
    return FieldProblem(field=key or "body", message=message)


def field_problems(extra: Any) -> list[FieldProblem]:
    """Turn Litestar/msgspec validation extras into [{field, message}] naming the real field."""
    if not isinstance(extra, list):
        return []
    return [_field_problem(item) for item in extra if isinstance(item, dict)]


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI documentation for the problem responses a handler can produce."""
    return {
        code: ResponseSpec(data_container=Problem, description=_TITLES.get(code, "Error"),
                           media_type=PROBLEM_MEDIA_TYPE, generate_examples=False)
        for code in codes
    }


T = TypeVar("T")

# Request bodies are msgspec Structs with ``forbid_unknown_fields=True``; Litestar does not render that
# as ``additionalProperties: false``, so clients and fuzzers would believe extra fields are accepted.
# ``data: StrictBody[SomeStruct]`` documents the rejection on the body's component schema.
StrictBody = Annotated[T, Body(schema_extra={"additionalProperties": False})]
