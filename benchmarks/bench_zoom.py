"""Zoom into a long series (#18), and the weight of a typical run page.

A run with one 10 M-point metric (at scale 1) is planned and written as `reporter build` does (its
metrics.csv left out: the CSV is bench_size's), then opened in headless Chromium over file://:
- the time to make its levels (the page's inline level 0 and every chunk file's text), median;
- the bytes the page loads at first view: its own HTML and data (the site's shared scripts, the Vega
  bundle first, are counted apart: a browser keeps them across pages);
- a wheel zoom to 1% of the x range in 5 steps: the chunk bytes it loads, and how long zoom.js takes
  from the settled gesture to the finer rows drawn (median over fresh tabs);
- the run page of the issue's sweep workload (10 params, 5 metrics x 100 steps): its bytes, and the
  10,000-run site's run pages at that size (before #18 such a page was 30.7 KB).
Targets: first view and zoom each under 1 MB (a page that opens over a slow link in about a second, and a
zoom that loads no more than the first view did); redraw under 1 s; level building under 60 s for 10 M
points (about what reading those points from the logs costs); a run page under 12 KB (see
tests/reporter/test_lean_run_page.py for the budget's reasons).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from array import array
from pathlib import Path

import numpy as np

from benchmarks.bench_site import write_runs
from benchmarks.common import chromium_tabs, median_seconds, table

POINTS = 10_000_000
T0 = 1_732_700_000_000
RUN_ID = "5" * 32
PAGE_BUDGET = 12_000
BEFORE_PAGE = 30_700  # the same run page on main before #18 (5 full Vega-Lite specs with row objects)
ZOOM_STEPS = 5  # wheel events; each shrinks the x range by 0.01 ** (1 / 5)
WHEEL_DELTA = -921  # Vega-Lite zooms by 1.001 ** deltaY: 1.001 ** -921 = 0.398 = 0.01 ** (1 / 5)


def long_run(points: int):
    from logger.model import MetricHistory, Run

    rng = np.random.default_rng(18)
    values = 1 / np.sqrt(1 + np.arange(points) / 1000) + rng.normal(0, 0.01, points)
    values[rng.integers(0, points, 20)] += 5  # spikes only the finer levels show as points
    history = MetricHistory("loss", array("q", range(points)), array("d", values.tolist()),
                            array("q", (T0 + 10 * np.arange(points)).tolist()))
    run = Run(run_id=RUN_ID, experiment_id="exp", name="long", path="/bench", start_time=T0)
    run.metrics["loss"] = history
    return run


def write_site(run, folder: Path) -> None:
    from logger.model import Experiment, LogData

    from reporter.config import BuildConfig
    from reporter.site.build import gather, publishable, write_plan
    from reporter.site.render import make_environment
    from reporter.site.writer import SiteWriter

    (folder / "logs").mkdir(parents=True)
    config = BuildConfig.from_options(folder / "logs", folder / "site", quiet=True, environ={})
    data, _ = publishable(LogData({"exp": Experiment("exp", "exp", "/bench")}, {run.run_id: run}), config)
    plan = gather(data, config)
    plan.files = {path: make for path, make in plan.files.items() if not path.endswith(("metrics.csv", ".gz"))}
    writer = SiteWriter(config.out_dir)
    writer.open()
    write_plan(plan, writer, make_environment(None))
    writer.close()


def level_seconds(run, repeats: int) -> float:
    from reporter.charts.chunks import chunk_files, zoom_file
    from reporter.charts.run import metric_spec, run_origin

    def make() -> int:
        origin = run_origin(run)
        metric_spec(run, "loss", origin=origin, zoom_file=zoom_file("loss"))
        return sum(len(make()) for make in chunk_files(run, origin).values())

    return median_seconds(make, repeats)


def browse(site: Path, repeats: int) -> dict | None:
    """First-view and zoom bytes and the redraw time, in fresh tabs; None without Chromium."""
    page_url = (site / "runs" / RUN_ID / "index.html").as_uri()
    results = []
    with chromium_tabs(repeats) as tabs:
        if tabs is None:
            return None
        for tab in tabs:
            sizes: dict[str, int] = {}
            tab.on("requestfinished", lambda request, sizes=sizes: sizes.__setitem__(
                request.url, request.sizes()["responseBodySize"]))
            tab.goto(page_url)
            tab.evaluate("() => FlowsheetCharts.ready.then(() => FlowsheetCharts.drawAll())")
            first = dict(sizes)
            tab.evaluate("() => { FlowsheetZoom.settleMs = 1500; }")  # the 5 wheel events make one gesture
            box = tab.locator('[data-spec-id="fs-metric-0"] svg').bounding_box()
            origin = tab.evaluate("() => FlowsheetCharts.charts[0].view.origin()")
            width = tab.evaluate("() => FlowsheetCharts.charts[0].view.width()")
            tab.mouse.move(box["x"] + origin[0] + width * 0.37, box["y"] + origin[1] + 60)
            for _ in range(ZOOM_STEPS):
                tab.mouse.wheel(0, WHEEL_DELTA)
            tab.wait_for_function("() => { const s = FlowsheetZoom.status['fs-metric-0'];"
                                  " return s && !s.busy && s.level > 0; }", timeout=120_000)
            status = tab.evaluate("() => FlowsheetZoom.status['fs-metric-0']")
            domain = tab.evaluate("() => FlowsheetCharts.charts[0].view.scale('x').domain().map(Number)")
            zoomed = {url: size for url, size in sizes.items() if url not in first}
            results.append({"first": first, "zoomed": zoomed, "status": status, "domain": domain})
    page_bytes = [sum(s for url, s in r["first"].items() if "/static/" not in url) for r in results]
    static_bytes = [sum(s for url, s in r["first"].items() if "/static/" in url) for r in results]
    return {"first_view_bytes": max(page_bytes), "static_bytes": max(static_bytes),
            "zoom_bytes": max(sum(r["zoomed"].values()) for r in results),
            "zoom_files": max(len(r["zoomed"]) for r in results),
            "zoom_level": results[0]["status"]["level"],
            "visible_fraction": (results[0]["domain"][1] - results[0]["domain"][0]) / POINTS_SHOWN[0],
            "redraw_seconds": statistics.median(r["status"]["ms"] for r in results) / 1000}


POINTS_SHOWN = [POINTS]  # the series length of this run of the benchmark (for the visible fraction)


def typical_page_bytes(folder: Path) -> int:
    from reporter.config import BuildConfig
    from reporter.site.build import build

    write_runs(folder / "logs", "sweep", 1, 10, 5, 100)
    build(BuildConfig.from_options(folder / "logs", folder / "site", quiet=True, environ={}))
    (page,) = (folder / "site" / "runs").glob("*/index.html")
    return page.stat().st_size


def run(scale: float = 1.0) -> dict:
    points = max(20_000, int(POINTS * scale))
    POINTS_SHOWN[0] = points
    repeats = 1 if scale >= 0.5 else 3  # 10 M points: one build of the levels is ~10 s
    folder = Path(tempfile.mkdtemp(prefix="flowsheet-bench-zoom-"))
    try:
        run_ = long_run(points)
        build_seconds = level_seconds(run_, repeats)
        write_site(run_, folder / "long")
        browsed = browse(folder / "long" / "site", 3)
        page_bytes = typical_page_bytes(folder / "typical")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    none = "no Chromium"
    rows = [
        {"measure": f"levels of a {points:,}-point series: build (page level + every chunk's text)",
         "value": f"{build_seconds:.1f} s", "target": "< 60 s", "met": build_seconds < 60},
        {"measure": "first view: the run page's own bytes (HTML with the inline level)",
         "value": none if browsed is None else f"{browsed['first_view_bytes'] / 1e6:.3f} MB", "target": "< 1 MB",
         "met": None if browsed is None else browsed["first_view_bytes"] < 1e6},
        {"measure": "first view: the site's shared scripts and CSS (cached across pages)",
         "value": none if browsed is None else f"{browsed['static_bytes'] / 1e6:.3f} MB", "target": "(informative)"},
    ]
    if browsed is not None:
        rows += [
            {"measure": f"zoom to {browsed['visible_fraction']:.1%} of the x range: chunk bytes loaded "
                        f"({browsed['zoom_files']} files, level {browsed['zoom_level']})",
             "value": f"{browsed['zoom_bytes'] / 1e6:.3f} MB", "target": "< 1 MB", "met": browsed["zoom_bytes"] < 1e6},
            {"measure": "zoom: settled gesture to the finer rows drawn (median of 3 fresh tabs)",
             "value": f"{browsed['redraw_seconds'] * 1000:.0f} ms", "target": "< 1 s",
             "met": browsed["redraw_seconds"] < 1},
        ]
    rows += [
        {"measure": "run page of the sweep workload (10 params, 5 metrics x 100 steps)",
         "value": f"{page_bytes / 1000:.1f} KB (before #18: {BEFORE_PAGE / 1000:.1f} KB)",
         "target": f"< {PAGE_BUDGET / 1000:g} KB", "met": page_bytes < PAGE_BUDGET},
        {"measure": "10,000 such run pages", "value": f"{page_bytes * 10_000 / 1e6:.0f} MB",
         "target": "(site goal < 200 MB in all)"},
    ]
    print(table("Zoom into long series; run page weight", rows))
    return {"build_seconds": build_seconds, "browser": browsed, "typical_page_bytes": page_bytes, "rows": rows}
