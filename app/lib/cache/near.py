"""The near tier: plain-dict copies of hot read-through entries, consulted before cashews.

Why: a cashews ``get`` passes through its middleware chain, the serializer and (in production) the
Redis tier's guard, tens of microseconds on a request that does three lookups. A hit here is one
dict lookup. Copies live at most ``NEAR_TTL_S`` (and never longer than the entry's own TTL when
filled by a load); every write and every invalidation, local or PUBLISHed by another process,
evicts them, and they are only trusted while the Redis tier's subscription is up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
NEAR_SIZE = 20_000
NEAR_TTL_S = 1.0


class NearCache:
    """Bounded, first-in-first-out, expiring map of key -> bytes."""

    __slots__ = ("_data", "size")

    def __init__(self, size: int = NEAR_SIZE) -> None:
        self._data: dict[str, list[Any]] = {}  # key -> [expires_at, bytes, decoded or None]
        self.size = size

    def get(self, key: str) -> bytes | None:
        item = self.entry(key)
        return None if item is None else item[1]

    def entry(self, key: str) -> list[Any] | None:
        """The live ``[expires_at, bytes, decoded]`` entry (each put makes a new one), or None."""
        item = self._data.get(key)
        if item is None:
            return None
        if item[0] < time.monotonic():
            self._data.pop(key, None)
            return None
        return item

    def holds(self, key: str, item: list[Any]) -> bool:
        """Is ``item`` still the entry under ``key`` (not evicted, replaced or cleared since)?"""
        return self._data.get(key) is item

    def put(self, key: str, value: bytes, ttl: float) -> None:
        if key not in self._data and len(self._data) >= self.size:
            self._data.pop(next(iter(self._data)))
        self._data[key] = [time.monotonic() + min(ttl, NEAR_TTL_S), value, None]

    def decoded(self, key: str, raw: bytes, decode: Callable[[bytes], T]) -> T:
        """``decode(raw)``, kept beside the near copy while that copy is this very ``raw`` object.

        Only for immutable results (frozen Structs, tuples of them): callers share the object.
        """
        item = self._data.get(key)
        if item is None or item[1] is not raw:
            return decode(raw)
        if item[2] is None:
            item[2] = decode(raw)
        result: T = item[2]
        return result

    def evict(self, keys: tuple[str, ...] | list[str]) -> None:
        for key in keys:
            self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
