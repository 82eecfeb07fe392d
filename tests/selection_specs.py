"""Compare-chart specs over a list of runs, filtering on the page's `selected_runs` (the Python spec functions
whose output, emptied of rows, is the compare page's templates: reporter/site/compare.py chart_templates)."""

from __future__ import annotations

from logger.model import Run

from reporter.charts.common import curve_keys, logged_metrics, pick_primary_metric, runs_frame
from reporter.charts.experiment import bars_spec, overlay_spec, parallel_spec, scatter_spec


def selection_specs(runs: list[Run]) -> dict[str, dict]:
    """Spec id -> spec: an overlay per curve, bars per metric logged once, parallel and scatter (experiment "exp")."""
    frame = runs_frame(runs)
    curves = curve_keys(runs)
    once = [key for key in logged_metrics(frame) if key not in curves]
    specs = {f"fs-cmp-overlay-{n}": overlay_spec(runs, frame, key, selection=True) for n, key in enumerate(curves)}
    specs.update({f"fs-cmp-bars-{n}": bars_spec(frame, key, selection=True) for n, key in enumerate(once)})
    primary = pick_primary_metric(logged_metrics(frame))
    if primary is not None:
        specs["fs-cmp-exp-parallel"] = parallel_spec(frame, primary, selection=True)
        specs["fs-cmp-exp-scatter"] = scatter_spec(frame, primary, selection=True)
    return specs
