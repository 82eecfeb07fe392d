"""Run tables as data: the rows the browser's runs table shows, and the CSV downloads.

Pure functions from the model to text; the writer puts the text on disk.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from logger.events import encode_non_finite
from logger.model import Experiment, Run
from logger.search import run_row
from logger.values import param_number

from reporter.site.text import duration_ms, format_time, format_value, source_text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def table_rows(runs: Iterable[Run], run_href, experiments: dict[str, Experiment]) -> list[dict[str, Any]]:
    """Rows for the browser table: search_runs' row (`run_row`, less the local artifact folder) plus a
    `view` part with display-only fields. Non-finite metrics go as the strings "NaN", "Infinity" and
    "-Infinity" (JSON has no NaN; filter.js revives them)."""
    rows = []
    for run in runs:
        row = run_row(run, published=True)
        row["metrics"] = {key: encode_non_finite(value) for key, value in row["metrics"].items()}
        experiment = experiments.get(run.experiment_id)
        row["view"] = {
            "url": run_href(run.run_id),
            "duration": duration_ms(run),
            "source": source_text(run),
            "experiment": experiment.name if experiment else run.experiment_id,
        }
        rows.append(row)
    return rows


def runs_data_js(rows: list[dict[str, Any]], experiment_urls: dict[str, str]) -> str:
    """The `runs-data.js` a page loads with <script src>: data is never fetched (file:// forbids it)."""
    payload = {"columns": table_columns(rows), "experiments": experiment_urls, "rows": rows}
    text = json.dumps(payload, ensure_ascii=True, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "window.FLOWSHEET_RUNS = " + text.replace("</", "<\\/") + ";\n"


def table_columns(rows: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """The params, metrics and tags any of the rows has, each sorted."""
    columns: dict[str, set[str]] = {"params": set(), "metrics": set(), "tags": set()}
    for row in rows:
        for part, keys in columns.items():
            keys.update(row[part])
    return {part: sorted(keys) for part, keys in columns.items()}


def runs_csv(runs: list[Run]) -> str:
    """The experiment's whole table as CSV, safe to open in a spreadsheet: the rows of the runs table."""
    rows = [run_row(run, published=True) for run in runs]
    columns = table_columns(rows)
    header = ["run_id", "name", "status", "start_time", "end_time", "duration_s", "user", "source", "parent_run_id"]
    header += [f"params.{k}" for k in columns["params"]] + [f"metrics.{k}" for k in columns["metrics"]]
    header += [f"tags.{k}" for k in columns["tags"]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in header])
    for run, row in zip(runs, rows):
        duration = duration_ms(run)
        attributes = row["attributes"]
        cells: list[Any] = [run.run_id, run.name, run.status, format_time(run.start_time), format_time(run.end_time),
                            "" if duration is None else duration / 1000, attributes["user"], source_text(run),
                            run.parent_run_id]
        cells += [row[part].get(key) for part in ("params", "metrics", "tags") for key in columns[part]]
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
    if type(value) is int:
        return value
    if value is None or isinstance(value, (bool, float)):
        return format_value(value)  # as the pages write it
    text = str(value)
    # a number written as text ("-1", a param as MLflow stores it) is no formula
    return "'" + text if text.startswith(FORMULA_STARTS) and param_number(text) is None else text
