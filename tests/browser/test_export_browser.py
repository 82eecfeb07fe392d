"""`reporter export` writes one file that renders its tables, charts and images with no other request."""

import pytest
from click.testing import CliRunner
from helpers import ROOT

from reporter.cli import main


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "houses.html"
    result = CliRunner().invoke(main, ["export", str(ROOT / "sample_runs"), "--experiment", "houses", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "9 run(s)" in result.output
    return out


def test_export_is_one_file_that_renders_offline(chromium, report):
    page = chromium.new_page()
    requests, errors = [], []
    own_url = report.as_uri()

    def guard(route):
        requests.append(route.request.url)
        if route.request.url == own_url:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", guard)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(own_url)
    page.wait_for_function("window.FlowsheetCharts && window.FlowsheetCharts.ready !== undefined")
    page.evaluate("window.FlowsheetCharts.drawAll()")
    page.wait_for_timeout(500)
    assert [url for url in requests if url != own_url] == []
    assert errors == []
    # the runs table, with the nested sweep folded under its parent
    assert page.locator("table tbody tr").count() >= 4
    assert page.get_by_text("naive-backwards").first.is_visible()
    # nothing in the file leads to a page it does not carry: the CSV is inside, no button leaves for compare.html
    download = page.locator("a[download]", has_text="Download CSV")
    assert download.get_attribute("href").startswith("data:text/csv")
    assert page.locator("[data-role=compare]").count() == 0
    page.locator("table.runs tbody input[type=checkbox]").first.check()
    assert page.url.split("#")[0] == own_url  # the view state goes into the hash; the page stays
    # charts drew marks, on the experiment part and on the compare part
    assert page.locator("[data-spec-id^='fs-exp'] g.mark-point path, [data-spec-id^='fs-exp'] g.mark-line path,"
                        " [data-spec-id^='fs-exp'] g.mark-rect path").count() > 0
    assert page.locator("[data-spec-id^='fs-cmp'] path").count() > 0
    # the compare view shows every exported run, with their confusion matrices inlined
    assert page.locator("#compare-table thead th").count() == 10
    images = page.locator("#compare-images img")
    assert images.count() == 8  # the sweep's parent run logged no confusion matrix
    for index in range(images.count()):
        images.nth(index).scroll_into_view_if_needed()
    page.wait_for_function("[...document.querySelectorAll('#compare-images img')].every(i => i.naturalWidth > 0)")
    page.close()


def test_export_refuses_an_unknown_selection(tmp_path):
    result = CliRunner().invoke(main, ["export", str(ROOT / "sample_runs"), "--experiment", "nope",
                                       "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 2 and "no experiment named 'nope'" in result.output
    result = CliRunner().invoke(main, ["export", str(ROOT / "sample_runs"), "--runs", "ffffffff",
                                       "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 2 and "no run 'ffffffff'" in result.output
    assert not (tmp_path / "x.html").exists()
