"""Map every exception to problem details; stack traces are logged, never sent."""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError

from app.lib import errors as domain
from app.web.problems import PROBLEM_MEDIA_TYPE, FieldProblem, Problem, field_problems, problem

log = structlog.get_logger("ansflow.web")

DOMAIN_STATUS: dict[type[domain.DomainError], int] = {
    domain.ValidationFailed: 400,
    domain.NotAuthenticated: 401,
    domain.Forbidden: 403,
    domain.NotFound: 404,
    domain.InvalidTransition: 409,
    domain.Conflict: 409,
    domain.RateLimited: 429,
    domain.ServiceUnavailable: 503,
}


def _status_for(exc: domain.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 400


def problem_response(body: Problem, headers: dict[str, str] | None = None) -> Response[Problem]:
    return Response(content=body, status_code=body.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def on_domain_error(_: Request[Any, Any, Any], exc: domain.DomainError) -> Response[Problem]:
    status = _status_for(exc)
    body = problem(
        status,
        exc.detail,
        [FieldProblem(e.field, e.message) for e in exc.errors],
        title=exc.title if status not in (401, 403, 404) else None,
    )
    headers = None
    if isinstance(exc, domain.RateLimited):
        body.retry_after = exc.retry_after
        headers = {"Retry-After": str(exc.retry_after)}
    return problem_response(body, headers)


def _is_undecodable_body(exc: BaseException) -> bool:
    """Litestar turns msgspec's DecodeError (bad JSON, as opposed to a wrong shape) into a 400 ClientException."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, msgspec.DecodeError) and not isinstance(cause, msgspec.ValidationError):
            return True
        cause = cause.__cause__
    return False


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    if status >= 500:  # the framework's own server errors: logged like any other, never sent
        log.error("server error", path=request.url.path, method=request.method, detail=str(exc.detail), exc_info=exc)
    if isinstance(exc, ValidationException):
        errors = field_problems(exc.extra)
        detail = "the request is invalid" if errors else str(exc.detail)
        return problem_response(problem(400, detail, errors, title="Validation failed"))
    if _is_undecodable_body(exc):
        return problem_response(
            problem(
                400,
                f"the request body is not valid JSON ({exc.detail})",
                [FieldProblem("body", "not valid JSON")],
                title="Malformed request body",
            )
        )
    detail = str(exc.detail) if status < 500 else "the server could not complete the request"
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() in {"allow", "retry-after"}}
    return problem_response(problem(status, detail), headers or None)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.error("unhandled error", path=request.url.path, method=request.method, exc_info=exc)
    return problem_response(problem(500, "the server hit an unexpected error; it has been logged"))


def _is_nul_in_text(exc: DBAPIError) -> bool:
    """PostgreSQL refuses NUL in text (SQLSTATE 22021); SQLite stores it. Inputs should reject it first."""
    return getattr(exc.orig, "sqlstate", None) == "22021"


def on_database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Problem]:
    if _is_nul_in_text(exc):
        return problem_response(problem(400, "text must not contain NUL (\\u0000) characters"))
    return on_unexpected(request, exc)


def on_redis_down(request: Request[Any, Any, Any], exc: RedisError) -> Response[Problem]:
    """Sessions live in Redis: without it a cookie request cannot be answered, but it is not our bug."""
    log.warning("redis unavailable", path=request.url.path, error=type(exc).__name__)
    return problem_response(
        problem(503, "a backing service (Redis) is unavailable; try again shortly"), {"Retry-After": "5"}
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    RedisError: on_redis_down,
    DBAPIError: on_database_error,
    domain.DomainError: on_domain_error,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
