"""Request dependencies: the process Runtime, a database session, the authenticated Principal."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.middleware.session.server_side import ServerSideSessionConfig
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.accounts.principal import Principal, RequestMeta
from app.domain.accounts.tokens import principal_for_token
from app.domain.accounts.users import load_principal
from app.domain.runtime import Runtime
from app.lib.cache import AnsflowCache
from app.lib.cache.derived import note_outside
from app.lib.errors import Forbidden, NotAuthenticated
from app.web.sessions import SAFE_METHODS, LazySessions

CSRF_HEADER = "x-csrf-token"


def provide_runtime(state: State) -> Runtime:
    rt: Runtime = state.runtime
    return rt


class LazySession:
    """Stands in for an ``AsyncSession`` and creates it on first use.

    Cached reads answer most requests without a query; building a session (and closing it) cost
    them about as much as the cache lookups. Every attribute is the real session's.
    """

    __slots__ = ("_maker", "_session")

    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._maker = maker
        self._session: AsyncSession | None = None

    def __getattr__(self, name: str) -> Any:
        if self._session is None:
            note_outside()  # a derivation that queries the database is not kept (cache/derived.py)
            self._session = self._maker()
        return getattr(self._session, name)

    async def close_if_used(self) -> None:
        """Close the session if one was made and began a transaction (an unused one holds nothing)."""
        if self._session is not None and self._session.in_transaction():
            await self._session.close()


@asynccontextmanager
async def request_session(rt: Runtime) -> AsyncIterator[AsyncSession]:
    """A session for one request: made on first use, closed only if it began a transaction."""
    lazy = LazySession(rt.sessionmaker)
    try:
        yield cast(AsyncSession, lazy)
    finally:
        await lazy.close_if_used()


async def provide_db(rt: Runtime) -> AsyncGenerator[AsyncSession, None]:
    """A real session (Litestar checks injected values' types), closed only if it began a transaction.

    Depending on ``rt`` keeps Litestar's dependency batches at one each (``rt`` -> ``db`` ->
    ``principal``), so it awaits them in turn instead of spawning a task group per request.
    """
    session = rt.sessionmaker()
    try:
        yield session
    finally:
        if session.in_transaction():
            await session.close()


def raw_header(connection: ASGIConnection[Any, Any, Any, Any], name: bytes) -> str | None:
    """One header straight from the scope (``name`` lower-case), without parsing them all."""
    for key, value in connection.scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, if there is one."""
    header = raw_header(connection, b"authorization") or ""
    return (header[7:].strip() or None) if header[:7].lower() == "bearer " else None


def request_meta(connection: ASGIConnection[Any, Any, Any, Any]) -> RequestMeta:
    client = connection.scope.get("client")
    return RequestMeta(ip=client[0] if client else None, user_agent=raw_header(connection, b"user-agent"))


def _session_data(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    try:
        data = connection.session
    except Exception:  # no session middleware on this connection
        return {}
    return data if isinstance(data, dict) else {}


def session_config(app: Litestar) -> ServerSideSessionConfig | None:
    """The app's server-side session configuration (cookie name, store), read from its middleware."""
    for middleware in app.middleware:
        if isinstance(middleware, LazySessions):
            return middleware.config
    return None


async def drop_presented_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Forget the session id the client arrived with, so the next ``set_session`` gets a fresh one.

    Litestar keeps a session id it finds in the cookie, even one it never issued; a login must not
    authenticate an id chosen by someone else (session fixation). The old session is deleted.
    """
    config = session_config(connection.app)
    if config is None:
        return
    old = connection.cookies.pop(config.key, None)  # the middleware reads the same parsed cookies
    connection.clear_session()  # also forgets the id the middleware noted when the request came in
    if old:
        await config.get_store_from_app(connection.app).delete(old)


def _cache(connection: ASGIConnection[Any, Any, Any, Any]) -> AnsflowCache | None:
    rt: Runtime | None = getattr(connection.app.state, "runtime", None)
    return rt.cache if rt is not None else None


async def resolve_principal(
    connection: ASGIConnection[Any, Any, Any, Any], db: AsyncSession, *, method: str | None = None
) -> Principal:
    """Bearer token (header, or ?token= for sockets) first, else the session cookie with CSRF on writes."""
    meta = request_meta(connection)
    token = bearer_token(connection)
    if token is None and connection.scope["type"] == ScopeType.WEBSOCKET:
        token = connection.query_params.get("token")
    if token:
        return await principal_for_token(db, token, meta, _cache(connection))
    session = _session_data(connection)
    user_id = session.get("user_id")
    if not user_id:
        config = session_config(connection.app)
        if config is not None and config.key in connection.cookies and connection.scope["type"] == ScopeType.HTTP:
            connection.clear_session()  # an unknown or logged-out id: do not store it, tell the browser to drop it
        raise NotAuthenticated("log in or send an API token (Authorization: Bearer ...)")
    if method is not None and method not in SAFE_METHODS:
        expected = str(session.get("csrf", ""))
        given = connection.headers.get(CSRF_HEADER, "")
        # bytes: compare_digest raises on non-ASCII str, and a header may carry any latin-1 byte
        if not expected or not secrets.compare_digest(expected.encode(), given.encode()):
            raise Forbidden("missing or invalid X-CSRF-Token header for a cookie-authenticated write")
    return await load_principal(db, uuid.UUID(str(user_id)), "session", meta, _cache(connection))


async def provide_principal(request: ASGIConnection[Any, Any, Any, Any], db: AsyncSession) -> Principal:
    return await resolve_principal(request, db, method=str(request.scope.get("method", "GET")))


async def provide_admin(principal: Principal) -> Principal:
    if not principal.is_admin:
        raise Forbidden("administrators only")
    return principal
