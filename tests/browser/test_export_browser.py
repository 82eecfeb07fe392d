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
    # nothing in the file leads to a page it does not carry: the CSV is inside
    download = page.locator("a[download]", has_text="Download CSV")
    assert download.get_attribute("href").startswith("data:text/csv")
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


@pytest.fixture(scope="module")
def whole_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "all.html"
    result = CliRunner().invoke(main, ["export", str(ROOT / "sample_runs"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_each_run_section_draws_its_curves_offline(chromium, whole_report):
    page = chromium.new_page()
    errors, requests = [], []
    page.route("**/*", lambda route: (requests.append(route.request.url), route.continue_()
                                      if route.request.url == whole_report.as_uri() else route.abort()))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(whole_report.as_uri())
    page.wait_for_function("window.FlowsheetCharts && window.FlowsheetCharts.ready !== undefined")
    page.evaluate("window.FlowsheetCharts.drawAll()")
    page.wait_for_function("document.querySelectorAll(\"[data-spec-id^='fs-run'] g.mark-line path\").length > 0")
    sections = page.locator("section.run-part")
    assert sections.count() == 15
    assert page.locator("section.run-part [data-spec-id^='fs-run'] svg").count() == \
        page.locator("section.run-part [data-spec-id^='fs-run']").count()  # every curve of every run drawn
    assert [url for url in requests if url != whole_report.as_uri()] == []
    assert errors == []
    page.close()


def _open(chromium, report):
    page = chromium.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report.as_uri())
    page.wait_for_selector("table.runs tbody tr")
    return page, errors


def test_every_link_drawn_in_the_export_leads_to_a_part_of_it(chromium, report):
    page, errors = _open(chromium, report)
    page.wait_for_selector("#compare-table thead a")
    hrefs = page.evaluate("[...document.querySelectorAll('[href]')].map(a => a.getAttribute('href'))")
    assert hrefs and all(h.startswith(("#", "data:")) for h in hrefs), hrefs
    missing = page.evaluate("[...document.querySelectorAll('[href^=\"#\"]')].map(a => a.getAttribute('href'))"
                            ".filter(h => !document.getElementById(h.slice(1)))")
    assert missing == []
    # a run's name in the table leads to that run's section of the file
    link = page.locator("table.runs tbody th a", has_text="naive-backwards").first
    target = link.get_attribute("href")[1:]
    link.click()
    # page.url follows the renderer by a protocol event that may land after click() returns: wait for it
    page.wait_for_url(lambda url: url.endswith("#" + target))
    assert "naive-backwards" in page.locator(f"[id='{target}']").inner_text()
    assert errors == []
    page.close()


def test_selected_runs_are_compared_in_the_file(chromium, report):
    page, errors = _open(chromium, report)
    page.wait_for_selector("#compare-table thead th")
    assert page.locator("#compare-table thead th").count() == 10  # every exported run, then the field column
    boxes = page.locator("table.runs tbody input[type=checkbox]")
    chosen = [boxes.nth(i).evaluate("b => b.closest('tr').getAttribute('data-run-id')") for i in (0, 1)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    button = page.locator("[data-role=compare]")
    assert button.is_enabled() and "(2)" in button.inner_text()
    button.click()
    page.wait_for_function("document.querySelectorAll('#compare-table thead th').length === 3")
    assert page.url.startswith(report.as_uri())  # still the same file
    compared = page.locator("#compare-table tbody tr[data-field='info:Run ID'] td").all_inner_texts()
    assert sorted(compared) == sorted(chosen)
    assert errors == []
    page.close()


def test_export_refuses_an_unknown_selection(tmp_path):
    result = CliRunner().invoke(main, ["export", str(ROOT / "sample_runs"), "--experiment", "nope",
                                       "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 2 and "no experiment named 'nope'" in result.output
    result = CliRunner().invoke(main, ["export", str(ROOT / "sample_runs"), "--runs", "ffffffff",
                                       "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 2 and "no run 'ffffffff'" in result.output
    assert not (tmp_path / "x.html").exists()


def test_every_visible_control_of_the_export_does_something(chromium, report):
    page, errors = _open(chromium, report)
    page.wait_for_selector("#compare-table thead th")
    page.locator("details.column-chooser summary").click()
    controls = page.locator("main button:visible, main input[type=checkbox]:visible")
    assert controls.count() > 10
    index = -1
    while (index := index + 1) < controls.count():  # the table redraws its controls: take them afresh each time
        control = controls.nth(index)
        if control.get_attribute("data-role") == "compare" or control.is_disabled():
            continue  # a navigation (test_selected_runs_are_compared_in_the_file) / nothing chosen yet
        before = page.evaluate("document.body.innerHTML + location.href")
        control.click()
        assert page.evaluate("document.body.innerHTML + location.href") != before, control.evaluate("e => e.outerHTML")
    assert errors == []
    page.close()
