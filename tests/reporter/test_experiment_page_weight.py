"""The experiment page inlines every run's curve for the grouped view (charts/groups.py) once per metric,
as columns: a few characters per point, not an object per point (most of a big experiment's page)."""

from __future__ import annotations

import json
import re

from benchmarks.bench_site import write_runs
from reporter.charts.downsample import downsample, round_sig
from reporter.charts.groups import GROUP_POINTS, GROUP_RUNS
from reporter.config import BuildConfig
from reporter.site.build import build, read_data


def test_grouped_curves_are_each_runs_curve_once_in_columns(tmp_path):
    logs = tmp_path / "logs"
    write_runs(logs, "sweep", GROUP_RUNS + 5, 3, 2, 150)
    build(BuildConfig.from_options(logs, tmp_path / "site", environ={}), jobs=1)
    html = (tmp_path / "site/experiments/sweep/index.html").read_text()
    runs = sorted(read_data(logs).runs.values(), key=lambda run: -run.start_time)  # the page's order: newest first
    specs = {m[1]: (m[2], json.loads(m[2])) for m in re.finditer(
        r'<script type="application/json" id="(fs-exp-overlay-\d+)">(.*?)</script>', html)}
    assert len(specs) == 2
    for text, spec in specs.values():
        key = spec["title"]["text"]
        history = spec["datasets"][spec["usermeta"]["fs"]["history"]]
        assert spec["usermeta"]["fs"]["history_left_out"] == 5
        assert [curve["id"] for curve in history] == [run.run_id for run in runs[:GROUP_RUNS]]
        for curve, run in zip(history, runs):
            metric = run.metrics[key]
            series = downsample(metric.steps, metric.values, metric.timestamps, GROUP_POINTS)
            assert curve["s"] == list(series.steps) and curve["v"] == [round_sig(v) for v in series.values]
        points = sum(len(curve["s"]) for curve in history)
        assert points == GROUP_RUNS * GROUP_POINTS
        assert len(json.dumps(history, separators=(",", ":"))) < 16 * points  # was 31 bytes a point as rows
        assert len(text) < 20 * points  # the curves are most of the chart
