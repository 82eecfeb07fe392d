"""The compare page loads the data of the selected runs only, in Chromium over file://: each selected run's own
script (runs/<id>/compare-data.js) and no other; the overlays, bars, parallel coordinates and scatter are drawn
for them from that data; an unknown id or a script that fails to load is named in the list of runs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from site_logs import T0, experiment, run

from reporter.config import BuildConfig
from reporter.site.build import build

pytestmark = pytest.mark.browser

SWEEP, OTHER = "sweep-5a6b7c8d", "other-1f2e3d4c"
RUNS = [f"{n:032x}" for n in range(1, 9)]  # eight runs of the sweep
LONE = "e" * 32  # the one run of the other experiment
WAIT_MS = 20_000


def write_logs(log_dir: Path) -> Path:
    sweep = experiment(log_dir, SWEEP, "sweep")
    for n, run_id in enumerate(RUNS):
        run(sweep, run_id, f"trial-{n}", T0 + n,
            params={"lr": 10.0 ** -(1 + n % 4), "optimizer": ["adam", "sgd"][n % 2], "epochs": 5},
            metrics={"loss": [(s, round(2.0 / (s + 1) + n / 10, 4)) for s in range(30)],
                     "acc": [(s, round(s / 30 + n / 100, 4)) for s in range(30)],
                     "f1": [(29, round(0.5 + n / 20, 4))]})
    other = experiment(log_dir, OTHER, "other")
    run(other, LONE, "lone", T0 + 100, params={"depth": 3}, metrics={"rmse": [(0, 0.9), (1, 0.7), (2, 0.6)]})
    return log_dir


@pytest.fixture(scope="module")
def site():
    with tempfile.TemporaryDirectory(prefix="fs-compare-loading-") as name:
        root = Path(name)
        build(BuildConfig.from_options(write_logs(root / "logs"), root / "site", environ={}))
        yield root / "site"


@pytest.fixture
def open_compare(chromium, site):
    contexts, errors = [], []

    def open_(query: str, allowed_errors: int = 0):
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.requested = []
        page.on("request", lambda request: page.requested.append(request.url))
        page.allowed_errors = allowed_errors
        page.goto((site / "compare.html").as_uri() + query)
        return page

    yield open_
    allowed = sum(getattr(page, "allowed_errors", 0) for c in contexts for page in c.pages)
    for context in contexts:
        context.close()
    assert len(errors) <= allowed, f"console errors: {errors}"


def run_scripts(page) -> list[str]:
    """The runs whose compare data the page asked for."""
    return sorted(url.split("/runs/")[1].split("/")[0] for url in page.requested if url.endswith("/compare-data.js")
                  and "/runs/" in url)


def marks(page, spec_id: str, selector: str, expected: int) -> int:
    """How many `selector` marks chart `spec_id` draws, once it has drawn `expected` (or the wait times out)."""
    query = f'[data-spec-id="{spec_id}"] {selector}'
    page.locator(f'[data-spec-id="{spec_id}"]').scroll_into_view_if_needed()
    try:
        page.wait_for_function(f"() => document.querySelectorAll({query!r}).length >= {expected}", timeout=WAIT_MS)
    except Exception:  # noqa: BLE001 - the count below says what was drawn instead
        pass
    return page.locator(query).count()


def test_two_selected_runs_load_their_own_scripts_and_their_charts_draw(open_compare):
    page = open_compare(f"?runs={RUNS[0]},{RUNS[3]}")
    page.wait_for_function("() => document.getElementById('compare-status').textContent.startsWith('Comparing 2')",
                           timeout=WAIT_MS)
    assert run_scripts(page) == sorted([RUNS[0], RUNS[3]])  # no other run's data, and the site's index once
    assert sorted(page.evaluate("() => Object.keys(FlowsheetCompare.loaded)")) == sorted([RUNS[0], RUNS[3]])
    assert page.locator("#compare-table thead th[data-run]").count() == 2
    titles = {el.get_attribute("data-title"): el.get_attribute("data-spec-id")
              for el in page.locator("#charts .fs-chart").all()}
    assert set(titles) == {"acc", "loss", "f1", "parallel coordinates", "scatter"}
    assert marks(page, titles["loss"], "g.mark-line.role-mark path", 2) == 2  # one curve per selected run
    assert marks(page, titles["acc"], "g.mark-line.role-mark path", 2) == 2
    assert marks(page, titles["f1"], "g.mark-rect.role-mark path", 2) == 2  # a bar per run
    assert marks(page, titles["parallel coordinates"], "g.mark-line.role-mark path", 2) == 2
    assert marks(page, titles["scatter"], "g.mark-symbol.role-mark path", 2) == 2
    parallel = page.locator(f'[data-spec-id="{titles["parallel coordinates"]}"] svg').text_content()
    assert "lr" in parallel and "optimizer" in parallel and "epochs" not in parallel  # the params that differ
    assert "trial-3" in page.locator(f'[data-spec-id="{titles["loss"]}"] svg').text_content()  # the legend


def test_runs_of_two_experiments_get_a_section_each(open_compare):
    page = open_compare(f"?runs={RUNS[1]},{RUNS[2]},{LONE}")
    page.wait_for_function("() => document.querySelectorAll('#charts .chart-section').length === 3", timeout=WAIT_MS)
    assert run_scripts(page) == sorted([RUNS[1], RUNS[2], LONE])
    assert page.locator("#charts .chart-section h3").all_inner_texts() == ["metrics", "other", "sweep"]
    rmse = page.locator('#charts .fs-chart[data-title="rmse"]').get_attribute("data-spec-id")
    assert marks(page, rmse, "g.mark-line.role-mark path", 1) == 1  # only the lone run logged rmse
    loss = page.locator('#charts .fs-chart[data-title="loss"]').get_attribute("data-spec-id")
    assert marks(page, loss, "g.mark-line.role-mark path", 2) == 2


def test_an_unknown_id_is_named_and_the_others_are_compared(open_compare):
    page = open_compare(f"?runs={RUNS[0]},no-such-run")
    page.wait_for_function("() => document.getElementById('compare-status').textContent.startsWith('Comparing 1')",
                           timeout=WAIT_MS)
    assert page.locator("#compare-runs li.missing").inner_text() == "no-such-run (not in this site)"
    assert run_scripts(page) == [RUNS[0]]
    loss = page.locator('#charts .fs-chart[data-title="loss"]').get_attribute("data-spec-id")
    assert marks(page, loss, "g.mark-line.role-mark path", 1) == 1


def test_a_script_that_fails_to_load_is_named(open_compare, site):
    script = site / "runs" / RUNS[5] / "compare-data.js"
    kept = script.read_bytes()
    script.unlink()
    try:
        page = open_compare(f"?runs={RUNS[4]},{RUNS[5]}", allowed_errors=1)  # Chromium logs the failed load
        page.wait_for_function("() => document.querySelector('#compare-runs li.missing')", timeout=WAIT_MS)
        assert page.locator("#compare-runs li.missing").inner_text() == (
            f"{RUNS[5]} (its data could not be loaded from runs/{RUNS[5]}/compare-data.js)")
        page.wait_for_function("() => document.getElementById('compare-status').textContent.startsWith('Comparing 1')",
                               timeout=WAIT_MS)
        assert page.locator("#compare-table thead th[data-run]").count() == 1
    finally:
        script.write_bytes(kept)


def test_while_scripts_load_the_page_says_so(open_compare, site):
    # The run's script is held back: the page must say it is loading, not that nothing is selected.
    page = open_compare("")  # a first page of the context, to set the route on
    page.route("**/compare-data.js", lambda route: None if "/runs/" in route.request.url else route.continue_())
    page.goto((site / "compare.html").as_uri() + f"?runs={RUNS[6]}", wait_until="domcontentloaded")
    page.wait_for_function("() => document.getElementById('compare-status').textContent.startsWith('Loading')",
                           timeout=WAIT_MS)
    assert page.locator("#compare-runs li").inner_text() == f"{RUNS[6]} (loading…)"
    assert page.locator("#compare-side-by-side").is_hidden()
