"""Server-side sessions that never adopt an id the server did not issue.

Litestar's backend stores an empty session under whatever cookie value a client sends and echoes
it back, on every route: a client could fill the store with keys of its choosing, and a cookie
value that is not latin-1 broke responses. Here an empty session is never stored; a presented
cookie for it is cleared instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware.session.base import SessionMiddleware
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, ScopeSession, Send
from litestar.utils.scope.state import ScopeState

REFRESH_S = 3600  # an unchanged session is written back (store TTL, cookie max-age) at most this often
_REFRESHED = "_refreshed"  # when the session was last written (epoch seconds), kept in its data


class StrictSessionBackend(ServerSideSessionBackend):
    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        """Load the session and remember its stored bytes, to know later whether it changed."""
        session_id = connection.cookies.get(self.config.key)
        if not session_id:
            return {}
        data = await self.get(session_id, store=self.config.get_store_from_app(connection.scope["app"]))
        if data is None:
            return {}
        connection.state.ansflow_session_stored = data
        return self.deserialize_data(data)

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        """The presented or already issued id; "" when there is none yet.

        Litestar generates a random id for every request that arrives without a cookie (~20 us of
        ``urandom`` on each API call with a token); here one is generated only when a session is
        actually stored (``store_in_message``).
        """
        presented = connection.cookies.get(self.config.key)
        if presented and presented != "null":
            return presented
        return connection.get_session_id() or ""

    def _unchanged_and_fresh(self, session: dict[str, Any], connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
        stored = connection.state.get("ansflow_session_stored")
        refreshed = session.get(_REFRESHED)
        return (stored is not None and isinstance(refreshed, int) and time.time() - refreshed < REFRESH_S
                and self.serialize_data(session, connection.scope) == stored)

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        if scope_session is not Empty and scope_session:
            if not self.get_session_id(connection):
                ScopeState.from_scope(connection.scope).session_id = self.generate_session_id()
            elif isinstance(scope_session, dict) and self._unchanged_and_fresh(scope_session, connection):
                return  # a read: no store write, no Set-Cookie (the sliding expiry moves hourly)
            if isinstance(scope_session, dict):
                scope_session[_REFRESHED] = int(time.time())
            await super().store_in_message(scope_session, message, connection)
            return
        presented = connection.cookies.get(self.config.key)
        if not presented or presented == "null":
            return  # nothing was sent and nothing is stored: no cookie at all
        store = self.config.get_store_from_app(connection.scope["app"])
        if presented.isascii():
            await self.delete(presented, store=store)
        headers = MutableScopeHeaders.from_message(message)
        headers.add(
            "Set-Cookie",
            Cookie(
                value="null",
                key=self.config.key,
                expires=0,
                path=self.config.path,
                httponly=True,
                samesite=self.config.samesite,
            ).to_header(header=""),
        )


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LazySessions:
    """Session middleware factory that skips the session machinery for HTTP requests without cookies.

    API clients with a token never send one, and for them Litestar's middleware only builds a
    connection, parses absent cookies, checks its exclusion rules and wraps ``send`` (a tenth of a
    cached read). Such a request starts with an empty session; if a handler of an unsafe method
    fills it (a login is a POST), it is stored as usual. GET, HEAD and OPTIONS never start a session
    (reads must not create server state), so they go straight through. Requests with a cookie, and
    sockets, get Litestar's middleware. ``config`` lets ``deps.session_config`` find the cookie name
    and store.
    """

    def __init__(self, config: StrictSessionConfig) -> None:
        self.config = config
        self.backend = StrictSessionBackend(config=config)

    def __call__(self, app: ASGIApp) -> ASGIApp:
        full = SessionMiddleware(app, self.backend)
        store_in_message = self.backend.store_in_message

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or any(name == b"cookie" for name, _ in scope["headers"]):
                await full(scope, receive, send)
                return
            scope["session"] = {}
            if scope["method"] in SAFE_METHODS:
                await app(scope, receive, send)
                return

            async def send_storing_new_session(message: Message) -> None:
                session = scope.get("session")
                if message["type"] == "http.response.start" and session is not Empty and session:
                    connection = ASGIConnection[Any, Any, Any, Any](scope, receive=receive, send=send)
                    await store_in_message(session, message, connection)
                await send(message)

            await app(scope, receive, send_storing_new_session)

        return middleware


@dataclass
class StrictSessionConfig(ServerSideSessionConfig):
    _backend_class = StrictSessionBackend

    @property
    def middleware(self) -> LazySessions:  # type: ignore[override]
        return LazySessions(self)
