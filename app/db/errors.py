"""Recognise unique-constraint violations on both SQLite and PostgreSQL (they surface differently)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError


def is_unique_violation(exc: BaseException) -> bool:
    if not isinstance(exc, IntegrityError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23505" or getattr(orig, "pgcode", None) == "23505":
        return True
    text = str(orig).lower()
    return "unique constraint" in text or "duplicate key" in text
