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

_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]*)`")
_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`")


def problem(status: int, detail: str, errors: list[FieldProblem] | None = None, title: str | None = None) -> Problem:
    title = title or _TITLES.get(status, "Error")
    slug = title.lower().replace(" ", "-")
    return Problem(type=f"https://ansflow.dev/problems/{slug}", title=title, status=status, detail=detail,
                   errors=errors or [])


def field_problems(extra: Any) -> list[FieldProblem]:
    """Turn Litestar/msgspec validation extras into [{field, message}] naming the real field."""
    if not isinstance(extra, list):
        return []
    out: list[FieldProblem] = []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        field = str(item.get("key") or "")
        unknown = _UNKNOWN_FIELD.search(message)
        at = _AT_PATH.search(message)
        if unknown:  # the field is named as sent, even an empty name
            prefix = at.group(1) if at else ""
            out.append(FieldProblem(field=f"{prefix}.{unknown.group(1)}" if prefix else unknown.group(1),
                                    message="unknown field"))
            continue
        if at and at.group(1):
            field = at.group(1)
            message = _AT_PATH.sub("", message)
        out.append(FieldProblem(field=field or "body", message=message))
    return out


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
