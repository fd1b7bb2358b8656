"""Answers derived only from near-tier copies, reused while every one of those copies is unchanged.

Why: the hottest authenticated read (a dashboard polling a pipeline's status with an API token)
is three read-through lookups (token, status, role) and the checks between them; even from the
near tier that was as much work as the rest of the request. A derived answer remembers the near
copies it was computed from (the very entries ``NearCache`` holds) and is reused only while

- each of them is still the entry the near tier holds (no write, invalidation, eviction, clear
  or expiry since: any of those replaces or drops it, locally or by another process's PUBLISH);
- the near tier is still trusted under the same generation (``AnsflowCache._generation``);
- no deadline noted during the derivation has passed (a token's expiry, its next last-used stamp).

A derivation that read anything but near copies (a miss, a Redis read, a database query) is not
kept: the next request derives again, from the copies the first one left. So an answer is never
older than the near copies it came from (at most ``NEAR_TTL_S``), exactly like the lookups it
replaces, and every invalidation that reaches those lookups reaches it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from app.lib.cache.near import NearCache
from app.lib.metrics_batch import BATCH

ANSWERS_SIZE = 10_000


class Derivation:
    """What one computation read: near entries (with their cache names) and deadlines."""

    __slots__ = ("complete", "deadline", "deps", "generation")

    def __init__(self, generation: object) -> None:
        self.generation = generation  # the near tier's generation when the derivation began
        self.deps: list[tuple[str, str, list[Any]]] = []  # (cache name, key, near entry)
        self.deadline = math.inf  # time.monotonic() after which the answer is stale
        self.complete = True


_CURRENT: ContextVar[Derivation | None] = ContextVar("ansflow_derivation", default=None)


def note_near_hit(name: str, key: str, entry: list[Any]) -> None:
    derivation = _CURRENT.get()
    if derivation is not None:
        derivation.deps.append((name, key, entry))


def note_outside() -> None:
    """The current derivation read something the near tier does not hold: do not keep its answer."""
    derivation = _CURRENT.get()
    if derivation is not None:
        derivation.complete = False


def note_valid_for(seconds: float) -> None:
    """The current derivation's answer must not be reused after ``seconds`` from now."""
    derivation = _CURRENT.get()
    if derivation is not None:
        derivation.deadline = min(derivation.deadline, time.monotonic() + seconds)


class _Answer:
    __slots__ = ("counters", "deadline", "deps", "generation", "value")

    def __init__(self, value: Any, deps: list[tuple[str, list[Any]]], deadline: float, generation: object,
                 counters: list[Any]) -> None:
        self.value = value
        self.deps = deps
        self.deadline = deadline
        self.generation = generation
        self.counters = counters


class DerivedAnswers:
    """Bounded map of answers (first in, first out), each checked against its near entries on read."""

    def __init__(self, near: NearCache, generation: Callable[[], object],
                 hit_counters: Callable[[Iterable[str]], list[Any]], size: int = ANSWERS_SIZE) -> None:
        self._near = near
        self._generation = generation
        self._hit_counters = hit_counters  # the metric children a hit on these cache names increments
        self._answers: dict[Hashable, _Answer] = {}
        self.size = size

    def get(self, key: Hashable) -> Any:
        """The kept answer, or None when there is none or any of its inputs changed."""
        answer = self._answers.get(key)
        if answer is None:
            return None
        stale = answer.deadline < time.monotonic() or answer.generation != self._generation()
        if not stale:
            holds = self._near.holds
            for k, entry in answer.deps:
                if not holds(k, entry):
                    stale = True
                    break
        if stale:
            self._answers.pop(key, None)
            return None
        BATCH.inc_each(answer.counters)  # it stands for the near reads it was computed from
        return answer.value

    @contextmanager
    def deriving(self) -> Iterator[Derivation]:
        """Record what the code in the block reads through ``AnsflowCache.cached``."""
        derivation = Derivation(self._generation())
        reset = _CURRENT.set(derivation)
        try:
            yield derivation
        finally:
            _CURRENT.reset(reset)

    def keep(self, key: Hashable, value: Any, derivation: Derivation) -> None:
        """Keep ``value`` if the derivation read only near entries, all under one trusted generation."""
        generation = derivation.generation
        if not derivation.complete or not derivation.deps or generation is None or generation != self._generation():
            return
        deadline = min(derivation.deadline, *(entry[0] for _, _, entry in derivation.deps))
        if key not in self._answers and len(self._answers) >= self.size:
            self._answers.pop(next(iter(self._answers)))
        deps = [(k, entry) for _, k, entry in derivation.deps]
        counters = self._hit_counters([name for name, _, _ in derivation.deps])
        self._answers[key] = _Answer(value, deps, deadline, generation, counters)
