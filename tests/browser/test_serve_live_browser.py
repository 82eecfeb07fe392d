"""While a run keeps logging, pages served by `reporter serve` take the new data in place: nothing the
reader is doing is lost (text being typed and its caret, the focus, an open Columns menu, log y, smoothing,
scroll), and the new values and runs do show.

Each step appends to the run's log from the test, then waits (bounded) until the page shows what was
appended: every step is a rebuild the page has taken in. `window.sameDocument`, set once, tells an
in-place update from a reload (which clears it).
"""

from __future__ import annotations

import pytest

from tests.logwriting import append, end, metric, param, write_run
from tests.serving import serve_one_run

EXP = "live-00000007"
RUN = "d" * 32
WAIT_MS = 20000  # a rebuild of the summary pages comes within about a second; the machine is shared
FILTER = "metrics.loss < 100"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-live")
    params = [param(f"param_{i:03d}", i) for i in range(80)]  # a run page tall enough to scroll
    server = serve_one_run(tmp, EXP, RUN, [param("lr", 0.1), *params, *(metric("loss", 0.9 - i / 10, i) for i in range(3))])
    server.run_file = server.logs / EXP / RUN / "run.jsonl"
    yield server
    assert server.stop() == 0, server.text()


@pytest.fixture
def tab(chromium):
    context = chromium.new_context(viewport={"width": 1100, "height": 700})
    yield context.new_page()
    context.close()


def open_listening(tab, url: str) -> None:
    tab.goto(url)
    tab.wait_for_function("window.flowsheetServe && window.flowsheetServe.source.readyState === 1", timeout=WAIT_MS)
    tab.evaluate("window.sameDocument = true")


def filter_state(tab) -> dict:
    return tab.evaluate("""() => {
        const input = document.querySelector('[data-role=filter]');
        return {value: input.value, caret: [input.selectionStart, input.selectionEnd],
                focused: document.activeElement === input,
                menuOpen: document.querySelector('.column-chooser').open,
                menuItems: document.querySelectorAll('.column-chooser input[type=checkbox]').length,
                sameDocument: window.sameDocument === true};
    }""")


def test_typing_a_filter_while_the_run_logs_keeps_the_text_caret_and_open_menu_and_shows_new_data(served, tab):
    open_listening(tab, f"{served.url}experiments/{EXP}/index.html")
    tab.locator(f"tr[data-run-id='{RUN}'] input[type=checkbox]").check()  # a selected row,
    tab.locator("th[data-col=name] button").click()  # a sort,
    tab.locator(".column-chooser summary").click()
    tab.locator(".column-chooser input[value=user]").uncheck()  # a column left out, and the menu open
    tab.locator("[data-role=filter]").focus()
    rows = "document.querySelector('[data-runs-table] tbody')"
    typed = ""
    for step, char in enumerate(FILTER):
        tab.keyboard.type(char)
        typed += char
        value = round(0.5 - step / 1000, 6)  # below 1: every partial filter that parses keeps the run
        append(served.run_file, metric("loss", value, 10 + step))
        tab.wait_for_function(f"{rows}.textContent.includes('{value}')", timeout=WAIT_MS)
        state = filter_state(tab)
        assert state == {"value": typed, "caret": [len(typed), len(typed)], "focused": True, "menuOpen": True,
                         "menuItems": state["menuItems"], "sameDocument": True}, step
        assert state["menuItems"] > 0

    # The caret in the middle of the text stays where it is too.
    tab.keyboard.press("Home")
    for _ in range(3):
        tab.keyboard.press("ArrowRight")
    append(served.run_file, metric("loss", 0.25, 100))
    tab.wait_for_function(f"{rows}.textContent.includes('0.25')", timeout=WAIT_MS)
    assert filter_state(tab)["caret"] == [3, 3]

    # A new run shows up as a new row, under the same filter.
    write_run(served.logs / EXP, "e" * 32, [metric("loss", 0.125, 0), end()], name="second-attempt")
    tab.wait_for_function(f"{rows}.textContent.includes('second-attempt')", timeout=WAIT_MS)
    state = filter_state(tab)
    assert (state["value"], state["focused"], state["menuOpen"], state["sameDocument"]) == (FILTER, True, True, True)
    assert tab.locator("[data-role=status]").text_content() == "2 of 2 runs match"
    assert tab.locator(f"tr[data-run-id='{RUN}'] input[type=checkbox]").is_checked()
    assert tab.locator("[data-role=compare]").text_content() == "Compare selected (1)"
    assert tab.locator("th[data-col=name]").get_attribute("aria-sort") == "ascending"
    assert tab.locator("th[data-col=user]").count() == 0 and tab.locator("th[data-col=status]").count() == 1


