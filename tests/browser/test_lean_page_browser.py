"""A lean run page (#18) in Chromium over file://: every chart of a typical run is drawn from the page's compact
forms and static/chart-templates.js, and charts.js expands them into exactly the specs Python makes, with the
times and fill entries that later charts take from the first one."""

from __future__ import annotations

import json
import re

import pytest

from tests.reporter.test_lean_run_page import typical_run, write_typical_logs

from reporter.charts.run import page_spec
from reporter.config import BuildConfig
from reporter.site.build import build

pytestmark = pytest.mark.browser


def test_a_typical_run_page_draws_every_chart_from_its_compact_forms(chromium, tmp_path):
    build(BuildConfig.from_options(write_typical_logs(tmp_path / "logs"), tmp_path / "site", environ={}))
    page_file = tmp_path / "site" / "runs" / typical_run().run_id / "index.html"
    html = page_file.read_text(encoding="utf-8")
    forms = {m[0]: json.loads(m[1]) for m in re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>',
                                                         html)}
    assert sum(isinstance(f["columns"]["t"], dict) and "like" in f["columns"]["t"] for f in forms.values()) == 4
    errors: list[str] = []
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.on("console", lambda msg: msg.type in ("error", "warning") and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(page_file.as_uri())
    page.evaluate("() => FlowsheetCharts.ready.then(() => FlowsheetCharts.drawAll())")
    drawn = dict(page.evaluate("() => FlowsheetCharts.charts.map(c => [c.id, c.spec])"))
    assert drawn == {spec_id: page_spec(form, forms) for spec_id, form in forms.items()}
    for spec_id in forms:  # each line has its 100 points (the hover layer draws one symbol per point)
        assert page.locator(f'[data-spec-id="{spec_id}"] g.hover_points_marks path').count() == 100
        assert page.locator(f'[data-spec-id="{spec_id}"] g.mark-line path').count() == 2  # raw and smoothed
    context.close()
    assert errors == []
