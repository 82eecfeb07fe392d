"""How heavy a run page is: 20 metrics of 100,000 points each, its size and its opening time in Chromium.

"Opens" is from navigation to every chart in the first screen drawn (charts.js draws the others as
they scroll into view); the time until all charts are drawn is reported too. Medians of 3, over
file:// in headless Chromium; skipped with a note when Chromium is missing.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.common import chromium_tabs, table

METRICS, POINTS = 20, 100_000


def run(scale: float = 1.0) -> dict:
    import logger

    from reporter.config import BuildConfig
    from reporter.site.build import build

    points = max(100, int(POINTS * scale))
    folder = Path(tempfile.mkdtemp(prefix="flowsheet-bench-page-"))
    try:
        logger.set_log_dir(folder / "runs")
        with logger.start_run(run_name="long") as run:
            for step in range(points):
                run.log_metrics({f"metric_{k:02d}": (step % 977) / 977 + k for k in range(METRICS)}, step=step)
        logger.set_log_dir(None)
        build(BuildConfig.from_options(folder / "runs", folder / "site", quiet=True))
        page = folder / "site" / "runs" / run.info.run_id / "index.html"
        size = page.stat().st_size
        seconds, all_seconds = _open_seconds(page, 3 if scale >= 1 else 1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows = [
        {"measure": f"run page, {METRICS} metrics x {points:,} points: size", "value": f"{size / 1e6:.2f} MB",
         "target": "< 3 MB", "met": size < 3e6},
        {"measure": "the same page: open until the first screen's charts are drawn (Chromium, file://)",
         "value": "no Chromium" if seconds is None else f"{seconds:.2f} s", "target": "< 2 s",
         "met": None if seconds is None else seconds < 2},
        {"measure": "the same page: until all charts are drawn",
         "value": "no Chromium" if all_seconds is None else f"{all_seconds:.2f} s", "target": "(informative)"},
    ]
    print(table("Run page weight", rows))
    return {"page_bytes": size, "open_seconds": seconds, "all_charts_seconds": all_seconds, "rows": rows}


FIRST_SCREEN_DRAWN = """() => {
    const charts = [...document.querySelectorAll('.fs-chart')];
    const visible = charts.filter(c => c.getBoundingClientRect().top < window.innerHeight);
    return charts.length > 0 && visible.every(c => c.classList.contains('fs-chart-ready'));
}"""


def _open_seconds(page: Path, repeats: int) -> tuple[float | None, float | None]:
    times, all_times = [], []
    with chromium_tabs(repeats) as tabs:
        if tabs is None:
            return None, None
        for tab in tabs:
            started = time.perf_counter()
            tab.goto(page.as_uri())
            tab.evaluate("document.querySelector('#charts, .charts').scrollIntoView()")
            tab.wait_for_function(FIRST_SCREEN_DRAWN, timeout=60_000)
            times.append(time.perf_counter() - started)
            tab.evaluate("window.FlowsheetCharts.drawAll()")
            tab.wait_for_function(f"document.querySelectorAll('.fs-chart-ready').length >= {METRICS}",
                                  timeout=60_000)
            all_times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2], sorted(all_times)[len(all_times) // 2]


if __name__ == "__main__":
    run()
