"""Small helpers shared by the measurement modules."""

from __future__ import annotations

from typing import Any

from bench.core import Row
from bench.load import LoadResult

TRUE_PIPELINE = 'steps:\n  - name: t\n    run: "true"\n'


def load_rows(measurement: str, app: list[LoadResult], base: list[LoadResult], baseline: str,
              note: str = "") -> list[Row]:
    """Throughput, p50 and p99 rows from repeated loads of the app and of its baseline."""
    errs = sum(r.errors + r.non2xx for r in app)
    tool = app[0].tool if app else "-"
    text = f"{tool}; {note}".strip("; ")
    if errs:
        text += f"; {errs} errors/non-2xx in app runs"
    extra: dict[str, Any] = {"app_runs": [r.to_json() for r in app], "baseline_runs": [r.to_json() for r in base]}
    return [
        Row(measurement, "throughput", "req/s", [r.rps for r in app], baseline, [r.rps for r in base], True,
            note=text, extra=extra),
        Row(measurement, "p50 latency", "ms", [r.p(50) or 0 for r in app], baseline,
            [r.p(50) or 0 for r in base], False),
        Row(measurement, "p99 latency", "ms", [r.p(99) or 0 for r in app], baseline,
            [r.p(99) or 0 for r in base], False),
    ]
