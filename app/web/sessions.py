"""Server-side sessions that never adopt an id the server did not issue.

Litestar's backend stores an empty session under whatever cookie value a client sends and echoes
it back, on every route: a client could fill the store with keys of its choosing, and a cookie
value that is not latin-1 broke responses. Here an empty session is never stored; a presented
cookie for it is cleared instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, ScopeSession


class StrictSessionBackend(ServerSideSessionBackend):
    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        if scope_session is not Empty and scope_session:
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


@dataclass
class StrictSessionConfig(ServerSideSessionConfig):
    _backend_class = StrictSessionBackend
