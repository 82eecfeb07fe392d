"""Shared pieces of the benchmarks: medians of alternating repeats, and Markdown tables with targets."""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator


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


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def chromium_tabs(repeats: int) -> Iterator[Iterator | None]:
    """Fresh 1280x900 tabs of one headless Debian Chromium, one per repeat, each closed after use.

    Yields None when Chromium is missing."""
    if not os.path.exists(CHROMIUM):
        yield None
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)

        def tabs():
            for _ in range(repeats):
                tab = browser.new_page(viewport={"width": 1280, "height": 900})
                yield tab
                tab.close()

        try:
            yield tabs()
        finally:
            browser.close()
