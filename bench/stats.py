"""Figures: a median over repeated runs, the floor measured in the same run, and a target."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


@dataclass
class Figure:
    name: str
    median: float
    floor: float | None
    unit: str
    target: str | None = None  # e.g. "ratio <= 1.25", "median < 1 s", "median == floor"
    check: Callable[[Figure], bool] | None = field(default=None, repr=False)
    samples: int = 1
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.floor in (None, 0):
            return None
        return self.median / self.floor

    @property
    def met(self) -> bool | None:
        return None if self.check is None else bool(self.check(self))

    def as_json(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "median": round(self.median, 6),
            "floor": None if self.floor is None else round(self.floor, 6),
            "ratio": None if ratio is None else round(ratio, 4),
            "target": self.target,
            "met": self.met,
            "unit": self.unit,
            "samples": self.samples,
            **({"note": self.note} if self.note else {}),
            **self.extra,
        }


def ratio_at_most(limit: float) -> Callable[[Figure], bool]:
    return lambda f: f.ratio is not None and f.ratio <= limit


def median_below(limit: float) -> Callable[[Figure], bool]:
    return lambda f: f.median < limit


def median_at_least(limit: float) -> Callable[[Figure], bool]:
    return lambda f: f.median >= limit


def equals_floor(f: Figure) -> bool:
    return f.floor is not None and f.median == f.floor


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("calls", "count", "requests"):
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if abs(value) < 10 else f"{value:.1f} s"
    if unit == "MiB":
        return f"{value:.2f} MiB"
    return f"{value:.3g} {unit}"


def table(figures: Sequence[Figure]) -> str:
    rows = [("figure", "median", "floor", "ratio", "target", "met")]
    for f in figures:
        ratio = f.ratio
        met = f.met
        rows.append(
            (
                f.name,
                _number(f.median, f.unit),
                _number(f.floor, f.unit),
                "-" if ratio is None else f"{ratio:.2f}x",
                f.target or "(report only)",
                "-" if met is None else ("yes" if met else "NO"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 or i >= 4 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            )
        )
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
