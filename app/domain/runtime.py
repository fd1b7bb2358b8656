"""Everything a domain service needs from the outside world, built once per process.

The web lifespan and the worker boot each build one ``Runtime`` on their own event loop (pools
are loop-bound) and hand it to services explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dramatiq
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.engine import create_engine, create_sessionmaker
from app.lib.broker import Queues, create_broker
from app.lib.cache import AnsflowCache, create_cache
from app.lib.events import ChannelNames, EventPublisher, create_publisher
from app.lib.metrics import instrument_engine
from app.lib.security import SecretBox


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    cache: AnsflowCache
    publisher: EventPublisher
    broker: dramatiq.Broker
    box: SecretBox
    channels: ChannelNames
    queues: Queues
    extras: dict[str, object] = field(default_factory=dict)

    async def close(self) -> None:
        await self.publisher.close()
        await self.cache.close()
        await self.engine.dispose()


def build_runtime(settings: Settings, broker: dramatiq.Broker | None = None) -> Runtime:
    """Create pools and clients; call from inside the event loop that will use them."""
    engine = create_engine(settings)
    instrument_engine(engine)  # pool gauges from the first connection on
    return Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        cache=create_cache(settings),
        publisher=create_publisher(settings),
        broker=broker if broker is not None else create_broker(settings),
        box=SecretBox(settings.resolved_secret_key()),
        channels=ChannelNames(settings.key_prefix),
        queues=Queues(settings.key_prefix),
    )
