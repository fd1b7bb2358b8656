"""Observations made where the work happens (in workers): step durations and enqueue -> start latency.

Called from the one status-transition function, so it must be cheap and must never raise: a
metric is not worth failing a step for. The queue latency is observed once per execution, when
its first step starts (the execution's ``started_at`` is set by then); a per-process memory of
recent ids keeps parallel first steps from counting it twice.
"""

from __future__ import annotations

from collections import OrderedDict

import structlog

from app.db.models.executions import Execution, ExecutionStep
from app.domain.executions.states import STEP_FINAL
from app.domain.runtime import Runtime
from app.lib.clock import ensure_utc
from app.lib.metrics import QUEUE_LATENCY, STEP_DURATION, instrument_engine

_SEEN: OrderedDict[object, None] = OrderedDict()
_SEEN_MAX = 10_000
log = structlog.get_logger("ansflow.monitoring")


def observe_step(rt: Runtime, execution: Execution, step: ExecutionStep, new: str) -> None:
    try:
        instrument_engine(rt.engine)
        if new in STEP_FINAL and step.started_at is not None and step.finished_at is not None and not step.reused:
            seconds = (ensure_utc(step.finished_at) - ensure_utc(step.started_at)).total_seconds()
            STEP_DURATION.labels(step.kind, new).observe(max(seconds, 0.0))
        if new == "running" and execution.id not in _SEEN and execution.started_at and execution.enqueued_at:
            _SEEN[execution.id] = None
            if len(_SEEN) > _SEEN_MAX:
                _SEEN.popitem(last=False)
            waited = (ensure_utc(execution.started_at) - ensure_utc(execution.enqueued_at)).total_seconds()
            QUEUE_LATENCY.labels(rt.queues.executions).observe(max(waited, 0.0))
    except Exception as exc:  # never let a metric break a transition
        log.debug("step observation failed", error=repr(exc))
