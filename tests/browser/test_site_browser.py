"""The built site in Chromium: over file:// and over HTTP under a sub-path, with nothing leaving 127.0.0.1.

One module-scoped pair of sites (the fixture logs and the hostile logs), one browser.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from site_logs import HOUSES, LASSO1, LASSO2, RIDGE, write_hostile_logs, write_site_logs

from tests.serving import static_server

from benchmarks.bench_table import big_experiment_runs, write_experiment_page
from reporter.config import BuildConfig
from reporter.site.build import build

pytestmark = pytest.mark.browser

CASES_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "filter_cases.json"
PREFIX = "/some-repo/"


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """web/some-repo is the normal site, web/hostile-repo the hostile one; served over HTTP from web/."""
    root = tmp_path_factory.mktemp("browser")
    web = root / "web"
    build(BuildConfig.from_options(write_site_logs(root / "logs"), web / "some-repo", environ={}))
    build(BuildConfig.from_options(write_hostile_logs(root / "hostile"), web / "hostile-repo", environ={}))
    with static_server(web) as base:
        yield {"web": web, "http": base}


def url_of(sites, how: str, site: str, relpath: str) -> str:
    if how == "file":
        path, _, rest = relpath.partition("?")
        return (sites["web"] / site / path).as_uri() + (f"?{rest}" if rest else "")
    return f"{sites['http']}/{site}/{relpath}"


class Watch:
    """Console errors, page errors, dialogs and every request of one page; requests off 127.0.0.1 are aborted."""

    def __init__(self, page):
        self.errors, self.outside, self.dialogs = [], [], []
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.route("**/*", self._route)

    def _route(self, route):
        url = urlsplit(route.request.url)
        if url.scheme in ("file", "data", "blob", "about") or url.hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()


@pytest.fixture
def new_page(chromium):
    contexts = []

    def make(**options):
        context = chromium.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        return page, Watch(page)

    yield make
    for context in contexts:
        context.close()


PAGES = ["index.html", f"experiments/{HOUSES}/index.html", f"runs/{LASSO1}/index.html", f"runs/{RIDGE}/index.html",
         f"compare.html?runs={LASSO1},{RIDGE}"]


@pytest.mark.parametrize("how", ["file", "http"])
def test_every_page_type_loads_cleanly(sites, new_page, how):
    page, watch = new_page()
    for relpath in PAGES:
        page.goto(url_of(sites, how, "some-repo", relpath), wait_until="load")
        assert page.locator("h1").count() == 1
        if relpath in PAGES[:2]:
            page.wait_for_selector("table.runs tbody tr")
    assert watch.errors == [] and watch.outside == [] and watch.dialogs == []
    assert page.locator("#compare-runs li").all_inner_texts()[0].startswith("lasso-0.1")


def rows(page) -> list[str]:
    return page.locator("table.runs tbody tr th a").all_inner_texts()


def test_runs_table_tree_sort_filter_and_url_state(sites, new_page):
    page, watch = new_page()
    page.goto(url_of(sites, "http", "some-repo", f"experiments/{HOUSES}/index.html"))
    page.wait_for_selector("table.runs tbody tr")
    assert rows(page) == ["ridge", "sweep"]  # children folded under their parent, newest first
    page.get_by_role("button", name="Expand child runs").click()
    assert rows(page) == ["ridge", "sweep", "lasso-1", "lasso-0.1"]
    page.locator("th[data-col='name'] button").click()
    assert rows(page) == ["ridge", "sweep", "lasso-0.1", "lasso-1"]
    page.locator("th[data-col='metrics.rmse'] button").click()  # numbers sort descending first
    assert rows(page) == ["ridge", "sweep", "lasso-1", "lasso-0.1"]  # sweep has no rmse: missing sorts last
    page.locator("th[data-col='metrics.rmse'] button").click()
    assert rows(page) == ["ridge", "sweep", "lasso-0.1", "lasso-1"]
    assert page.locator("th[data-col='metrics.rmse']").get_attribute("aria-sort") == "ascending"
    page.locator("[data-role=search]").fill("lasso")
    page.wait_for_function("document.querySelectorAll('table.runs tbody tr').length === 2")
    assert sorted(rows(page)) == ["lasso-0.1", "lasso-1"]
    page.locator("[data-role=search]").fill("")
    page.locator("[data-role=filter]").fill("metrics.rmse < 0.5")
    page.wait_for_function("document.querySelectorAll('table.runs tbody tr').length === 1")
    assert rows(page) == ["lasso-0.1"]
    page.locator("[data-role=filter]").fill("metrics.rmse <")
    page.wait_for_selector(".table-status.error")
    page.locator("[data-role=filter]").fill("params.model = 'lasso'")
    page.wait_for_function("document.querySelectorAll('table.runs tbody tr').length === 2")
    page.locator(f"tr[data-run-id='{LASSO1}'] input[type=checkbox]").check()
    page.locator(f"tr[data-run-id='{LASSO2}'] input[type=checkbox]").check()
    page.locator(".column-chooser summary").click()
    page.locator(".column-chooser input[value='tags.stage']").uncheck()
    # the hash is written by history.replaceState: read it from the document, not from page.url (which lags)
    page.wait_for_function("location.hash.includes('sel=') && location.hash.includes('cols=')")
    shared = page.evaluate("location.href")
    other, _ = new_page()
    other.goto(shared)
    other.wait_for_selector("table.runs tbody tr")
    assert rows(other) == rows(page)
    assert other.locator("[data-role=filter]").input_value() == page.locator("[data-role=filter]").input_value()
    assert other.locator("th[data-col='tags.stage']").count() == 0
    other.get_by_role("button", name="Compare selected (2)").click()
    other.wait_for_url("**/compare.html?runs=*")
    assert sorted(other.locator("#compare-runs a").all_inner_texts()) == ["lasso-0.1", "lasso-1"]
    assert watch.errors == []


def test_filter_cases_pass_in_the_browser(sites, new_page):
    page, watch = new_page()
    page.goto(url_of(sites, "file", "some-repo", f"experiments/{HOUSES}/index.html"))
    data = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    failures = page.evaluate("""(data) => {
        const F = window.FlowsheetFilter, rows = data.runs.map(r => F.reviveRow(JSON.parse(JSON.stringify(r))));
        const out = [];
        for (const c of data.cases) {
            try {
                const got = rows.filter(r => F.parse(c.filter).matches(r)).map(r => r.attributes.run_id);
                if (c.error !== undefined) out.push([c.filter, "no error"]);
                else if (JSON.stringify(got.slice().sort()) !== JSON.stringify(c.expect.slice().sort())) out.push([c.filter, got]);
            } catch (e) {
                if (c.error === undefined || !String(e.message).includes(c.error)) out.push([c.filter, String(e)]);
            }
        }
        return [out, data.cases.length];
    }""", data)
    assert failures[0] == [] and failures[1] > 10


@pytest.mark.parametrize("how", ["file", "http"])
def test_images_render(sites, new_page, how):
    page, watch = new_page()
    for relpath, alt in [(f"runs/{LASSO1}/index.html", "plots/curve.png"), (f"runs/{RIDGE}/index.html", "logo.svg")]:
        page.goto(url_of(sites, how, "some-repo", relpath))
        image = page.locator(f"img[alt='{alt}']")
        image.scroll_into_view_if_needed()
        page.wait_for_function("(alt) => { const i = document.querySelector(`img[alt='${alt}']`); "
                               "return i.complete && i.naturalWidth > 0; }", arg=alt)
    assert watch.errors == []


@pytest.mark.parametrize("how", ["file", "http"])
def test_hostile_values_run_no_script(sites, new_page, how):
    page, watch = new_page()
    relpaths = ["index.html", "experiments/evil-00000001/index.html", f"runs/{'f' * 32}/index.html",
                f"runs/{'0' * 32}/index.html", f"compare.html?runs={'f' * 32},{'0' * 32}"]
    for relpath in relpaths:
        page.goto(url_of(sites, how, "hostile-repo", relpath), wait_until="load")
        page.wait_for_timeout(150)
        if page.locator("[data-runs-table]").count():
            page.wait_for_selector("table.runs tbody tr")
            for toggle in page.locator("button.toggle").all():
                toggle.click()
            page.locator("[data-role=search]").fill("<script>")
            page.locator("[data-role=search]").fill("")
            for link in page.locator("table.runs tbody a").all():
                assert link.get_attribute("href").endswith("/index.html")
        if relpath.startswith("compare.html"):
            # log values reach the side-by-side table, image captions and chart labels as text only
            page.evaluate("() => window.FlowsheetCharts && FlowsheetCharts.ready.then(() => FlowsheetCharts.drawAll())")
            table = page.locator("#compare-table").inner_text()
            assert "<script>window.__pwned=1;alert(1)</script>" in table and "javascript:window.__pwned=1" in table
            page.locator("#compare-diff-only").uncheck()
            for image in page.locator("#compare-images img").all():
                assert image.get_attribute("src").startswith("runs/")
        page.mouse.move(200, 200)
        page.mouse.move(400, 300)
        for frame in page.frames:
            try:
                assert frame.evaluate("typeof window.__pwned") == "undefined", relpath
            except Exception as exc:  # a sandboxed frame may refuse evaluation; the top check below still holds
                assert "pwned" not in str(exc)
        assert page.evaluate("typeof window.__pwned") == "undefined", relpath
    assert watch.dialogs == [] and watch.outside == []


def test_ten_thousand_runs_show_their_first_page_then_sort_and_search(tmp_path, new_page):
    """Only the experiment page and its data file. How fast this answers is `make bench` (bench_table)."""
    page_file = write_experiment_page(tmp_path / "site", big_experiment_runs(10_000))
    page, watch = new_page()
    page.goto(page_file.as_uri())
    page.wait_for_selector("table.runs tbody tr")
    assert page.locator("table.runs tbody tr").count() == 100  # first page of the 1,000 top-level runs
    assert "10000 runs" in page.locator(".table-status").inner_text()
    page.locator("th[data-col='metrics.m3'] button").click()
    page.locator("[data-role=search]").fill("run-99")
    page.wait_for_function("document.querySelector('.table-status').textContent.includes('match')")
    names = page.locator("table.runs tbody th[scope=row] a").all_inner_texts()
    assert names and all("run-99" in name for name in names), names[:5]
    assert watch.errors == []
