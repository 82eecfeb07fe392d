"""Run tables as data: the rows the browser's runs table shows, and the CSV downloads.

Pure functions from the model to text; the writer puts the text on disk.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterable

from logger.events import encode_non_finite
from logger.model import Experiment, Run
from reporter.site.text import duration_ms, format_time, param_text, source_text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def run_row(run: Run) -> dict[str, Any]:
    """The filter row of `search_runs` (logger/filter.py), ready for JSON and the browser's filter.js.

    Params and tags go as `param_text` strings (JavaScript cannot tell 1.0 from 1 once parsed);
    non-finite metrics as the strings "NaN", "Infinity", "-Infinity" (JSON has no NaN; table.js revives them).
    """
    return {
        "attributes": {
            "run_id": run.run_id, "run_name": run.name, "status": run.status, "start_time": run.start_time,
            "end_time": run.end_time, "experiment_id": run.experiment_id, "user": _text(run.system.get("user")),
            "artifact_uri": None,  # a local path would leak into a published site
            "parent_run_id": run.parent_run_id,
        },
        "params": {key: param_text(value) for key, value in run.params.items()},
        "metrics": {key: _number(value) for key, value in run.latest_metrics().items()},
        "tags": {key: param_text(value) for key, value in run.tags.items()},
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: float) -> float | str:
    return encode_non_finite(value)


def table_rows(runs: Iterable[Run], run_href, experiments: dict[str, Experiment]) -> list[dict[str, Any]]:
    """Rows for the browser table: the filter row plus a `view` part with display-only fields."""
    rows = []
    for run in runs:
        row = run_row(run)
        experiment = experiments.get(run.experiment_id)
        row["view"] = {
            "url": run_href(run.run_id),
            "duration": duration_ms(run),
            "source": source_text(run),
            "experiment": experiment.name if experiment else run.experiment_id,
        }
        rows.append(row)
    return rows


def runs_data_js(rows: list[dict[str, Any]], columns: dict[str, list[str]], experiment_urls: dict[str, str]) -> str:
    """The `runs-data.js` a page loads with <script src>: data is never fetched (file:// forbids it)."""
    payload = {"columns": columns, "experiments": experiment_urls, "rows": rows}
    text = json.dumps(payload, ensure_ascii=True, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "window.FLOWSHEET_RUNS = " + text.replace("</", "<\\/") + ";\n"


def table_columns(runs: Iterable[Run]) -> dict[str, list[str]]:
    params, metrics, tags = set(), set(), set()
    for run in runs:
        params.update(run.params)
        metrics.update(run.metrics)
        tags.update(run.tags)
    return {"params": sorted(params), "metrics": sorted(metrics), "tags": sorted(tags)}


def runs_csv(runs: list[Run]) -> str:
    """The experiment's whole table as CSV, safe to open in a spreadsheet."""
    columns = table_columns(runs)
    header = ["run_id", "name", "status", "start_time", "end_time", "duration_s", "user", "source", "parent_run_id"]
    header += [f"params.{k}" for k in columns["params"]] + [f"metrics.{k}" for k in columns["metrics"]]
    header += [f"tags.{k}" for k in columns["tags"]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in header])
    for run in runs:
        duration = duration_ms(run)
        latest = run.latest_metrics()
        cells: list[Any] = [run.run_id, run.name, run.status, format_time(run.start_time), format_time(run.end_time),
                            "" if duration is None else duration / 1000, run.system.get("user"), source_text(run),
                            run.parent_run_id]
        cells += [run.params.get(k) for k in columns["params"]]
        cells += [latest.get(k) for k in columns["metrics"]]
        cells += [run.tags.get(k) for k in columns["tags"]]
        writer.writerow([csv_cell(c) for c in cells])
    return out.getvalue()


def metrics_csv(run: Run) -> str:
    """Every point of every metric of a run: key, step, timestamp, value.

    Millions of rows: the key is quoted once per metric and each row is one f-string, not a csv
    writer call (which cost ~4 s per million points)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["key", "step", "timestamp", "value"])
    lines = [out.getvalue()]
    for key in sorted(run.metrics):
        history = run.metrics[key]
        out.seek(0)
        out.truncate()
        writer.writerow([csv_cell(key)])
        quoted = out.getvalue()[:-1]
        lines += [f"{quoted},{step},{stamp},{value!r}\n" if value - value == 0.0
                  else f"{quoted},{step},{stamp},{csv_cell(value)}\n"  # NaN and the infinities by name
                  for step, stamp, value in zip(history.steps, history.timestamps, history.values)]
    return "".join(lines)


def csv_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        named = encode_non_finite(value)
        return named if isinstance(named, str) else repr(value)
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