def test_log_y_and_smoothing_stay_while_new_points_come_into_the_chart(served, tab):
    open_listening(tab, f"{served.url}runs/{RUN}/index.html")
    # (window. so that a page in the middle of reloading gives undefined, not a ReferenceError)
    chart = "(window.FlowsheetCharts && FlowsheetCharts.charts.find(c => c.el.getAttribute('data-title') === 'loss'))"
    tab.locator("#charts").scroll_into_view_if_needed()  # charts are drawn as they come into view
    tab.wait_for_function(f"{chart} && {chart}.view", timeout=WAIT_MS)
    tab.locator("[name=fs-log-y]").check()
    tab.wait_for_function(f"{chart}.view && {chart}.view.scale('y').type === 'log'", timeout=WAIT_MS)
    tab.locator("[name=fs-smoothing]").fill("0.3")
    scroll_y = tab.evaluate("window.scrollY")
    assert scroll_y > 100
    points = tab.evaluate(f"{chart}.view.data('points').length")

    for step in range(4):
        value = round(0.05 - step / 1000, 6)
        append(served.run_file, metric("loss", value, 200 + step))
        points += 1
        # The new point is in the drawn chart (not only in the page's text).
        tab.wait_for_function(f"{chart} && {chart}.view && {chart}.view.data('points').length === {points}",
                              timeout=WAIT_MS)
        assert tab.locator("[name=fs-log-y]").is_checked()
        assert tab.evaluate(f"{chart}.view.scale('y').type") == "log"
        assert tab.locator("[name=fs-smoothing]").input_value() == "0.3"
        assert tab.evaluate("FlowsheetCharts.state.smoothing") == 0.3
    assert str(value) in tab.locator("table.metrics").text_content()  # the rest of the page follows too
    assert tab.evaluate("window.sameDocument") is True
    assert abs(tab.evaluate("window.scrollY") - scroll_y) < 5

    # A metric logged at a second step gets its chart, drawn in place with the page's settings.
    append(served.run_file, metric("acc", 0.5, 0), metric("acc", 0.625, 1))
    tab.locator(".fs-chart[data-title=acc]").scroll_into_view_if_needed(timeout=WAIT_MS)
    acc = "(window.FlowsheetCharts && FlowsheetCharts.charts.find(c => c.el.getAttribute('data-title') === 'acc'))"
    tab.wait_for_function(f"{acc} && {acc}.view && {acc}.view.scale('y').type === 'log'", timeout=WAIT_MS)
    assert tab.evaluate(f"{acc}.view.data('points').length") == 2
    assert tab.locator(".fs-chart-controls").count() == 1 and tab.locator("[name=fs-log-y]").is_checked()
    assert tab.evaluate("window.sameDocument") is True


def test_the_compare_view_takes_new_values_and_keeps_its_settings(served, tab):
    open_listening(tab, f"{served.url}compare.html?runs={RUN}")
    tab.locator("#compare-diff-only").uncheck()
    append(served.run_file, metric("loss", 0.0625, 300))
    tab.wait_for_function("document.getElementById('compare-table').textContent.includes('0.0625')", timeout=WAIT_MS)
    assert not tab.locator("#compare-diff-only").is_checked()
    assert "rows differ" in tab.locator("#compare-diff-count").text_content()
    assert tab.locator("#compare-runs li").count() == 1  # drawn again, not added to
    assert tab.evaluate("window.sameDocument") is True
