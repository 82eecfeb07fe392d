"""`make screenshots`: build sample_runs/ into a temporary site and save the README's pictures into docs/.

    .venv/bin/python docs/screenshots.py [LOG_DIR] [--out DOCS_DIR]

Saves experiment-page.png (an experiment's page as it opens: the runs table first), run-page.png (a run's
metric charts), experiment-charts.png (an experiment's charts) and compare.png (three runs side by side),
1280 px wide, with Debian's /usr/bin/chromium over file://.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from logger.reader import read_logs

from reporter.charts.common import finite, lower_is_better, pick_primary_metric
from reporter.config import BuildConfig
from reporter.site import pages as P
from reporter.site.build import build

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
WIDTH = 1280
MAX_HEIGHT = 1500  # each picture shows the top of its part of the page, not all of it


def choose(data):
    """The run with the most metric points, the experiment with the most curve points, and three runs to compare
    (the best of the experiment with the most image artifacts, so the picture shows images side by side)."""
    runs = list(data.runs.values())
    points = lambda r: sum(len(h) for h in r.metrics.values())  # noqa: E731
    run = max(runs, key=lambda r: (points(r), len(r.metrics), r.run_id))
    by_experiment = P.site_index(data).runs_by_experiment
    charts_experiment = max(by_experiment, key=lambda e: (sum(points(r) for r in by_experiment[e]), e))
    compared = max(by_experiment,
                   key=lambda e: (sum(bool(r.artifacts) for r in by_experiment[e]), len(by_experiment[e]), e))
    members = [r for r in by_experiment[compared] if r.metrics]
    experiment = data.experiments.get(compared)
    primary = pick_primary_metric({k for r in members for k in r.metrics}, experiment.tags if experiment else None)
    sign = 1 if primary and lower_is_better(primary) else -1

    def rank(r):
        value = finite(r.latest_metrics().get(primary)) if primary else None
        return (value is None, sign * (value or 0.0), r.run_id)

    return run, charts_experiment, sorted(members, key=rank)[:3]


def shoot(page, url: str, selector: str, target: Path, *, top_selector: str | None = None,
          max_height: int = MAX_HEIGHT) -> None:
    page.goto(url)
    page.evaluate("() => window.FlowsheetCharts && window.FlowsheetCharts.ready")
    page.evaluate("() => window.FlowsheetCharts && window.FlowsheetCharts.drawAll()")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    box = page.locator(selector).first.bounding_box()
    top = page.locator(top_selector).first.bounding_box()["y"] if top_selector else box["y"]
    top = max(0, top - 12)
    height = min(max_height, box["y"] + box["height"] - top + 12)
    page.screenshot(path=str(target), clip={"x": 0, "y": top, "width": WIDTH, "height": height}, full_page=True)
    print(f"saved {target} ({target.stat().st_size // 1024} KB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log_dir", nargs="?", default=str(ROOT / "sample_runs"))
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: install Debian's chromium package", file=sys.stderr)
        return 1
    out = Path(args.out)
    data = read_logs(Path(args.log_dir))
    run, experiment_id, best = choose(data)
    with tempfile.TemporaryDirectory(prefix="fs-screenshots-") as tmp:
        site = Path(tmp) / "site"
        build(BuildConfig.from_options(args.log_dir, site, environ={}), data=data)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": WIDTH, "height": 900}, color_scheme="light")
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
            shoot(page, (site / P.experiment_href(experiment_id)).as_uri(), "table.runs", out / "experiment-page.png",
                  top_selector="h1")
            shoot(page, (site / P.run_href(run.run_id)).as_uri(), "#charts", out / "run-page.png", top_selector="h1")
            shoot(page, (site / P.experiment_href(experiment_id)).as_uri(), "#charts", out / "experiment-charts.png")
            query = "?runs=" + ",".join(r.run_id for r in best)
            shoot(page, (site / "compare.html").as_uri() + query, "main", out / "compare.png", top_selector="h1",
                  max_height=2400)  # the table, the images and the charts
            browser.close()
    if errors:
        print("console errors while taking the screenshots:\n  " + "\n  ".join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
