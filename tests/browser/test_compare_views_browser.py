"""The compare view at scale and with image habits that break exact-path matching, in Chromium over file://:
randomly named figures share a row, fifty runs show only the params that differ and sort by any row,
metric cells are coloured from worst to best, and `log_image(key=, step=)` series step with a slider.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import unquote

import pytest
from site_logs import T0, experiment, png_bytes, run

from reporter.config import BuildConfig
from reporter.site.build import build

pytestmark = pytest.mark.browser

FIGS = "figs-0a1b2c3d"
CM_RUNS = ["1" * 32, "2" * 32, "3" * 32]
CM_NAMES = ["confusionmatrix-k2j4_x9.png", "confusionmatrix-ab12cd.png", "confusionmatrix-qw_7yuio.png"]
SWEEP = "sweep-9e8d7c6b"
SWEEP_RUNS = [f"{n:032x}" for n in range(1, 51)]
SERIES_RUNS = ["a1" * 16, "b2" * 16]


def series_name(key: str, step: int, uid: str, compressed: bool = False) -> str:
    """MLflow's name for log_image(key=, step=) (mlflow/tracking/client.py)."""
    return (f"images/{key.replace('/', '~')}+step+{step}+timestamp+{T0 + step}+{uid}"
            + ("+compressed.webp" if compressed else ".png"))


def write_logs(log_dir: Path) -> Path:
    figs = experiment(log_dir, FIGS, "figures")
    for n, (run_id, name) in enumerate(zip(CM_RUNS, CM_NAMES, strict=True)):
        run(figs, run_id, f"fig-{n}", T0 + n, params={"seed": n},
            artifacts={f"plots/{name}": png_bytes(color=(40 * n, 90, 160)), "plots/curve.png": png_bytes()})
    for n, run_id in enumerate(SERIES_RUNS):
        steps = [0, 5, 10] if n == 0 else [0, 10]
        run(figs, run_id, f"series-{n}", T0 + 100 + n, params={"seed": 10 + n}, artifacts={
            **{series_name("samples/val", s, f"u{n}{s}"): png_bytes(color=(s * 20, 50 * n, 90)) for s in steps},
            **{series_name("samples/val", s, f"u{n}{s}", True): png_bytes(8, 8) for s in steps}})
    sweep = experiment(log_dir, SWEEP, "sweep")
    for n, run_id in enumerate(SWEEP_RUNS):
        # lr and depth differ, optimizer and epochs are the same for all fifty runs
        run(sweep, run_id, f"trial-{n:02d}", T0 + 1000 + n,
            params={"lr": round(0.001 * (n + 1), 4), "depth": n % 7, "optimizer": "adam", "epochs": 20},
            metrics={"loss": [(0, round(2.0 - 0.03 * ((n * 17) % 50), 4))]})
    return log_dir


@pytest.fixture(scope="module")
def site():
    with tempfile.TemporaryDirectory(prefix="fs-compare-views-") as name:
        root = Path(name)
        build(BuildConfig.from_options(write_logs(root / "logs"), root / "site", environ={}))
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
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], f"console errors: {errors}"


def images_load(page, scope: str) -> None:
    for img in page.locator(f"{scope} img").all():
        img.scroll_into_view_if_needed()
    page.wait_for_function(f"() => [...document.querySelectorAll('{scope} img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")


def test_randomly_named_figures_share_one_row_and_exact_matching_splits_them(site, open_page):
    page = open_page(site, "compare.html?runs=" + ",".join(CM_RUNS))
    rows = page.locator("#compare-image-rows .image-row")
    assert rows.locator("h3").all_inner_texts() == ["plots/confusionmatrix-*.png", "plots/curve.png"]
    matrix = rows.nth(0)
    assert matrix.locator("img").count() == 3 and matrix.locator("text=not logged").count() == 0
    assert [f.get_attribute("data-run") for f in matrix.locator("figure").all()] == CM_RUNS
    assert "confusionmatrix-ab12cd.png" in matrix.locator("figure").nth(1).inner_text()
    images_load(page, "#compare-image-rows")
    match = page.locator("#compare-image-match")
    assert match.is_visible() and match.input_value() == "pattern"
    match.select_option("exact")
    labels = rows.locator("h3").all_inner_texts()
    assert labels == [f"plots/{name}" for name in sorted(CM_NAMES)] + ["plots/curve.png"]
    assert rows.nth(0).locator("text=not logged").count() == 2


def visible_fields(page) -> list[str]:
    return page.locator("#compare-table tbody tr:not(.group)").evaluate_all(
        "rows => rows.filter(r => r.offsetParent !== null).map(r => r.getAttribute('data-field'))")


def column_runs(page) -> list[str]:
    return page.locator("#compare-table thead th[data-run]").evaluate_all("ths => ths.map(t => t.dataset.run)")


