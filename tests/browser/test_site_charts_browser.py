"""The charts and the compare view of a built site, in Chromium over file://: marks are drawn, the
side-by-side table hides equal rows until asked, best values are marked, images render, no console errors.

One fixture site (tests/site_logs.py) and one browser (conftest's module-scoped `chromium`) for the module.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from site_logs import CNN, HOUSES, LASSO1, LASSO2, RIDGE, write_site_logs

from reporter.config import BuildConfig
from reporter.site.build import build

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site():
    # an own folder rather than tmp_path_factory: other sessions prune /tmp/pytest-of-<user> while pages load
    with tempfile.TemporaryDirectory(prefix="fs-site-charts-") as name:
        root = Path(name)
        build(BuildConfig.from_options(write_site_logs(root / "logs"), root / "site", environ={}))
        yield root / "site"


@pytest.fixture
def open_page(chromium):
    contexts, errors = [], []

    def open_(site: Path, relpath: str):
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        path, _, query = relpath.partition("?")
        page.goto((site / path).as_uri() + (f"?{query}" if query else ""))
        page.evaluate("() => window.FlowsheetCharts ? FlowsheetCharts.ready.then(() => FlowsheetCharts.drawAll()) : null")
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], f"console errors: {errors}"


def marks(page, spec_id: str, selector: str) -> int:
    return page.locator(f'[data-spec-id="{spec_id}"] {selector}').count()


def chart_id(page, title: str, section: str = "") -> str:
    """The first chart titled `title` (in the chart section `section`, when given)."""
    scope = f'.chart-section[data-section="{section}"] ' if section else ""
    return page.locator(f'{scope}.fs-chart[data-title="{title}"]').first.get_attribute("data-spec-id")


def test_run_page_charts_draw_lines_and_react_to_controls(site, open_page):
    page = open_page(site, f"runs/{LASSO1}/index.html")
    rmse = chart_id(page, "rmse")
    assert marks(page, rmse, "g.mark-line.role-mark path") == 2  # raw (faint) and smoothed
    page.locator('select[name="fs-x"]').select_option("wall")
    page.wait_for_function("() => FlowsheetCharts.charts[0].view && FlowsheetCharts.charts[0].view.scale('x').type === 'time'")
    assert marks(page, rmse, "g.mark-line.role-mark path") == 2
    cnn = open_page(site, f"runs/{CNN}/index.html")
    loss = chart_id(cnn, "loss")
    assert marks(cnn, loss, "g.mark-line.role-mark path") == 2
    assert "1 NaN/Inf value left out" in cnn.locator(f'[data-spec-id="{loss}"]').text_content()


def test_experiment_charts_draw_their_marks(site, open_page):
    page = open_page(site, f"experiments/{HOUSES}/index.html")
    assert marks(page, "fs-exp-overlay-0", "g.mark-line.role-mark path") == 3  # rmse of ridge and both lassos
    assert marks(page, "fs-exp-parallel", "g.mark-line.role-mark path") == 2  # the runs with r2
    assert marks(page, "fs-exp-scatter", "g.mark-symbol.role-mark path") == 2
    assert marks(page, "fs-exp-box", "g.mark-rect.role-mark path") >= 1
    page.wait_for_selector("table.runs tbody tr")  # the runs table still works beside the charts


def visible_rows(page) -> list[str]:
    return page.locator("#compare-table tbody tr:not(.group)").evaluate_all(
        "rows => rows.filter(r => r.offsetParent !== null).map(r => r.querySelector('th').textContent)")


def test_compare_table_differences_best_values_and_images(site, open_page):
    page = open_page(site, f"compare.html?runs={LASSO1},{LASSO2},{RIDGE}")
    table = page.locator("#compare-table")
    assert table.locator("thead th").all_inner_texts()[1:] == ["lasso-0.1 (reference)", "lasso-1", "ridge"]
    assert page.locator("#compare-diff-only").is_checked()
    shown = visible_rows(page)
    assert "C" in shown and "model" in shown and "Run ID" in shown
    assert "User" not in shown and "Experiment" not in shown  # the same for all three: hidden
    page.locator("#compare-diff-only").uncheck()
    everything = visible_rows(page)
    assert "User" in everything and "Experiment" in everything and len(everything) > len(shown)
    # rmse: 0.41, 0.6, 1.5 latest -> the lowest is best; ridge's C=10 differs from the reference's 0.1
    latest = table.locator('tr[data-field="metrics:rmse:latest"]')
    assert "lower is better" in latest.locator("th").inner_text()
    assert latest.locator("td.best").count() == 1 and latest.locator("td.best").inner_text().startswith("0.41")
    assert table.locator('tr[data-field="metrics:rmse:max"] td.best').inner_text().startswith("0.8")  # lasso-1's max
    assert table.locator('tr[data-field="metrics:r2:value"] td.best').inner_text().startswith("0.8")  # ridge: no r2
    assert table.locator('tr[data-field="params:C"] td.differs').count() == 2  # 1.0 and 10 differ from 0.1
    assert table.locator('tr[data-field="params:model"] td.differs').all_inner_texts() == ["ridge"]
    images = page.locator("#compare-images")
    assert images.locator(".image-row h3").all_inner_texts() == ["plots/curve.png"]  # SVG: on the run page only
    curve = images.locator(".image-row").nth(0)
    assert curve.locator("img").count() == 1 and curve.locator("text=not logged").count() == 2
    for img in images.locator("img").all():
        img.scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.querySelectorAll('#compare-images img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    assert images.locator("img").count() == 1


def test_compare_charts_draw_only_the_selected_runs(site, open_page):
    page = open_page(site, f"compare.html?runs={LASSO1},{CNN}")
    rmse, loss = chart_id(page, "rmse"), chart_id(page, "loss")
    assert marks(page, rmse, "g.mark-line.role-mark path") == 1
    assert marks(page, loss, "g.mark-line.role-mark path") == 1
    # one parallel coordinates chart and one scatter per experiment of the selection (houses, mnist)
    assert page.locator("#charts .chart-section h3").all_inner_texts() == ["metrics", "houses", "mnist"]
    assert marks(page, chart_id(page, "scatter", "houses"), "g.mark-symbol.role-mark path") == 1
    assert marks(page, chart_id(page, "scatter", "mnist"), "g.mark-symbol.role-mark path") == 1
    both = open_page(site, f"compare.html?runs={LASSO1},{LASSO2}")
    assert both.locator('.fs-chart[data-title="loss"]').count() == 0  # no selected run logged it
    assert both.locator('.chart-section[data-section="mnist"]').count() == 0  # nor is one in mnist
    assert marks(both, chart_id(both, "rmse"), "g.mark-line.role-mark path") == 2
    assert marks(both, chart_id(both, "parallel coordinates", "houses"), "g.mark-line.role-mark path") == 2


def test_compare_without_known_runs_says_so(site, open_page):
    page = open_page(site, "compare.html?runs=nope")
    assert page.locator("#compare-runs li").inner_text() == "nope (not in this site)"
    assert page.locator("#compare-side-by-side").is_hidden() and page.locator("#charts").is_hidden()


def test_compare_draws_bars_for_a_metric_logged_once(site, open_page):
    page = open_page(site, f"compare.html?runs={LASSO1},{LASSO2},{RIDGE}")
    r2 = chart_id(page, "r2")  # logged once by each lasso, never by ridge
    assert marks(page, r2, "g.mark-rect.role-mark path") == 2
    assert page.locator(f'[data-spec-id="{r2}"] .fs-chart-tools button').count() == 3  # PNG, SVG, CSV
