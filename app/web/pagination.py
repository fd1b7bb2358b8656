"""The list envelope of CONTRACT §2: {items, total, limit, offset}."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import Parameter

T = TypeVar("T")

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (max 200)")]
Offset = Annotated[int, Parameter(ge=0, description="items to skip")]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
