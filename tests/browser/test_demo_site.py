"""`make demo`'s site: every page of the sample runs renders in Chromium with no console error."""

import subprocess

import pytest
from helpers import ROOT

from reporter.config import BuildConfig
from reporter.site.build import build


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "site"
    build(BuildConfig.from_options(ROOT / "sample_runs", out, quiet=True))
    return out


def test_every_page_of_the_sample_site_renders_without_errors(chromium, demo_site):
    pages = sorted(demo_site.rglob("*.html"))
    pages = [p for p in pages if "/artifacts/" not in p.as_posix()]  # artifacts are the runs' own files
    assert len(pages) >= 20
    selection = ",".join(p.name for p in (demo_site / "runs").iterdir())
    failures = {}
    for path in pages:
        page, errors = chromium.new_page(), []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(path.as_uri() + (f"?runs={selection}" if path.name == "compare.html" else ""))
        page.wait_for_load_state("load")
        page.evaluate("window.FlowsheetCharts && window.FlowsheetCharts.drawAll && window.FlowsheetCharts.drawAll()")
        page.wait_for_timeout(100)
        page.close()
        if errors:
            failures[path.relative_to(demo_site).as_posix()] = errors
    assert failures == {}


def test_make_demo_prints_where_to_open_the_site():
    if not (ROOT / ".venv" / ".installed").exists():
        pytest.skip("make demo uses the project's .venv, which `make test` creates")
    done = subprocess.run(["make", "-s", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"Open file://{ROOT}/site/index.html" in done.stdout
    assert (ROOT / "site" / "index.html").exists()
