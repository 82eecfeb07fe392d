"""Every run's curve of a metric, for the experiment page's grouped curves (the runs table's "Group by").

The overlays draw the best runs only; a grouped chart draws the mean of each group with a band, so it
needs the curves of all runs. The groups are chosen in the page, so the spec carries the runs' curves
and groups.js averages them there (aligned by step). Each curve is cut to GROUP_POINTS points, and only
the first GROUP_RUNS runs (the newest) are kept, so the inline JSON stays small.
"""

from __future__ import annotations

from logger.model import Run, require_points

from reporter.charts.common import ChartSection
from reporter.charts.downsample import downsample, round_sig

GROUP_RUNS = 200
GROUP_POINTS = 60


def with_group_curves(sections: list[ChartSection], runs: list[Run]) -> list[ChartSection]:
    """The experiment page's sections, each overlay (titled by its metric) given every run's curve."""
    for section in sections:
        for block in section.charts:
            if block.spec.get("usermeta", {}).get("fs", {}).get("kind") == "overlay":
                add_group_curves(block.spec, runs, block.title)
    return sections


def add_group_curves(spec: dict, runs: list[Run], key: str) -> dict:
    """`spec` (an overlay of `key`) with dataset `history`, one item per run: {"id", "s": [steps], "v": [values]}
    (columns, not a row per point: the curves are most of the page), named in usermeta.fs.history;
    usermeta.fs.history_left_out counts the runs past GROUP_RUNS."""
    history: list[dict] = []
    with_key = [run for run in runs if run.metrics.get(key)]
    require_points(*with_key[:GROUP_RUNS])  # all at once: a build that did not read some reads them in one go
    for run in with_key[:GROUP_RUNS]:
        metric = run.metrics[key]
        series = downsample(metric.steps, metric.values, metric.timestamps, GROUP_POINTS)
        if not len(series):
            continue
        history.append({"id": run.run_id, "s": [int(s) for s in series.steps],
                        "v": [round_sig(float(v)) for v in series.values]})
    spec["datasets"]["history"] = history
    spec["usermeta"]["fs"].update(history="history", history_left_out=max(0, len(with_key) - GROUP_RUNS))
    return spec
