"""The runs table in Chromium sorts, filters and writes numbers as `search_runs` and the Python pages do."""

from __future__ import annotations

import pytest
from site_logs import SORTING, SORTING_ORDERS, write_sorting_logs

from logger.search import search_runs
from logger.values import format_number

from reporter.config import BuildConfig
from reporter.site.build import build

pytestmark = pytest.mark.browser

# The table's column for each search_runs field (table.js keeps the column id in the URL's #sort=).
COLUMN = {"run_name": "name", "start_time": "start", "user": "user", "status": "status"}


@pytest.fixture(scope="module")
def sorting_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("rows-browser")
    logs = write_sorting_logs(root / "logs")
    build(BuildConfig.from_options(logs, root / "site", environ={}))
    [page] = (root / "site" / "experiments").glob("*/index.html")
    return logs, page.as_uri()


@pytest.fixture(scope="module")
def page(chromium):
    context = chromium.new_context()
    yield context.new_page()
    context.close()


def shown_ids(page, url: str) -> list[str]:
    page.goto("about:blank")
    page.goto(url)
    page.wait_for_selector("table.runs tbody tr")
    return page.eval_on_selector_all("table.runs tbody tr", "rows => rows.map(r => r.getAttribute('data-run-id'))")


@pytest.mark.parametrize("field", SORTING_ORDERS)
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_table_sorts_as_search_runs_orders(sorting_site, page, field, direction):
    """NaN, missing values, ties, words among numbers: the same order in the browser as in Python."""
    logs, url = sorting_site
    column = COLUMN.get(field, field)
    got = shown_ids(page, f"{url}#sort={column}:{direction.lower()}")
    expected = list(search_runs(experiment_ids=[SORTING], order_by=[f"{field} {direction}"], log_dir=logs)["run_id"])
    assert got == expected


def test_filter_box_finds_runs_by_mlflow_system_tags(sorting_site, page):
    _, url = sorting_site
    shown_ids(page, url)
    page.locator("[data-role=filter]").fill("tags.mlflow.runName = 'x'")
    page.wait_for_function("document.querySelectorAll('table.runs tbody tr').length === 2")
    ids = page.eval_on_selector_all("table.runs tbody tr", "rows => rows.map(r => r.getAttribute('data-run-id'))")
    assert sorted(ids) == ["1" * 32, "4" * 32]


def test_table_cells_write_numbers_as_python_does(sorting_site, page):
    logs, url = sorting_site
    shown_ids(page, url)
    cells = page.eval_on_selector_all("table.runs tbody tr", """rows => rows.map(r => [r.getAttribute('data-run-id'),
        r.children[Array.from(r.closest('table').tHead.rows[0].cells).findIndex(c => c.dataset.col === 'metrics.m')]
         .textContent])""")
    frame = search_runs(experiment_ids=[SORTING], log_dir=logs).set_index("run_id")
    for run_id, text in cells:
        value = frame.loc[run_id, "metrics.m"]
        if value == value or run_id == "3" * 32:  # run 3 logged NaN; run 2 has no m
            assert text == format_number(value), run_id
        else:
            assert text == "", run_id
