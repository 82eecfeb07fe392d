"""Charts drawn by Chromium over file://: marks are painted, controls change them, no console errors.

A small harness page is written into tmp_path: the offline Vega bundle from vl_convert, our charts.js,
and the chart specs inline, exactly as the site's pages include them.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from array import array
from pathlib import Path

import numpy as np
import pytest
from selection_specs import selection_specs

from logger.model import MetricHistory, Run

from reporter.charts.common import chart_script_tag
from reporter.charts.experiment import experiment_sections
from reporter.charts.run import run_chart_sections

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

    def open(self, specs: dict[str, dict], query: str = "", controls: bool = False, dark: bool = False,
             draw_all: bool = True):
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
        page.on("console", lambda msg: msg.type in ("error", "warning") and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.goto(page_file.as_uri() + query)
        page.evaluate("() => FlowsheetCharts.ready")
        if draw_all:  # charts below the fold are drawn lazily; tests look at all of them
            page.evaluate("() => FlowsheetCharts.drawAll()")
        return page


@pytest.fixture
def harness(chromium_browser, static_dir, page_dir):
    h = Harness(chromium_browser, static_dir, page_dir)
    yield h
    assert h.errors == [], f"console errors or warnings: {h.errors}"


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

def flat(sections) -> dict[str, dict]:
    """Spec id -> spec of every chart of a page's sections."""
    return {block.spec_id: block.spec for section in sections for block in section.charts}


def compare_specs(runs: list[Run]) -> dict[str, dict]:
    """Compare charts of `runs`, all of experiment "exp", filtering on the URL's selection (as the compare page's
    templates do; the page fills them with the selected runs only: test_compare_loading_browser.py)."""
    return selection_specs(runs)


def test_run_charts_draw_lines_and_band(harness):
    run = Run(run_id="a" * 32, experiment_id="e", name="r", path="/x", start_time=T0)
    for key, n in (("train/loss", 3000), ("val/loss", 40)):
        h = MetricHistory(key)
        for i in range(n):
            h.append(2.0 + math.sin(i / 7) + (50.0 if i == 1234 else 0.0), i, T0 + i * 500)
        run.metrics[key] = h
    blocks = flat(run_chart_sections(run))
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
    blocks = flat(run_chart_sections(run))
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
    blocks = flat(run_chart_sections(run))
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
    blocks = flat(run_chart_sections(run))
    page = harness.open(blocks, dark=True)
    background = page.evaluate("() => FlowsheetCharts.charts[0].view.background()")
    assert background not in (None, "", "white", "#fff", "#ffffff")


# ---- experiment and compare pages --------------------------------------------------------------

def test_experiment_charts_draw_their_marks(harness, runs):
    specs = flat(experiment_sections(runs))
    assert set(specs) == {"fs-exp-overlay-0", "fs-exp-parallel", "fs-exp-scatter", "fs-exp-heatmap", "fs-exp-box"}
    page = harness.open(specs)
    assert count(page, "fs-exp-overlay-0", "g.mark-line path") == 10  # the 10 best runs
    assert count(page, "fs-exp-parallel", "g.mark-line path") == 11  # one polyline per run with every value
    assert count(page, "fs-exp-parallel", "g.mark-rule.role-mark line") == 4  # depth, lr, optimizer, f1
    assert count(page, "fs-exp-scatter", "g.mark-symbol.role-mark path") == 11
    assert count(page, "fs-exp-heatmap", "g.mark-rect.role-mark path") == 11  # 3 lr x 4 depth cells, one without f1
    assert count(page, "fs-exp-box", "g.mark-rect.role-mark path") == 4  # adam, sgd: a box and a median tick each
    assert "1 run without a value left out" in page.locator('[data-spec-id="fs-exp-box"]').text_content()


def test_scatter_axes_are_chosen_in_the_page(harness, runs):
    page = harness.open({"s": flat(experiment_sections(runs))["fs-exp-scatter"]})
    domain = "() => JSON.stringify(FlowsheetCharts.charts[0].view.scale('x').domain())"
    xs_before = page.evaluate(domain)
    select = page.locator('[data-spec-id="s"] .vega-bindings select').first
    select.select_option(label="loss")
    page.wait_for_function(f"() => ({domain})() !== {xs_before!r}")
    assert count(page, "s", "g.mark-symbol.role-mark path") == 11  # y is f1, which one run lacks
    assert "1 run without a value left out" in page.locator('[data-spec-id="s"]').text_content()