def test_fifty_runs_show_differing_params_sort_by_a_row_and_colour_metrics(site, open_page):
    page = open_page(site, "compare.html?runs=" + ",".join(SWEEP_RUNS))
    assert column_runs(page) == SWEEP_RUNS
    fields = visible_fields(page)
    params = [f for f in fields if f.startswith("params:")]
    assert params == ["params:depth", "params:lr"]  # optimizer and epochs are the same everywhere: hidden
    assert "metrics:loss:value" in fields
    loss = page.locator('#compare-table tr[data-field="metrics:loss:value"]')
    values = [float(v.split()[0]) for v in loss.locator("td").all_inner_texts()]
    # a click on the row's header orders the columns by it, best (lowest loss) first; again: the other way
    loss.locator("th button.sort-row").click()
    order = column_runs(page)
    expected = [run_id for _, run_id in sorted(zip(values, SWEEP_RUNS, strict=True), key=lambda p: p[0])]
    assert order[0] == expected[0] and order[-1] == expected[-1] and order != SWEEP_RUNS
    sorted_values = [float(v.split()[0]) for v in loss.locator("td").all_inner_texts()]
    assert sorted_values == sorted(values)
    assert loss.locator("th").get_attribute("aria-sort") == "ascending"
    loss.locator("th button.sort-row").click()
    assert [float(v.split()[0]) for v in loss.locator("td").all_inner_texts()] == sorted(values, reverse=True)
    # a param row sorts too: depth ascending, ties in the selection's order
    page.locator('#compare-table tr[data-field="params:depth"] th button.sort-row').click()
    depths = [int(v) for v in page.locator('#compare-table tr[data-field="params:depth"] td').all_inner_texts()]
    assert depths == sorted(depths) and column_runs(page)[:2] == [SWEEP_RUNS[0], SWEEP_RUNS[7]]
    # colours: the worst and the best loss have different backgrounds, every numeric cell has one
    cells = page.locator('#compare-table tr[data-field="metrics:loss:value"] td')
    backgrounds = cells.evaluate_all("tds => tds.map(td => [td.dataset.scale, getComputedStyle(td).backgroundColor])")
    by_scale = {scale: colour for scale, colour in backgrounds}
    assert "0.000" in by_scale and "1.000" in by_scale and by_scale["0.000"] != by_scale["1.000"]
    assert all(colour not in ("", "rgba(0, 0, 0, 0)") for _, colour in backgrounds)


def test_dark_theme_keeps_scaled_metric_cells_readable(site, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    try:
        page = context.new_page()
        page.goto((site / "compare.html").as_uri() + "?runs=" + ",".join(SWEEP_RUNS[:5]))
        colours = page.locator('#compare-table tr[data-field="metrics:loss:value"] td').evaluate_all(
            "tds => tds.map(td => [getComputedStyle(td).color, getComputedStyle(td).backgroundColor])")
        for text, background in colours:
            assert text != background
            assert background.startswith("rgba(") and float(background.rsplit(",", 1)[1].rstrip(")")) < 0.5
        # light text on a translucent tint of the dark page
        assert all(int(text.split("(")[1].split(",")[0]) > 150 for text, _ in colours)
    finally:
        context.close()


def test_a_series_row_shows_each_run_at_the_chosen_step(site, open_page):
    page = open_page(site, "compare.html?runs=" + ",".join(SERIES_RUNS))
    row = page.locator('#compare-image-rows .image-series[data-key="samples/val"]')
    assert row.locator(".step-label").inner_text() == "step 10"
    assert row.locator("img").count() == 2
    srcs = [unquote(s) for s in row.locator("img").evaluate_all("imgs => imgs.map(i => i.getAttribute('src'))")]
    assert all("+step+10+" in src and src.endswith(".png") for src in srcs)
    images_load(page, "#compare-image-rows .image-series")
    row.locator("input[type=range]").fill("1")  # steps 0, 5, 10: the middle one
    assert row.locator(".step-label").inner_text() == "step 5"
    assert row.locator("img").count() == 1 and "+step+5+" in unquote(row.locator("img").get_attribute("src"))
    assert row.locator("text=not logged at step 5").count() == 1
    # the series files are not image rows of their own
    assert page.locator("#compare-image-rows .image-row:not(.image-series)").count() == 0


def test_the_run_page_steps_through_a_series(site, open_page):
    page = open_page(site, f"runs/{SERIES_RUNS[0]}/index.html")
    series = page.locator('.image-series[data-key="samples/val"]')
    img, label = series.locator("img"), series.locator(".step-label")
    assert label.inner_text() == "step 10" and "+step+10+" in unquote(img.get_attribute("src"))
    slider = series.locator("input[type=range]")
    assert slider.is_visible()
    slider.fill("0")
    assert label.inner_text() == "step 0" and "+step+0+" in unquote(img.get_attribute("src"))
    slider.fill("1")
    assert label.inner_text() == "step 5" and "+step+5+" in unquote(img.get_attribute("src"))
    page.wait_for_function("() => { const i = document.querySelector('.image-series img');"
                           " return i.complete && i.naturalWidth > 0; }")


def test_without_javascript_the_run_page_shows_the_last_step(site, chromium):
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto((site / "runs" / SERIES_RUNS[0] / "index.html").as_uri())
        series = page.locator('.image-series[data-key="samples/val"]')
        assert series.locator(".step-label").inner_text() == "step 10"
        assert "+step+10+" in unquote(series.locator("img").get_attribute("src"))
        assert series.locator("input[type=range]").is_hidden()
    finally:
        context.close()
