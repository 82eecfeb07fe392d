"""One site from a folder that mixes every log format the reader knows (tests/mixed_logs.py): in Chromium,
each format's runs are listed, and a run of each shows its parameters and draws its curves.

The run chosen for each format is the one with the most params among those with a metric of several
points, read through the reader: the test checks what the page shows against what the files hold.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from mixed_logs import SOURCES, write_mixed_logs

from logger.reader import read_logs
from logger.values import param_text

from reporter.cli import main

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def mixed_site():
    # an own folder rather than tmp_path_factory: other sessions prune /tmp/pytest-of-<user> while pages load
    with tempfile.TemporaryDirectory(prefix="fs-mixed-") as name:
        root = Path(name)
        logs = write_mixed_logs(root / "logs")
        result = CliRunner().invoke(main, ["build", str(logs), "-o", str(root / "site")])
        assert result.exit_code == 0, result.output
        yield logs, root / "site", result.output


def _showcase_runs(logs: Path) -> dict[str, object]:
    """Per format, the run with the most params among those with a curve (a metric of 2+ points)."""
    chosen: dict[str, object] = {}
    for run in read_logs(logs).runs.values():
        if not any(len(history) > 1 for history in run.metrics.values()):
            continue
        best = chosen.get(run.source)
        if best is None or (len(run.params), run.run_id) > (len(best.params), best.run_id):
            chosen[run.source] = run
    return chosen


def test_build_says_what_each_format_brought(mixed_site):
    _, _, output = mixed_site
    read_line = next(line for line in output.splitlines() if line.startswith("Read "))
    for label in ("flowsheet", "MLflow file store", "MLflow database", "TensorBoard", "Hugging Face Trainer",
                  "Lightning CSVLogger", "dvclive", "Ray Tune"):
        assert f" {label}" in read_line, read_line


def test_each_formats_runs_show_their_params_and_draw_their_curves(mixed_site, chromium):
    logs, site, _ = mixed_site
    chosen = _showcase_runs(logs)
    assert set(SOURCES) <= set(chosen), sorted(chosen)  # every format has a run with a curve
    errors: list[str] = []
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"{request.url}: {request.failure}"))
    for source, run in sorted(chosen.items()):
        # listed on its experiment's page (searched by id: a child run is folded under its parent)
        page.goto((site / "experiments" / run.experiment_id / "index.html").as_uri())
        page.locator("[data-role=search]").fill(run.run_id)
        page.wait_for_selector(f"table.runs tbody tr[data-run-id='{run.run_id}'] a")
        page.goto((site / "runs" / run.run_id / "index.html").as_uri())
        assert run.name in page.locator("h1").inner_text(), source
        params = page.locator("section[aria-labelledby='params-heading']").inner_text()
        for key, value in list(run.params.items())[:3]:
            assert key in params and param_text(value)[:20] in params, (source, key)
        page.evaluate("() => FlowsheetCharts.ready.then(() => FlowsheetCharts.drawAll())")
        page.wait_for_function("document.querySelectorAll('#charts g.mark-line.role-mark path').length > 0")
    assert errors == []
    page.close()
