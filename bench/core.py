"""Result rows, statistics, the printed table and the JSON results file."""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"


@dataclass
class Row:
    """One line of the table: a measured quantity over repetitions, next to its same-run baseline."""

    measurement: str
    metric: str
    unit: str
    values: list[float] = field(default_factory=list)
    baseline: str = ""
    baseline_values: list[float] = field(default_factory=list)
    higher_is_better: bool = True
    status: str = "ok"  # ok | skipped | error
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float | None:
        return median(self.values)

    @property
    def baseline_median(self) -> float | None:
        return median(self.baseline_values)

    @property
    def ratio(self) -> float | None:
        m, b = self.median, self.baseline_median
        if m is None or b is None or b == 0:
            return None
        return m / b

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(median=self.median, spread=spread(self.values), baseline_median=self.baseline_median,
                    baseline_spread=spread(self.baseline_values), ratio=self.ratio)
        return data


def skipped(measurement: str, reason: str, metric: str = "-") -> Row:
    return Row(measurement, metric, "", status="skipped", note=reason)


def errored(measurement: str, reason: str, metric: str = "-") -> Row:
    return Row(measurement, metric, "", status="error", note=reason)


def median(values: list[float]) -> float | None:
    clean = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(clean) if clean else None


def spread(values: list[float]) -> dict[str, Any] | None:
    """IQR from 5 repetitions on, min-max below that (a quartile of 3 numbers means little)."""
    clean = sorted(v for v in values if v is not None and not math.isnan(v))
    if not clean:
        return None
    if len(clean) >= 5:
        q = statistics.quantiles(clean, n=4, method="inclusive")
        return {"kind": "IQR", "low": q[0], "high": q[2]}
    return {"kind": "min-max", "low": clean[0], "high": clean[-1]}


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank-with-interpolation percentile (p in 0..100)."""
    if not values:
        return None
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    k = (len(data) - 1) * p / 100.0
    lo = math.floor(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


PCTS = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9]


def distribution(values: list[float]) -> dict[str, float]:
    """A compact latency distribution (percentile -> value) for plots."""
    return {str(p): v for p in PCTS if (v := percentile(values, p)) is not None}


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    a = abs(value)
    if a >= 1e6 or a >= 100:
        text = f"{value:,.0f}"
    elif a >= 10:
        text = f"{value:.1f}"
    elif a >= 0.1:
        text = f"{value:.2f}"
    elif a == 0:
        text = "0"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def fmt_spread(values: list[float]) -> str:
    s = spread(values)
    if s is None:
        return "-"
    if len([v for v in values if v is not None]) == 1:
        return "(1 run)"
    return f"{fmt(s['low'])} to {fmt(s['high'])} ({s['kind']})"


def table(rows: list[Row]) -> str:
    header = ["measurement", "metric", "median", "spread", "n", "baseline", "baseline median", "ratio", "note"]
    lines: list[list[str]] = []
    for r in rows:
        if r.status != "ok":
            lines.append([r.measurement, r.metric, r.status, "", "", "", "", "", r.note])
            continue
        ratio = r.ratio
        lines.append([
            r.measurement, r.metric, fmt(r.median, r.unit), fmt_spread(r.values), str(len(r.values)),
            r.baseline or "-", fmt(r.baseline_median, r.unit) if r.baseline_values else "-",
            f"{ratio:.3g}x" if ratio is not None else "-", r.note,
        ])
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    widths[-1] = min(widths[-1], 70)

    def render(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i < len(cells) - 1 else c for i, (c, w) in pairs)

    out = [render(header), render(["-" * w for w in widths])]
    out += [render(line) for line in lines]
    return "\n".join(out)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The same table from saved JSON rows, as Markdown (used by the report)."""
    head = "| measurement | metric | median | spread | n | baseline | baseline median | ratio | note |"
    out = [head, "|" + "---|" * 9]
    for r in rows:
        unit = r.get("unit", "")
        if r.get("status") != "ok":
            out.append(f"| {r['measurement']} | {r['metric']} | *{r['status']}* | | | | | | {r.get('note', '')} |")
            continue
        ratio = r.get("ratio")
        out.append(
            f"| {r['measurement']} | {r['metric']} | {fmt(r.get('median'), unit)} | {fmt_spread(r.get('values', []))}"
            f" | {len(r.get('values', []))} | {r.get('baseline') or '-'}"
            f" | {fmt(r.get('baseline_median'), unit) if r.get('baseline_values') else '-'}"
            f" | {f'{ratio:.3g}x' if ratio is not None else '-'} | {r.get('note', '')} |"
        )
    return "\n".join(out)


def save(rows: list[Row], meta: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"bench-{stamp}-{meta.get('mode', 'embedded')}.json"
    path.write_text(json.dumps({"meta": meta, "rows": [r.to_json() for r in rows]}, indent=1, default=str))
    return path
