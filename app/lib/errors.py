"""Domain errors. The web layer maps each class to one HTTP status in one table."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec


class FieldError(msgspec.Struct, frozen=True):
    field: str
    message: str


class DomainError(Exception):
    """Base for errors a user can act on; ``detail`` is safe to show to clients."""

    title = "Error"

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)


class NotFound(DomainError):
    title = "Not found"


class Conflict(DomainError):
    title = "Conflict"


class Forbidden(DomainError):
    title = "Forbidden"


class NotAuthenticated(DomainError):
    title = "Not authenticated"


class InvalidTransition(Conflict):
    title = "Invalid state transition"


class ValidationFailed(DomainError):
    title = "Validation failed"


class RateLimited(DomainError):
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    title = "Service unavailable"
