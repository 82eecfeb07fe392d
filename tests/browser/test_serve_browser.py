"""A page served by `reporter serve` reloads by itself when an update needs code it did not load.

The run page starts with one point of one metric (no chart, so no chart code); the append gives it its
first chart, which an in-place update cannot draw: the page reloads (updates that keep the page are in
test_serve_live_browser.py). The page is tall (many params) and scrolled down, and its URL has a query
and a hash: after the reload the scroll position and the URL are what they were. A JS global set before
the append tells a real reload (which clears it) from an in-place update.
"""

from __future__ import annotations

import pytest

from tests.logwriting import metric, param, write_run
from tests.serving import append_from_another_process, serve_one_run, wait_for

EXP = "live-00000004"
RUN = "f" * 32
SCROLL_Y = 700


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-browser")
    params = [param(f"param_{i:03d}", i) for i in range(120)]  # a page tall enough to scroll
    server = serve_one_run(tmp, EXP, RUN, [*params, metric("loss", 1.0, 0)])
    yield server
    assert server.stop() == 0, server.text()


@pytest.fixture
def tab(chromium):
    """A page of the module's sync-API browser (named `tab`: pytest-playwright owns `page`)."""
    context = chromium.new_context(viewport={"width": 1000, "height": 600})
    yield context.new_page()
    context.close()


def open_listening(tab, url: str) -> None:
    tab.goto(url)
    tab.wait_for_function("window.flowsheetServe && window.flowsheetServe.source.readyState === 1", timeout=15000)


def test_a_page_gaining_its_first_chart_reloads_itself_and_keeps_scroll_and_url(served, tab):
    url = f"{served.url}runs/{RUN}/index.html?view=1#params"
    open_listening(tab, url)
    assert tab.evaluate("document.documentElement.scrollHeight") > SCROLL_Y + 600
    tab.evaluate(f"window.scrollTo(0, {SCROLL_Y}); window.beforeReload = true;")
    assert "0.123456" not in tab.content()

    with tab.expect_event("load", timeout=15000):
        append_from_another_process(served.logs / EXP / RUN / "run.jsonl", metric("loss", 0.123456, 1))
    tab.wait_for_function("document.body.textContent.includes('0.123456')", timeout=15000)
    assert tab.evaluate("window.beforeReload") is None  # a real reload, not an in-place edit
    assert tab.url == url
    tab.wait_for_function(f"Math.abs(window.scrollY - {SCROLL_Y}) < 5", timeout=5000)


def test_a_needed_reload_waits_while_the_pointer_is_pressed(served, tab):
    run_id = "9" * 32
    write_run(served.logs / EXP, run_id, [metric("acc", 0.5, 0)], name="single-point")
    wait_for(lambda: "single-point" in served.get("runs-data.js"), "the new run's page to be built")
    url = f"{served.url}runs/{run_id}/index.html"
    open_listening(tab, url)
    tab.evaluate("window.beforeReload = true")
    tab.mouse.move(5, 5)
    tab.mouse.down()  # e.g. the reader is selecting text
    append_from_another_process(served.logs / EXP / run_id / "run.jsonl", metric("acc", 0.75, 1))
    tab.wait_for_function("window.flowsheetServe.reloadPending", timeout=15000)
    assert tab.evaluate("window.beforeReload") is True  # put off, not done
    with tab.expect_event("load", timeout=15000):
        tab.mouse.up()
    tab.wait_for_function("document.querySelector('.fs-chart')", timeout=15000)
    assert tab.evaluate("window.beforeReload") is None


def test_a_failed_rebuild_shows_a_banner_and_a_fix_removes_it(served, tab):
    open_listening(tab, f"{served.url}runs/{RUN}/index.html")
    template = served.templates / "run.html"
    good = template.read_text(encoding="utf-8")
    try:
        template.write_text(good + "{% if %}", encoding="utf-8")
        banner = tab.locator("#flowsheet-serve-error")
        banner.wait_for(timeout=15000)
        assert "run.html" in banner.text_content()
        template.write_text(good, encoding="utf-8")
        banner.wait_for(state="detached", timeout=15000)
    finally:
        template.write_text(good, encoding="utf-8")
