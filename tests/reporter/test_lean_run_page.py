"""Lean run pages (#18): each chart inlines a compact form (fill + columns) of a template the site has once in
static/chart-templates.js; expanded, it is exactly the spec the chart builder makes. A typical run's page
(10 params, 5 metrics x 100 steps) stays within a byte budget that keeps a 10,000-run site under 200 MB.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import orjson
import pytest

from logger.model import MetricHistory, Run
from tests.logwriting import end, metric, param, write_experiment, write_run

from reporter.charts.downsample import Series, downsample
from reporter.charts.levels import int_column
from reporter.charts.run import (
    TEMPLATES_SCRIPT,
    metric_spec,
    page_chart,
    page_spec,
    run_chart_sections,
    series_spec,
    templates_js,
)
from reporter.config import BuildConfig
from reporter.site.build import build
from reporter.site.pages import curve_sections

T0 = 1_732_700_000_000


def typical_run(run_id: str = "7" * 32) -> Run:
    """10 params and 5 metrics x 100 steps, logged 0.8-3 s apart with noisy values (what a sweep's run logs)."""
    rng = random.Random(18)
    run = Run(run_id=run_id, experiment_id="exp", name="lr-0.003-bs-64", path="/x", start_time=T0,
              params={f"param_{p}": str(round(rng.uniform(0, 10), 4)) for p in range(10)})
    histories = {f"metric_{m}": MetricHistory(f"metric_{m}") for m in range(5)}
    t = T0
    for step in range(100):
        t += rng.randint(800, 3000)
        for m, history in enumerate(histories.values()):
            history.append(2.5 / (1 + step * (m + 1) / 10) * (1 + rng.gauss(0, 0.02)), step, t)
    run.metrics.update(histories)
    return run


def write_typical_logs(folder: Path) -> Path:
    """The logs of `typical_run()`, as the logger writes them."""
    run = typical_run()
    experiment = write_experiment(folder, "sweep", "exp", t=T0)
    events = [param(k, float(v), t=T0) for k, v in run.params.items()]
    events += [metric(h.key, h.values[i], h.steps[i], t=h.timestamps[i]) for h in run.metrics.values() for i in range(100)]
    write_run(experiment, run.run_id, [*events, end(t=T0 + 400_000)], name=run.name, t=T0)
    return folder


def test_int_columns_are_even_spacing_or_differences():
    assert int_column(np.array([5, 7, 9, 11])) == {"first": 5, "step": 2}
    assert int_column(np.array([3, 3, 3])) == {"first": 3, "step": 0}
    assert int_column(np.array([5, 6, 9])) == [5, 1, 3]
    assert int_column(np.array([4, 9])) == [4, 5]  # too short to say "evenly"
    assert int_column(np.array([], dtype=np.int64)) == []


@pytest.mark.parametrize("steps", [list(range(100)), [0, 0, 1, 5, 6, 30, 31, 31, 200, 201] * 10])
def test_a_compact_chart_expands_to_the_builders_spec(steps):
    values = [math.sin(i / 3) * 10 ** (i % 7 - 3) for i in range(len(steps))]
    times = [T0 + 1000 * i + (i * 37) % 500 for i in range(len(steps))]
    plain = downsample(steps, values, times)
    bucketed = downsample(steps, values, times, max_points=30)
    zoom = {"n": 100, "sizes": [4, 1], "chunk": 4096, "file": "zoom/ab", "origin": T0, "divisor": 1000}
    for series, extra in ((plain, None), (bucketed, None), (bucketed, zoom)):
        compact = page_chart(series, "val/loss <b>", T0, extra)
        assert page_spec(compact) == series_spec(series, "val/loss <b>", T0, extra)
        assert "$fs:" not in orjson.dumps(page_spec(compact)).decode()  # every hole filled or left out


def test_holes_the_fill_lacks_are_left_out():
    series = Series(np.arange(3), np.arange(3) + T0, np.ones(3), None, None, total=3, dropped=0)
    spec = page_spec(page_chart(series, "loss", T0))
    assert spec["title"] == {"text": "loss", "anchor": "start"}  # no subtitle
    assert "zoom" not in spec["usermeta"]["fs"]


def test_run_page_sections_inline_the_compact_form_and_keep_the_full_spec_for_python():
    run = typical_run()
    (section,) = curve_sections(run, zoom=True)
    plain = run_chart_sections(run)[0].charts
    for compact_chart, full in zip(section.charts, plain):
        assert compact_chart.page_form["template"] == "fs-metric-line"
        assert compact_chart.spec == full.spec == metric_spec(run, full.title)
        assert compact_chart.kind == full.kind == "metric"


def test_the_sites_template_script_holds_the_templates(tmp_path):
    logs = tmp_path / "logs"
    (logs / "exp").mkdir(parents=True)
    build(BuildConfig.from_options(logs, tmp_path / "site", environ={}))
    text = (tmp_path / "site" / "static" / TEMPLATES_SCRIPT).read_text(encoding="utf-8")
    assert text == templates_js()
    templates = orjson.loads(text.removeprefix("window.FLOWSHEET_TEMPLATES = ").removesuffix(";\n"))
    assert sorted(templates) == ["fs-metric-band", "fs-metric-line"]
    assert len(templates["fs-metric-band"]["layer"]) == 4  # the band under the three lines of a plain chart


# The 10,000-run site's budget is 200 MB. Per run, besides its page: metrics.csv.gz (~3.5 KB for the
# benchmark's smooth curves, ~7.6 KB for this noisy run) and its share of the experiment and home pages'
# data (~2-3 KB). 12 KB a page leaves room for those: 10,000 x (12 + 7.6) KB = 196 MB at worst. Before #18
# this page was 30.7 KB (5 full Vega-Lite specs with row objects); today's is measured below.
PAGE_BUDGET = 12_000


def test_a_typical_run_page_stays_within_its_byte_budget(tmp_path):
    build(BuildConfig.from_options(write_typical_logs(tmp_path / "logs"), tmp_path / "site", environ={}))
    page = (tmp_path / "site" / "runs" / ("7" * 32) / "index.html").read_bytes()
    assert page.count(b'"template":"fs-metric-line"') == 5  # every chart is on the page, drawn from it alone
    assert len(page) <= PAGE_BUDGET, f"the run page is {len(page):,} bytes"


def test_charts_take_what_an_earlier_chart_has_alike_and_keep_their_own():
    run = typical_run()
    history = MetricHistory("noisy")  # other times, a NaN (a subtitle), a longer span
    for step in range(100):
        history.append(math.nan if step == 3 else float(step), step, T0 + 5000 * step)
    run.metrics["noisy"] = history
    (section,) = curve_sections(run, zoom=True)
    forms = {chart.spec_id: chart.page_form for chart in section.charts}
    first, *later = section.charts
    assert "like" not in first.page_form["fill"] and isinstance(first.page_form["columns"]["t"], list)
    for chart in later:
        if chart.title == "noisy":
            assert "like" not in chart.page_form["fill"]  # its span and counts differ
            assert chart.spec["title"]["subtitle"] == "1 NaN/Inf value left out"
        else:
            assert chart.page_form["columns"]["t"] == {"like": first.spec_id}  # one log_metrics call: same times
            assert chart.page_form["fill"]["like"] == first.spec_id
            assert "subtitle" not in chart.spec["title"]
        assert chart.spec == metric_spec(run, chart.title)
        assert page_spec(orjson.loads(orjson.dumps(chart.page_form)), forms) == chart.spec
