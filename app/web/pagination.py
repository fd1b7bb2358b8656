"""The list envelope of CONTRACT §2: {items, total, limit, offset}."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import Parameter

T = TypeVar("T")

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (max 200)")]
MAX_OFFSET = 2**31 - 1  # larger values overflow the databases' integer types (a 500 instead of a 400)
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="items to skip")]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
