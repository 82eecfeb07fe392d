"""Charts people can work with (#19), in Chromium over file://: empty charts say why, subtitles count what is
drawn, log scales for params spanning decades, readable dark mode, bars for single values in compare, zoom,
a shared hover cursor and PNG/SVG/CSV downloads.

The harness page is the one of test_charts_browser.py: the offline Vega bundle, charts.js and inline specs.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from selection_specs import selection_specs

from logger.model import MetricHistory, Run

from reporter.charts.common import chart_script_tag
from reporter.charts.experiment import experiment_sections
from reporter.charts.run import run_chart_sections

pytestmark = pytest.mark.browser

CHARTS_JS = Path(__file__).resolve().parents[2] / "reporter" / "static" / "charts.js"
T0 = 1_700_000_000_000


@pytest.fixture(scope="module")
def static_dir():
    vl_convert = pytest.importorskip("vl_convert")
    with tempfile.TemporaryDirectory(prefix="fs-work-static-") as name:
        folder = Path(name)
        (folder / "vega-bundle.js").write_text(vl_convert.javascript_bundle(), encoding="utf-8")
        shutil.copy(CHARTS_JS, folder / "charts.js")
        yield folder


@pytest.fixture
def open_charts(chromium, static_dir):
    """Opens a page of the given specs; no console error or warning may appear."""
    errors: list[str] = []
    contexts = []
    with tempfile.TemporaryDirectory(prefix="fs-work-page-") as name:
        def open_(specs: dict[str, dict], query: str = "", dark: bool = False, context=None):
            body = []
            for spec_id, spec in specs.items():
                body.append(f'<div class="fs-chart" data-spec-id="{spec_id}" data-title="{spec_id}"></div>')
                body.append(str(chart_script_tag(spec_id, spec)))
            page_file = Path(name) / "page.html"
            page_file.write_text(
                "<!doctype html><html><head><meta charset='utf-8'><style>.fs-chart{width:600px}</style>"
                f"<script src='{(static_dir / 'vega-bundle.js').as_uri()}'></script>"
                f"<script src='{(static_dir / 'charts.js').as_uri()}'></script>"
                "</head><body>" + "\n".join(body) + "</body></html>", encoding="utf-8")
            if context is None:
                context = chromium.new_context(color_scheme="dark" if dark else "light")
                contexts.append(context)
            page = context.new_page()
            page.on("console", lambda msg: msg.type in ("error", "warning") and errors.append(msg.text))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(page_file.as_uri() + query)
            page.evaluate("() => FlowsheetCharts.ready.then(() => FlowsheetCharts.drawAll())")
            return page

        yield open_
        for context in contexts:
            context.close()
    assert errors == [], f"console errors or warnings: {errors}"


def flat(sections) -> dict[str, dict]:
    return {block.spec_id: block.spec for section in sections for block in section.charts}


def count(page, spec_id: str, selector: str) -> int:
    return page.locator(f'[data-spec-id="{spec_id}"] {selector}').count()


def make_run(index: int, params: dict, metrics: dict[str, list[float]]) -> Run:
    run = Run(run_id=f"{index:032x}", experiment_id="exp", name=f"run-{index}", path="/x", start_time=T0,
              params={k: str(v) for k, v in params.items()})
    for key, values in metrics.items():
        history = MetricHistory(key)
        for step, value in enumerate(values):
            history.append(value, step, T0 + step * 1000)
        run.metrics[key] = history
    return run


def curve(index: int, n: int = 40) -> list[float]:
    return [1.0 / (i + 1) + 0.05 * math.sin(i + index) for i in range(n)]


# ---- 1. an empty chart says why ----------------------------------------------------------------

def test_a_heatmap_of_params_no_run_has_together_says_why_instead_of_drawing(open_charts):
    runs = [make_run(i, {"C": 10.0 ** i} if i % 2 else {"penalty": i / 10}, {"f1": [0.5 + i / 20]}) for i in range(6)]
    specs = flat(experiment_sections(runs))
    page = open_charts(specs)
    heatmap = page.locator('[data-spec-id="fs-exp-heatmap"]')
    assert heatmap.locator("svg").count() == 0
    assert heatmap.inner_text().strip() == "No run has C, penalty and f1"
    assert "NaN" not in page.locator("body").inner_text()


# ---- 4. subtitles count the curves drawn -------------------------------------------------------

def test_the_overlay_subtitle_counts_the_curves_drawn_and_says_why_fewer(open_charts):
    runs = [make_run(i, {"seed": i}, {"f1": [0.5 + i / 20], **({"loss": curve(i)} if i < 3 else {})})
            for i in range(7)]
    page = open_charts(flat(experiment_sections(runs)))
    assert count(page, "fs-exp-overlay-0", "g.mark-line.role-mark path") == 3
    text = page.locator('[data-spec-id="fs-exp-overlay-0"] svg').text_content()
    assert "3 best runs by f1" in text and "4 of the 7 best have no loss" in text
    assert "7 best runs" not in text


# ---- 2. log scales for params spanning decades -------------------------------------------------

def test_params_spanning_decades_are_drawn_on_a_log_scale_the_user_can_switch_off(open_charts, chromium):
    runs = [make_run(i, {"C": 10.0 ** (i - 3), "depth": i}, {"f1": [0.5 + i / 20]}) for i in range(7)]
    specs = flat(experiment_sections(runs))
    context = chromium.new_context()
    try:
        page = open_charts(specs, context=context)
        x_type = "() => FlowsheetCharts.charts.find(c => c.id === 'fs-exp-scatter').view.scale('x').type"
        page.locator('[data-spec-id="fs-exp-scatter"] .vega-bindings select').first.select_option(label="C")
        page.wait_for_function(f"() => ({x_type})() === 'log'")
        parallel = "() => FlowsheetCharts.charts.find(c => c.id === 'fs-exp-parallel').view.signal('log_scale')"
        assert page.evaluate(parallel) is True
        switch = page.locator('[data-spec-id="fs-exp-scatter"] input[name="fs-log-scale"]')
        assert "C" in page.locator('[data-spec-id="fs-exp-scatter"] .fs-chart-tools label').inner_text()
        switch.uncheck()
        page.wait_for_function(f"() => ({x_type})() === 'linear'")
        page.wait_for_function(f"() => ({parallel})() === false")
        assert page.locator('[data-spec-id="fs-exp-parallel"] input[name="fs-log-scale"]').is_checked() is False
        # the choice is kept: the next visit starts linear
        again = open_charts(specs, context=context)
        assert again.locator('[data-spec-id="fs-exp-parallel"] input[name="fs-log-scale"]').is_checked() is False
        assert again.evaluate(parallel) is False
    finally:
        context.close()


# ---- 3. dark mode is readable ------------------------------------------------------------------

def luminance(colour: str) -> float:
    colour = colour.strip()
    if colour.startswith("#"):
        digits = colour[1:]
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        channels = [int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    else:  # rgb(r, g, b)
        channels = [int(part) / 255 for part in colour[colour.index("(") + 1:colour.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def painted(page, spec_id: str, selector: str, attribute: str) -> list[str]:
    return page.locator(f'[data-spec-id="{spec_id}"] {selector}').evaluate_all(
        f"els => els.map(e => getComputedStyle(e).{attribute})")


def test_dark_mode_labels_titles_and_whiskers_stand_out_from_the_background(open_charts):
    runs = [make_run(i, {"depth": i % 4, "opt": ["adam", "sgd"][i % 2]}, {"f1": [0.5 + i / 30], "loss": curve(i)})
            for i in range(8)]
    page = open_charts(flat(experiment_sections(runs)), dark=True)
    background = page.evaluate("() => FlowsheetCharts.charts[0].view.background()")
    assert luminance(background) < 0.1  # a dark page
    checks = {
        ("fs-exp-parallel", "g.mark-text.role-mark text", "fill"): "parallel tick labels",
        ("fs-exp-parallel", "g.role-axis-label text", "fill"): "parallel axis labels",
        ("fs-exp-parallel", "g.role-title-text text", "fill"): "parallel title",
        ("fs-exp-box", "g.mark-rule.role-mark line", "stroke"): "box whiskers",
        ("fs-exp-box", "g.role-axis-title text", "fill"): "box axis titles",
    }
    for (spec_id, selector, attribute), what in checks.items():
        colours = painted(page, spec_id, selector, attribute)
        assert colours, f"no {what} drawn"
        worst = min(contrast(c, background) for c in colours)
        assert worst >= 4.5, f"{what}: contrast {worst:.2f} against {background}"


# ---- 5. bars for metrics logged once -----------------------------------------------------------

def test_compare_draws_a_bar_per_selected_run_for_a_metric_logged_once(open_charts):
    runs = [make_run(i, {"seed": i}, {"loss": curve(i), **({"f1": [0.5 + i / 20]} if i != 3 else {})})
            for i in range(5)]
    specs = selection_specs(runs)
    chosen = [runs[0].run_id, runs[2].run_id, runs[3].run_id, runs[4].run_id]  # run 3 has no f1
    page = open_charts(specs, query="?runs=" + ",".join(chosen))
    assert count(page, "fs-cmp-bars-0", "g.mark-rect.role-mark path") == 3
    assert "f1" in page.locator('[data-spec-id="fs-cmp-bars-0"] svg').text_content()


# ---- 6. zoom, shared cursor, downloads ---------------------------------------------------------

def two_metric_run() -> Run:
    return make_run(1, {}, {"loss": curve(1, 60), "acc": [i / 60 for i in range(60)]})


def x_domain(page, nth: int) -> list[float]:
    return page.evaluate(f"() => FlowsheetCharts.charts[{nth}].view.scale('x').domain().map(Number)")


def test_drag_zooms_the_x_axis_and_double_click_resets_it(open_charts):
    page = open_charts(flat(run_chart_sections(two_metric_run())))
    before = x_domain(page, 0)
    box = page.locator('[data-spec-id="fs-metric-0"] g.mark-line.role-mark path').first.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.7, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, y, steps=5)
    page.mouse.up()
    page.wait_for_function(f"() => JSON.stringify(FlowsheetCharts.charts[0].view.scale('x').domain().map(Number))"
                           f" !== {str(before)!r}.replace(/ /g, '')")
    moved = x_domain(page, 0)
    assert moved != before
    page.mouse.dblclick(box["x"] + box["width"] / 2, y)
    page.wait_for_function(f"() => JSON.stringify(FlowsheetCharts.charts[0].view.scale('x').domain().map(Number))"
                           f" === {str(before)!r}.replace(/ /g, '')")


def test_hovering_one_chart_shows_the_cursor_on_the_others(open_charts):
    page = open_charts(flat(run_chart_sections(two_metric_run())))
    cursor = '[data-spec-id="fs-metric-1"] g.fs_cursor_marks line'
    assert page.locator(cursor).count() == 0
    box = page.locator('[data-spec-id="fs-metric-0"] g.mark-line.role-mark path').first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(cursor, state="attached")
    other = page.locator('[data-spec-id="fs-metric-1"] g.mark-line.role-mark path').first.bounding_box()
    rule = page.locator(cursor).bounding_box()
    # the same step on both charts (same steps, same width): the rule sits where the pointer is
    assert abs(rule["x"] - (box["x"] + box["width"] / 2)) < 0.03 * other["width"] + 2
    page.mouse.move(0, 0)
    page.wait_for_selector(cursor, state="detached")


def test_each_chart_downloads_png_svg_and_its_data_as_csv(open_charts):
    run = two_metric_run()
    specs = flat(run_chart_sections(run))
    page = open_charts(specs)
    tools = page.locator('[data-spec-id="fs-metric-0"] .fs-chart-tools')
    saved = {}
    for fmt in ("png", "svg", "csv"):
        with page.expect_download() as info:
            tools.locator(f'button[data-format="{fmt}"]').click()
        path = info.value.path()
        saved[fmt] = Path(path).read_bytes()
        assert info.value.suggested_filename == f"fs-metric-0.{fmt}"
    assert saved["png"].startswith(b"\x89PNG\r\n\x1a\n") and len(saved["png"]) > 1000
    svg = ET.fromstring(saved["svg"])
    assert svg.tag.endswith("svg")
    assert len([e for e in svg.iter() if e.tag.endswith("path")]) >= 2  # the raw and smoothed lines at least
    rows = list(csv.reader(io.StringIO(saved["csv"].decode())))
    points = specs["fs-metric-0"]["datasets"]["points"]
    assert rows[0] == ["step", "ms since start", "value"]
    assert len(rows) - 1 == len(points)
    assert [(int(r[0]), float(r[2])) for r in rows[1:]] == [(p["s"], p["v"]) for p in points]
