"""The parsed ``triggers`` of a pipeline version, memoised: webhooks and the schedule loop ask often,
and a (pipeline, version) pair never changes its definition, so each is parsed once per process."""

from __future__ import annotations

import uuid
from typing import Final

from app.domain.pipelines.spec import Triggers, parse_definition

_MAX_ENTRIES: Final = 4096
_cache: dict[tuple[uuid.UUID, int], Triggers | None] = {}


def pipeline_triggers(pipeline_id: uuid.UUID, version: int, definition: str) -> Triggers | None:
    """The version's triggers, or None when its definition no longer validates."""
    cache_key = (pipeline_id, version)
    if cache_key not in _cache:
        if len(_cache) >= _MAX_ENTRIES:
            _cache.clear()
        parsed = parse_definition(definition)
        _cache[cache_key] = parsed.spec.triggers if parsed.spec is not None else None
    return _cache[cache_key]
