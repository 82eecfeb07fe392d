"""The analyst's views in Chromium (issue #19): what an experiment, a run and the home page show first,
on a laptop (1400 px) and on a phone (375 px), with and without JavaScript.

The logs are this module's own: an experiment wide enough to scroll sideways (18 params, metrics m1, m2,
m10, m11 with long numbers, long notes), a run without a name, a run with nested artifact folders and
more than a screen of files, and a second experiment for the home page's all-runs table.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest
from site_logs import T0, experiment, run

from logger.values import format_number

from reporter.config import BuildConfig
from reporter.site.build import build

pytestmark = pytest.mark.browser

WIDE, OTHER = "wide-00000001", "other-00000002"
RUNS = 30  # top-level runs of the wide experiment, plus a child of the first
NAMELESS = "0123456789abcdef0123456789abcdef"
MODELS = "f" * 32
METRICS_IN_NATURAL_ORDER = ["loss", "m1", "m2", "m10", "m11"]
NOTES = "\n".join(["## How these runs were made", ""] + [f"- step {i}: a line of the plan" for i in range(20)])


def run_id(i: int) -> str:
    return f"{i + 1:032x}"


def write_view_logs(log_dir: Path) -> Path:
    wide = experiment(log_dir, WIDE, "wide", {"team": "vision", "mlflow.note.content": "Sweep of *everything*."})
    (wide / "notes.md").write_text(NOTES, encoding="utf-8")
    for i in range(RUNS):
        run(wide, run_id(i), f"run-{i:02d}", T0 + 1000 * (i + 1), params={f"p{k:02d}": k * i for k in range(18)},
            metrics={key: [(0, 1.0 + i), (1, i + 0.123456789012345)] for key in METRICS_IN_NATURAL_ORDER[::-1]})
    run(wide, "c" * 32, "child-of-run-00", T0 + 100_000, parent=run_id(0), metrics={"m1": [(0, 1.0)]})
    run(wide, NAMELESS, None, T0 + 200_000, metrics={"m1": [(0, 123456789.123456789)], "m2": [(0, 1e-07 / 3)]})
    files = {f"models/model_{k}/{name}": f"{name} of model {k}\n".encode() * 20 for k in range(4)
             for name in ("MLmodel", "conda.yaml", "requirements.txt", "python_env.yaml")}
    files.update({f"checkpoints/epoch_{e:02d}.txt": b"weights\n" for e in range(30)})
    files["README.md"] = b"# Models\n\nFour of them.\n"
    run(wide, MODELS, "four-models", T0 + 300_000, artifacts=files)
    other = experiment(log_dir, OTHER, "other")
    run(other, "9" * 32, "other-run", T0 + 400_000, params={"p00": "x"}, metrics={"m1": [(0, 0.5)]})
    return log_dir


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("views")
    build(BuildConfig.from_options(write_view_logs(root / "logs"), root / "site", environ={}))
    return root / "site"


@pytest.fixture
def new_page(chromium):
    contexts = []

    def make(width: int = 1400, height: int = 900, **options):
        context = chromium.new_context(viewport={"width": width, "height": height}, **options)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        return page, errors

    yield make
    for context in contexts:
        context.close()


def experiment_url(site: Path, experiment_id: str = WIDE) -> str:
    return (site / "experiments" / experiment_id / "index.html").as_uri()


def run_url(site: Path, rid: str) -> str:
    return (site / "runs" / rid / "index.html").as_uri()


def header_ids(page) -> list[str]:
    return page.eval_on_selector_all("table.runs thead th[data-col]", "ths => ths.map(th => th.dataset.col)")


def row_ids(page) -> list[str]:
    return page.eval_on_selector_all("table.runs tbody tr", "trs => trs.map(tr => tr.dataset.runId)")


# ---- 1. the runs table first ----------------------------------------------------------------------------

def test_runs_table_comes_first_metrics_before_params_and_the_name_stays_in_view(site, new_page):
    page, errors = new_page(1400, 900)
    page.goto(experiment_url(site))
    page.wait_for_selector("table.runs tbody tr input[type=checkbox]")  # drawn by table.js
    assert page.locator("table.runs").bounding_box()["y"] < 400  # on the first screen, above notes and charts
    columns = header_ids(page)
    first_metric = next(i for i, c in enumerate(columns) if c.startswith("metrics."))
    first_param = next(i for i, c in enumerate(columns) if c.startswith("params."))
    assert first_metric < first_param
    scroller = page.locator("[data-runs-table] .table-scroll")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth + 300")  # wide enough to scroll sideways
    name = page.locator("table.runs tbody tr").first.locator("th[scope=row]")
    metric = page.locator("table.runs tbody tr").first.locator("td").nth(first_metric)
    before, metric_before = name.bounding_box()["x"], metric.bounding_box()["x"]
    scroller.evaluate("el => { el.scrollLeft = 300; }")
    assert scroller.evaluate("el => el.scrollLeft") == 300
    assert metric.bounding_box()["x"] < metric_before - 250  # the rest moved
    assert abs(name.bounding_box()["x"] - before) < 1  # the name did not
    assert errors == []


# ---- 2. rows in the HTML ----------------------------------------------------------------------------------

def test_without_javascript_the_first_page_of_runs_is_listed_with_working_links(site, new_page):
    page, _ = new_page(java_script_enabled=False)
    page.goto(experiment_url(site))
    names = page.locator("table.runs tbody th[scope=row] a").all_inner_texts()
    # top-level runs newest first (the child sits under its parent in the tree, on its parent's page without JS)
    assert names == ["four-models", NAMELESS, *[f"run-{i:02d}" for i in reversed(range(RUNS))]]
    assert "metrics.m1" in header_ids(page) and "params.p00" in header_ids(page)
    row = page.locator(f"table.runs tbody tr[data-run-id='{run_id(3)}']")
    assert row.locator("td.num").first.inner_text() != ""  # values, not only names
    row.get_by_role("link", name="run-03").click()
    page.wait_for_url(f"**/runs/{run_id(3)}/index.html")
    assert page.locator("h1").inner_text().startswith("run-03")


def test_with_javascript_the_table_replaces_the_rows_of_the_html(site, new_page):
    page, errors = new_page()
    page.goto(experiment_url(site))
    page.wait_for_selector("table.runs tbody tr input[type=checkbox]")
    ids = row_ids(page)
    assert len(ids) == len(set(ids)) == RUNS + 2  # once each, the child folded under its parent
    assert page.locator("table.runs thead tr").count() == 1
    assert page.locator("[data-role=controls]").is_visible()  # hidden in the HTML, shown by table.js
    page.locator("[data-role=search]").fill("run-0")
    page.wait_for_function("document.querySelectorAll('table.runs tbody tr').length === 11")  # run-00..09, child
    assert errors == []


# ---- 3. natural order of keys -----------------------------------------------------------------------------

def test_metric_keys_are_listed_in_natural_order(site, new_page):
    page, errors = new_page()
    page.goto(experiment_url(site))
    page.wait_for_selector("table.runs tbody tr input[type=checkbox]")
    assert [c for c in header_ids(page) if c.startswith("metrics.")] == \
        [f"metrics.{k}" for k in METRICS_IN_NATURAL_ORDER]
    params = [c for c in header_ids(page) if c.startswith("params.")]
    assert params == [f"params.p{k:02d}" for k in range(15)]  # the first 15 shown, the rest in "Columns"
    page.goto(run_url(site, run_id(2)))
    shown = page.locator("table.metrics tbody th[scope=row]").all_inner_texts()
    assert shown == METRICS_IN_NATURAL_ORDER
    charts = page.eval_on_selector_all(".fs-chart", "els => els.map(e => e.dataset.title)")
    assert charts == METRICS_IN_NATURAL_ORDER
    page.goto((site / "compare.html").as_uri() + f"?runs={run_id(1)},{run_id(2)}")
    page.wait_for_selector("#compare-table tbody tr")
    fields = page.eval_on_selector_all("#compare-table tr[data-field^='metrics:']", "trs => trs.map(t => t.dataset.field)")
    keys = list(dict.fromkeys(field.split(":")[1] for field in fields))
    assert keys == METRICS_IN_NATURAL_ORDER
    assert errors == []


# ---- 4. the run id ----------------------------------------------------------------------------------------

ID_LINES = """(id) => {  // characters of the run id in the page's header (title and the line under it), per line
    for (const part of document.querySelectorAll('main > h1, main > p.meta')) {
        const walker = document.createTreeWalker(part, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const at = node.data.indexOf(id);
            if (at < 0) continue;
            const counts = new Map();
            for (let i = at; i < at + id.length; i++) {
                const range = document.createRange();
                range.setStart(node, i); range.setEnd(node, i + 1);
                const top = Math.round(range.getBoundingClientRect().top);
                counts.set(top, (counts.get(top) || 0) + 1);
            }
            return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(e => e[1]);
        }
    }
    return null;
}"""


@pytest.mark.parametrize("rid", [NAMELESS, run_id(5)])
def test_run_id_is_one_line_on_a_laptop_and_never_leaves_one_character_alone(site, new_page, rid):
    page, _ = new_page(1400, 900)
    page.goto(run_url(site, rid))
    assert page.evaluate(ID_LINES, rid) == [32]
    for width in [375, *range(320, 720, 10)]:  # wherever the line breaks, every line keeps several characters
        page.set_viewport_size({"width": width, "height": 900})
        lines = page.evaluate(ID_LINES, rid)
        assert min(lines) > 1, (width, lines)


# ---- 5. phones --------------------------------------------------------------------------------------------

ONE_LINE = """(cells) => cells.filter(cell => {  // the cells whose visible text takes more than one line
    const rects = [];
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.data.trim() || node.parentElement.closest('.visually-hidden')) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        rects.push(...range.getClientRects());
    }
    const tops = rects.map(r => r.top);
    return rects.length && Math.max(...tops) - Math.min(...tops) > rects[0].height / 2;
}).map(cell => cell.textContent)"""


@pytest.mark.parametrize("relpath", [f"runs/{NAMELESS}/index.html", f"runs/{run_id(7)}/index.html", "index.html",
                                     f"experiments/{WIDE}/index.html"])
def test_on_a_phone_numbers_and_headers_stay_on_one_line(site, new_page, relpath):
    page, errors = new_page(375, 800)
    page.goto((site / relpath).as_uri())
    numbers = page.locator("td.num, th.num")
    assert numbers.count() > 0
    assert page.eval_on_selector_all("td.num, th.num, thead th", ONE_LINE) == []
    # what is too wide scrolls inside its table's container, not the page
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert errors == []


# ---- 6. artifacts -----------------------------------------------------------------------------------------

def test_nested_artifact_folders_start_folded_and_open_on_click(site, new_page):
    page, errors = new_page(1400, 900)
    page.goto(run_url(site, MODELS))
    nested = page.locator("li.folder li.folder > details")
    assert nested.count() == 4 and all(not d.evaluate("d => d.open") for d in nested.all())
    assert page.evaluate("document.documentElement.scrollHeight") < 1800  # 16 files and 30 checkpoints: short
    assert not page.get_by_role("link", name="MLmodel").first.is_visible()
    page.get_by_text("models/", exact=True).click()
    page.get_by_text("model_2/", exact=True).click()
    assert page.locator("a[href='artifacts/models/model_2/MLmodel.download']").is_visible()
    assert not page.locator("a[href='artifacts/models/model_3/MLmodel.download']").is_visible()
    # a long folder lists its first entries and folds the rest under "Show all"
    page.get_by_text("checkpoints/", exact=True).click()
    assert page.get_by_role("link", name="epoch_19.txt").is_visible()
    assert not page.get_by_role("link", name="epoch_20.txt").is_visible()
    page.get_by_text("Show all 30").click()
    assert page.get_by_role("link", name="epoch_29.txt").is_visible()
    assert errors == []


# ---- 7. the home page's all-runs table ---------------------------------------------------------------------

def test_home_search_shows_the_experiment_and_downloads_what_is_shown_as_csv(site, new_page):
    page, errors = new_page()
    page.goto((site / "index.html").as_uri())
    page.wait_for_selector("table.runs tbody tr input[type=checkbox]")
    assert "experiment" in header_ids(page)
    other = page.locator("table.runs tbody tr[data-run-id='" + "9" * 32 + "']")
    assert other.get_by_role("link", name="other", exact=True).get_attribute("href") == f"experiments/{OTHER}/index.html"
    # every run, as a file: the link works without JavaScript too
    full = page.get_by_role("link", name="Download CSV (.gz)")
    assert full.get_attribute("href") == "runs.csv.gz"
    every = list(csv.DictReader(io.StringIO(gzip.decompress((site / "runs.csv.gz").read_bytes()).decode("utf-8"))))
    assert len(every) == RUNS + 4 and {r["experiment"] for r in every} == {"wide", "other"}
    # what the search shows, with the columns shown
    page.locator("[data-role=search]").fill("run-1")
    page.wait_for_function("document.querySelectorAll('table.runs tbody tr').length === 10")
    with page.expect_download() as info:
        page.get_by_role("button", name="CSV of shown rows").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert [r["Name"] for r in rows] == [f"run-{i}" for i in range(19, 9, -1)]
    assert {r["Experiment"] for r in rows} == {"wide"} and rows[0]["run_id"] == run_id(19)
    assert rows[0]["metrics.m1"] == format_number(19 + 0.123456789012345) and rows[0]["params.p02"] == "38"
    assert errors == []
