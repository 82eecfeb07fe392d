"""Charts drawn by Chromium over file://: marks are painted, controls change them, no console errors.

A small harness page is written into tmp_path: the offline Vega bundle from vl_convert, our charts.js,
and the chart specs inline, exactly as the site's pages include them.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from logger.model import MetricHistory, Run
from reporter.charts import chart_script_tag
from reporter.charts_experiment import compare_specs, experiment_specs
from reporter.charts_run import run_chart_sections

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHARTS_JS = Path(__file__).resolve().parents[2] / "reporter" / "static" / "charts.js"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
T0 = 1_700_000_000_000


# Own temporary folders rather than tmp_path: pytest prunes old basetemps, and other test sessions
# on this machine share /tmp/pytest-of-<user>, so a page could vanish while Chromium loads it.
@pytest.fixture(scope="module")
def static_dir() -> Path:
    vl_convert = pytest.importorskip("vl_convert")
    with tempfile.TemporaryDirectory(prefix="fs-charts-static-") as name:
        folder = Path(name)
        (folder / "vega-bundle.js").write_text(vl_convert.javascript_bundle(), encoding="utf-8")
        shutil.copy(CHARTS_JS, folder / "charts.js")
        yield folder


@pytest.fixture
def page_dir():
    with tempfile.TemporaryDirectory(prefix="fs-charts-page-") as name:
        yield Path(name)


@pytest.fixture(scope="module")
def chromium_browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


class Harness:
    def __init__(self, browser, static_dir: Path, tmp_path: Path):
        self.browser, self.static_dir, self.tmp_path = browser, static_dir, tmp_path
        self.errors: list[str] = []

    def open(self, specs: dict[str, dict], query: str = "", controls: bool = False, dark: bool = False):
        body = ['<div class="fs-chart-controls"></div>'] if controls else []
        for spec_id, spec in specs.items():
            body.append(f'<div class="fs-chart" data-spec-id="{spec_id}"></div>')
            body.append(str(chart_script_tag(spec_id, spec)))
        html = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            "<style>.fs-chart{width:600px}</style>"
            f"<script src='{(self.static_dir / 'vega-bundle.js').as_uri()}'></script>"
            f"<script src='{(self.static_dir / 'charts.js').as_uri()}'></script>"
            "</head><body>" + "\n".join(body) + "</body></html>"
        )
        page_file = self.tmp_path / "page.html"
        page_file.write_text(html, encoding="utf-8")
        context = self.browser.new_context(color_scheme="dark" if dark else "light")
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.goto(page_file.as_uri() + query)
        page.evaluate("() => FlowsheetCharts.ready")
        return page


@pytest.fixture
def harness(chromium_browser, static_dir, page_dir):
    h = Harness(chromium_browser, static_dir, page_dir)
    yield h
    assert h.errors == [], f"console errors: {h.errors}"


def count(page, spec_id: str, selector: str) -> int:
    return page.locator(f'[data-spec-id="{spec_id}"] {selector}').count()


def path_d(page, spec_id: str, nth: int) -> str:
    return page.locator(f'[data-spec-id="{spec_id}"] g.mark-line path').nth(nth).get_attribute("d")


# ---- fixtures: model objects, as the reader makes them -------------------------------------------

def make_run(index: int, *, lr: float, depth: int, opt: str, f1: float | None, n: int = 50) -> Run:
    run = Run(run_id=f"{index:032x}", experiment_id="exp", name=f"run-{index}", path="/x",
              start_time=T0, params={"lr": str(lr), "depth": str(depth), "optimizer": opt, "seed": "1"})
    loss = MetricHistory("loss")
    for i in range(n):
        loss.append(1.0 / (i + 1) + 0.3 * math.sin(i) * lr + 0.01 * index, i, T0 + i * 1000)
    run.metrics["loss"] = loss
    if f1 is not None:
        h = MetricHistory("f1")
        h.append(f1, 0, T0)
        run.metrics["f1"] = h
    return run


@pytest.fixture
def runs() -> list[Run]:
    out = []
    for i in range(12):
        out.append(make_run(i, lr=[0.1, 0.01, 0.001][i % 3], depth=2 + i % 4, opt=["adam", "sgd"][i % 2],
                            f1=None if i == 11 else 0.5 + i / 40))
    return out


# ---- run page ----------------------------------------------------------------------------------

def test_run_charts_draw_lines_and_band(harness):
    run = Run(run_id="a" * 32, experiment_id="e", name="r", path="/x", start_time=T0)
    for key, n in (("train/loss", 3000), ("val/loss", 40)):
        h = MetricHistory(key)
        for i in range(n):
            h.append(2.0 + math.sin(i / 7) + (50.0 if i == 1234 else 0.0), i, T0 + i * 500)
        run.metrics[key] = h
    blocks = {b.spec_id: b.spec for s in run_chart_sections(run) for b in s.charts}
    page = harness.open(blocks, controls=True)
    for spec_id in blocks:
        assert count(page, spec_id, "g.mark-line path") == 2  # raw (faint) and smoothed
    long_id = next(i for i, s in blocks.items() if s["usermeta"]["fs"]["total"] == 3000)
    short_id = next(i for i in blocks if i != long_id)
    assert count(page, long_id, "g.mark-area path") == 1  # the min/max band of the buckets
    assert count(page, short_id, "g.mark-area path") == 0
    assert "showing 1,000 of 3,000 points" in page.locator(f'[data-spec-id="{long_id}"] svg').text_content()


def test_smoothing_slider_changes_the_smoothed_path(harness):
    run = make_run(1, lr=1.0, depth=2, opt="adam", f1=None, n=200)
    blocks = {b.spec_id: b.spec for s in run_chart_sections(run) for b in s.charts}
    (spec_id,) = blocks
    page = harness.open(blocks, controls=True)
    raw_before, smooth_before = path_d(page, spec_id, 0), path_d(page, spec_id, 1)
    assert raw_before != smooth_before  # default smoothing 0.6 is applied at load
    slider = page.locator('input[name="fs-smoothing"]')
    slider.fill("0")
    page.wait_for_function(f"""() => document.querySelectorAll('[data-spec-id="{spec_id}"] g.mark-line path')[1]
                              .getAttribute('d') !== {smooth_before!r}""")
    assert path_d(page, spec_id, 1) == path_d(page, spec_id, 0)  # no smoothing: smoothed == raw
    assert path_d(page, spec_id, 0) == raw_before  # the raw line never moves
    slider.fill("0.95")
    page.wait_for_function(f"""() => {{ const p = document.querySelectorAll('[data-spec-id="{spec_id}"] g.mark-line path');
                               return p[1].getAttribute('d') !== p[0].getAttribute('d'); }}""")


def test_log_toggle_and_x_mode_redraw(harness):
    run = make_run(1, lr=0.1, depth=2, opt="adam", f1=None, n=100)
    blocks = {b.spec_id: b.spec for s in run_chart_sections(run) for b in s.charts}
    (spec_id,) = blocks
    page = harness.open(blocks, controls=True)
    chart = page.locator(f'[data-spec-id="{spec_id}"]')
    before = path_d(page, spec_id, 0)
    page.locator('input[name="fs-log-y"]').check()
    page.wait_for_function("() => FlowsheetCharts.charts[0].view && FlowsheetCharts.state.logY")
    page.wait_for_function(f"""() => {{ const p = document.querySelector('[data-spec-id="{spec_id}"] g.mark-line path');
                               return p && p.getAttribute('d') !== {before!r}; }}""")
    assert page.evaluate("() => FlowsheetCharts.charts[0].view.scale('y').type") == "log"
    page.locator('select[name="fs-x"]').select_option("wall")
    page.wait_for_function("() => FlowsheetCharts.charts[0].view.scale('x').type === 'time'")
    assert count(page, spec_id, "g.mark-line path") == 2
    assert "wall-clock time" in chart.text_content()


def test_dark_mode_uses_dark_background(harness):
    run = make_run(1, lr=0.1, depth=2, opt="adam", f1=None)
    blocks = {b.spec_id: b.spec for s in run_chart_sections(run) for b in s.charts}
    page = harness.open(blocks, dark=True)
    background = page.evaluate("() => FlowsheetCharts.charts[0].view.background()")
    assert background not in (None, "", "white", "#fff", "#ffffff")
