"""A big experiment's runs table in Chromium, its data in shards: the first rows come from the first file alone,
the rest load as the view needs them, and every view gives the rows it gives over the whole data.

3,000 runs (300 top-level, each with nine children): the first 100 rows, then shards of 200 rows, over
file:// as a user opens a site.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from logger.filter import parse_filter
from logger.model import LogData
from logger.order import sort_rows

from benchmarks.bench_table import big_experiment_runs, write_experiment_page
from reporter.site import pages as P
from reporter.site import tables

pytestmark = pytest.mark.browser

RUNS, SHARD_ROWS, SHARDS = 3000, 200, 16  # the first file holds the first page: 100 rows
FILTER = "metrics.m1 > 600 and params.p2 < 50"
DRAWN = "table.runs tbody tr input[type=checkbox]"  # rows drawn by table.js (the HTML's rows have no boxes)
ALL_IN = "!document.querySelector('.table-status').textContent.includes('loading')"


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    runs = big_experiment_runs(RUNS)
    page = write_experiment_page(tmp_path_factory.mktemp("shards") / "site", runs, shard_rows=SHARD_ROWS)
    experiment = P.all_experiments(LogData(runs=runs))["big"]
    rows = tables.table_rows(P.sorted_runs(runs.values()), P.run_href, {"big": experiment})
    return page, rows


@pytest.fixture
def new_page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    loaded, errors = [], []
    page.on("request", lambda request: loaded.append(Path(request.url.split("?")[0].removeprefix("file://"))))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page, loaded, errors
    context.close()


def open_table(page, page_file: Path, view: str = "") -> None:
    """Open the page (with `view` as its hash) and wait for table.js to draw its rows."""
    page.goto(page_file.as_uri() + view)
    page.wait_for_selector(DRAWN)


def names(page) -> list[str]:
    return page.locator("table.runs tbody th[scope=row] a").all_inner_texts()


def shown_ids(page) -> list[str]:
    """The run ids of "CSV of shown rows": every row the view shows, all pages, in order."""
    with page.expect_download() as info:
        page.get_by_role("button", name="CSV of shown rows").click()
    return [r["run_id"] for r in csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8")))]


def data_files(loaded: list[Path]) -> list[str]:
    return sorted(path.name for path in loaded if path.name.startswith("runs-data"))


def tops(rows):
    ids = {r["attributes"]["run_id"] for r in rows}
    return [r for r in rows if r["attributes"]["parent_run_id"] not in ids]


def test_the_first_rows_come_from_the_first_file_and_paging_loads_only_the_next_shard(big, new_page):
    page_file, rows = big
    page, loaded, errors = new_page
    open_table(page, page_file)
    first = [r["attributes"]["run_name"] for r in sort_rows(tops(rows))]
    assert names(page) == first[:100]
    assert data_files(loaded) == ["runs-data.js"]
    every = sum(p.stat().st_size for p in page_file.parent.glob("runs-data*.js"))
    assert (page_file.parent / "runs-data.js").stat().st_size < every / 10
    assert page.locator("table.runs tr").count() == 101  # the header and one page of rows
    assert "3000 runs · loading 100 of 3000 runs" in page.locator(".table-status").inner_text()
    # the third page is the last of the 300 top-level runs: rows 100-299 of the store's order are one shard
    page.get_by_role("button", name="Next ›").click()
    page.get_by_role("button", name="Next ›").click()
    page.wait_for_function(f"document.querySelectorAll('{DRAWN}').length === 100 && "
                           "document.querySelector('[data-role=pager]').textContent.includes('201–300 of 300')")
    assert names(page) == first[200:300] and names(page)[-1] == "run-0"
    assert data_files(loaded) == ["runs-data-1.js", "runs-data.js"]
    assert page.get_by_role("button", name="Next ›").is_disabled()
    assert page.evaluate("window.FlowsheetShards.current().loads") == 1
    assert errors == []


def test_sort_and_filter_give_the_rows_of_the_whole_data(big, new_page):
    page_file, rows = big
    page, loaded, errors = new_page
    open_table(page, page_file)
    page.locator("th[data-col='metrics.m3'] button").click()  # a number: descending first
    page.wait_for_function(ALL_IN)
    assert len(data_files(loaded)) == SHARDS
    by_m3 = sort_rows(tops(rows), ["metrics.m3 DESC"])
    assert names(page) == [r["attributes"]["run_name"] for r in by_m3[:100]]
    assert page.locator("table.runs tr").count() == 101
    page.locator("[data-role=filter]").fill(FILTER)
    page.wait_for_function("document.querySelector('.table-status').textContent.includes('match')")
    matching = parse_filter(FILTER)
    expected = sort_rows([r for r in rows if matching.matches(r)], ["metrics.m3 DESC"])
    assert len(expected) > 100  # more than a page: only the first is in the DOM
    assert page.locator(".table-status").inner_text() == f"{len(expected)} of 3000 runs match"
    assert page.locator("table.runs tr").count() == 101
    assert shown_ids(page) == [r["attributes"]["run_id"] for r in expected]
    assert page.evaluate("window.FlowsheetShards.current().loads") == SHARDS - 1  # each shard once
    assert errors == []


def test_a_search_link_and_the_csv_of_shown_rows_wait_for_every_shard(big, new_page):
    page_file, rows = big
    page, loaded, errors = new_page
    open_table(page, page_file, "#q=run-299")  # a link to a search: every run is searched
    page.wait_for_function(ALL_IN)
    expected = sorted(r["attributes"]["run_name"] for r in rows if "run-299" in r["attributes"]["run_name"])
    assert len(expected) == 11
    assert sorted(names(page)) == expected
    page.goto(page_file.as_uri() + "#")
    page.reload()
    page.wait_for_selector(DRAWN)
    # the default view's CSV: every top-level run, not only those of the shards loaded so far
    assert shown_ids(page) == [r["attributes"]["run_id"] for r in sort_rows(tops(rows))]
    assert errors == []


def test_group_by_counts_every_run_and_the_selection_stays(big, new_page):
    page_file, _ = big
    page, _, errors = new_page
    open_table(page, page_file)
    page.get_by_role("checkbox", name="Select run run-2990").check()
    assert page.get_by_role("button", name="Compare selected (1)").is_enabled()
    page.locator(".group-chooser summary").click()
    page.locator("[data-role=group-by] input[value='params.p1']").check()
    page.wait_for_function(ALL_IN)
    # p1 = i % 97: 97 groups, the group p1=0 holds runs 0, 97, ..., 2910
    assert page.locator(".table-status").inner_text() == "3000 runs in 97 groups"
    group = page.locator("tr[data-group='p1=0']")
    assert group.locator("td.n").inner_text() == "31"
    assert page.get_by_role("button", name="Compare selected (1)").is_enabled()
    assert f"sel={2990:032x}" in page.url
    # groups come a page at a time too (here pages of 10)
    page.evaluate("document.querySelector('[data-runs-table]')._table.pageSize = 10")
    page.get_by_role("button", name="Expand the runs of p1=0").click()
    assert page.locator("tbody tr.group-row").count() == 10
    assert page.locator("[data-role=pager]").inner_text().splitlines() == ["‹ Previous", "Groups 1–10 of 97", "Next ›"]
    # an open group shows its first page of runs and says how many more there are
    assert page.locator("tbody tr.group-member[data-run-id]").count() == 10
    assert page.locator("tbody tr.group-member").last.inner_text() == "… and 21 more runs: filter to list them"
    assert errors == []


RELOAD = """() => new Promise((resolve, reject) => {
  const script = document.createElement("script");  // as reporter/live/reload.js loads a data script again
  script.src = "runs-data.js?fs-update=1";
  script.onload = () => { script.remove(); window.FlowsheetTable.refresh(); resolve(); };
  script.onerror = reject;
  document.head.appendChild(script);
})"""


def test_a_rebuild_reloads_only_the_shards_that_changed(big, new_page, tmp_path):
    page_file, rows = big
    page, loaded, errors = new_page
    site = tmp_path / "site"
    shutil.copytree(page_file.parents[2], site)
    page_file = site / page_file.relative_to(page_file.parents[2])
    open_table(page, page_file, "#q=run-5")
    page.wait_for_function(ALL_IN)
    assert page.evaluate("window.FlowsheetShards.current().loads") == SHARDS - 1
    # `reporter serve` rebuilt the data: one child run renamed, which changes the last shard only
    renamed = [dict(r, attributes={**r["attributes"], "run_name": "renamed-5"}) if r["attributes"]["run_name"] == "run-5"
               else r for r in rows]
    before = {path.name: path.read_text() for path in page_file.parent.glob("runs-data*.js")}
    after = tables.runs_data_files(renamed, {}, shard_rows=SHARD_ROWS)
    assert sorted(name for name in after if after[name] != before[name]) == ["runs-data-15.js", "runs-data.js"]
    for name, text in after.items():
        (page_file.parent / name).write_text(text)
    page.evaluate(RELOAD)
    page.locator("[data-role=search]").fill("renamed-5")
    page.wait_for_function("document.querySelector('.table-status').textContent === '1 of 3000 runs match'")
    assert names(page) == ["renamed-5"]
    assert page.evaluate("window.FlowsheetShards.current().loads") == SHARDS  # the changed shard, once more
    assert errors == []


def test_a_parent_shows_its_toggle_before_its_children_are_loaded(big, new_page):
    page_file, _ = big
    page, loaded, errors = new_page
    open_table(page, page_file)
    assert data_files(loaded) == ["runs-data.js"]  # the child runs come after every top-level run
    page.locator(f"tr[data-run-id='{2990:032x}']").get_by_role("button", name="Expand child runs").click()
    page.wait_for_function(ALL_IN)
    assert names(page)[:11] == ["run-2990", *(f"run-{i}" for i in range(2999, 2990, -1)), "run-2980"]
    assert page.locator("table.runs tr").count() == 101
    assert errors == []


def test_a_link_past_the_last_page_shows_the_last_page_and_loads_only_its_shard(big, new_page):
    page_file, _ = big
    page, loaded, errors = new_page
    open_table(page, page_file, "#page=999")
    page.wait_for_function("document.querySelector('[data-role=pager]').textContent.includes('201–300 of 300')")
    assert names(page)[-1] == "run-0"
    assert data_files(loaded) == ["runs-data-1.js", "runs-data.js"]
    assert errors == []


@pytest.mark.parametrize("how", ["published again", "missing"])
def test_a_shard_of_another_version_is_reported_not_waited_for(big, new_page, tmp_path, how):
    """The site was published again while the page was open: the shard the old index asks for now holds other
    rows (or is gone). The table says it could not load it, once, instead of "loading" forever or asking for it
    again at every redraw."""
    page_file, rows = big
    page, loaded, errors = new_page
    site = tmp_path / "site"
    shutil.copytree(page_file.parents[2], site)
    page_file = site / page_file.relative_to(page_file.parents[2])
    open_table(page, page_file)
    renamed = [dict(r, attributes={**r["attributes"], "run_name": f"new-{r['attributes']['run_name']}"}) for r in rows]
    for name, text in tables.runs_data_files(renamed, {}, shard_rows=SHARD_ROWS).items():
        if name != "runs-data.js":  # the open page keeps its index; only the shards are new
            (page_file.parent / name).write_text(text)
    if how == "missing":
        (page_file.parent / "runs-data-1.js").unlink()
    page.get_by_role("button", name="Next ›").click()
    page.get_by_role("button", name="Next ›").click()
    page.wait_for_function("document.querySelector('.table-status').textContent.includes('could not load')")
    assert "runs-data-1.js" in page.locator(".table-status").inner_text()
    page.wait_for_timeout(300)  # several redraws' worth: none asks for the shard again
    assert page.evaluate("window.FlowsheetShards.current().loads") == 1
    assert errors == ([] if how == "published again" else ["Failed to load resource: net::ERR_FILE_NOT_FOUND"])
