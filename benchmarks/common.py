"""Shared pieces of the benchmarks: medians of alternating repeats, and Markdown tables with targets."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(work: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def side_by_side(works: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each work, run in turn within each repeat so that machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(repeats):
        for name, work in works.items():
            start = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def table(title: str, rows: list[dict]) -> str:
    """rows: dicts with 'measure', 'value', and optionally 'target' and 'met' (bool)."""
    lines = [f"### {title}", "", "| measure | value | target | met |", "| --- | --- | --- | --- |"]
    for row in rows:
        met = row.get("met")
        mark = "" if met is None else ("pass" if met else "MISS")
        lines.append(f"| {row['measure']} | {row['value']} | {row.get('target', '')} | {mark} |")
    return "\n".join(lines)
