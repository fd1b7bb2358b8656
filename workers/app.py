"""Entry point for the ``dramatiq`` CLI: ``dramatiq workers.app`` (see ``just worker``).

Builds the broker from ANSFLOW_* settings, declares the actors and starts the periodic sweeper
on the worker's event loop. Never imports litestar.
"""

from __future__ import annotations

import dramatiq

from app.config import Settings
from app.lib.broker import Queues, create_broker
from app.lib.log import configure_logging
from app.lib.metrics import set_process_role
from workers.context import CONTEXT
from workers.middleware import SweeperMiddleware
from workers.registry import register_actors
from workers.schedules import ScheduleMiddleware

settings = Settings.from_env()
set_process_role("worker")
configure_logging(settings.log_level)
broker = create_broker(settings)
broker.add_middleware(SweeperMiddleware(CONTEXT))
broker.add_middleware(ScheduleMiddleware(CONTEXT))
dramatiq.set_broker(broker)
register_actors(broker, Queues(settings.key_prefix))
CONTEXT.configure(settings, broker)
