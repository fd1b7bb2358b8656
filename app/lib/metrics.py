"""Prometheus metric objects shared by web and workers."""

from __future__ import annotations

from prometheus_client import Gauge

WEBSOCKET_CONNECTIONS = Gauge(
    "ansflow_websocket_connections", "Open WebSocket connections", multiprocess_mode="livesum"
)