def test_compare_charts_show_only_the_runs_in_the_url(harness, runs):
    specs = compare_specs(runs)
    chosen = [runs[0].run_id, runs[3].run_id, runs[11].run_id]  # run 11 has no f1
    page = harness.open(specs, query="?runs=" + ",".join(chosen))
    assert count(page, "fs-cmp-overlay-0", "g.mark-line path") == 3
    assert count(page, "fs-cmp-exp-parallel", "g.mark-line path") == 2
    assert count(page, "fs-cmp-exp-scatter", "g.mark-symbol.role-mark path") == 2
    page.evaluate(f"() => FlowsheetCharts.setSelectedRuns({[r.run_id for r in runs[:5]]!r})")
    assert count(page, "fs-cmp-overlay-0", "g.mark-line path") == 5
    assert count(page, "fs-cmp-exp-parallel", "g.mark-line path") == 5


def test_compare_without_selection_draws_no_runs(harness, runs):
    page = harness.open(compare_specs(runs))
    assert count(page, "fs-cmp-overlay-0", "g.mark-line path") == 0
    assert "No runs selected" in page.locator('[data-spec-id="fs-cmp-exp-parallel"]').text_content()
    page.evaluate(f"() => FlowsheetCharts.setSelectedRuns([{runs[2].run_id!r}])")
    assert count(page, "fs-cmp-overlay-0", "g.mark-line path") == 1


def test_run_page_with_20_long_metrics_draws_every_chart(harness):
    run = Run(run_id="b" * 32, experiment_id="e", name="big", path="/x", start_time=T0)
    steps = np.arange(100_000, dtype=np.int64)
    for k in range(20):
        values = np.sin(steps / (500.0 + k)) + 0.001 * k
        run.metrics[f"train/m{k}"] = MetricHistory(f"train/m{k}", array("q", steps.tobytes()),
                                                   array("d", values.tobytes()), array("q", (T0 + steps * 40).tobytes()))
    blocks = flat(run_chart_sections(run))
    page = harness.open(blocks, controls=True, draw_all=False)
    drawn = page.locator("g.mark-area.role-mark path").count()
    assert 1 <= drawn < 20  # only the charts near the viewport are drawn at first (how fast: make bench, bench_page)
    page.locator('[data-spec-id="fs-metric-19"]').scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('[data-spec-id=\"fs-metric-19\"] g.mark-area path').length === 1")
    page.evaluate("() => FlowsheetCharts.drawAll()")
    assert page.locator("g.mark-area.role-mark path").count() == 20
    assert page.locator("g.mark-line.role-mark path").count() == 40


def test_hover_shows_a_tooltip_with_exact_values(harness):
    run = make_run(1, lr=0.1, depth=2, opt="adam", f1=None, n=30)
    blocks = flat(run_chart_sections(run))
    (spec_id,) = blocks
    page = harness.open(blocks)
    box = page.locator(f'[data-spec-id="{spec_id}"] g.mark-line.role-mark path').first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible")
    text = tooltip.text_content()
    assert "step" in text and "smoothed" in text and "time" in text
    assert count(page, spec_id, "g.mark-symbol.role-mark path") == 30


def tensorboard_ema(values: list[float], weight: float) -> list[float]:
    """TensorBoard's debiased EMA, written out in Python as the reference."""
    out, last = [], 0.0
    for n, y in enumerate(values, start=1):
        last = last * weight + (1 - weight) * y
        out.append(last / (1 - weight**n))
    return out


def test_smoothing_is_tensorboards_debiased_ema(harness):
    page = harness.open({})
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    for weight in (0.0, 0.5, 0.9, 0.99):
        got = page.evaluate("([v, w]) => FlowsheetCharts.ema(v, w)", [values, weight])
        want = values if weight == 0 else tensorboard_ema(values, weight)
        assert got == pytest.approx(want, rel=1e-12)
    assert page.evaluate("() => FlowsheetCharts.ema([2, 2, 2], 0.9)") == [2, 2, 2]  # constant stays exact
