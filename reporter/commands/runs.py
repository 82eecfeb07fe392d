"""`reporter runs`: the runs of a log directory as an aligned table, CSV or JSON."""

from __future__ import annotations

import json
import math
import shutil
import sys
from datetime import UTC, datetime

import click

from logger.format import INF, NAN, NEG_INF
from logger.values import format_number, natural_sorted

from reporter.options import default_log_dir, log_dir_argument

TABLE_PARAMS = 4  # at most this many param and metric columns by default (the most common keys)
TABLE_METRICS = 5
CELL_WIDTH = 22
FEW_EXPERIMENTS = 10  # an unknown --experiment lists the known ones up to this many
# The default table's headers, each also accepted by --columns, and the column it names.
HEADER_COLUMNS = {"run": "run_name", "id": "run_id", "experiment": "experiment", "status": "status",
                  "start (utc)": "start_time", "start": "start_time", "duration": "duration"}


@click.command()
@log_dir_argument
@click.option("--experiment", "experiments", multiple=True, help="Only runs of this experiment (repeatable).")
@click.option("--filter", "filter_string", default="", help="A search_runs filter, e.g. \"metrics.f1 > 0.8\".")
@click.option("--order-by", "order_by", multiple=True, help="e.g. \"metrics.f1 DESC\" (repeatable).")
@click.option("--columns", default=None,
              help="Comma-separated columns to show: MLflow's names (run_name, run_id, metrics.f1, params.lr), a "
                   "bare key (f1), or a header of the table (run, id, experiment, status, \"start (UTC)\", "
                   "duration: seconds in CSV and JSON; a header wins over a bare key of its name).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def runs(log_dir, experiments, filter_string, order_by, columns, fmt) -> None:
    """List runs as a table, CSV or JSON.

    A metric logged as NaN and a metric the run never logged are told apart: the table shows NaN and -,
    CSV writes NaN and an empty cell, JSON the string "NaN" and null (infinities likewise: "Infinity",
    "-Infinity", so the JSON stays valid). An --experiment that names no experiment is an error (exit 2).
    """
    sys.exit(show_runs(log_dir or default_log_dir(), experiments=list(experiments), filter_string=filter_string,
                       order_by=list(order_by), columns=columns, fmt=fmt))


def show_runs(log_dir, experiments=(), filter_string: str = "", order_by=(), columns: str | None = None,
              fmt: str = "table", out=None, err=None) -> int:
    """Print the runs; returns the exit code (2 for an unusable directory, a bad filter or an unknown
    experiment)."""
    from logger.filter import parse_filter
    from logger.order import parse_order_by
    from logger.reader import LogReader
    from logger.search import runs_frame, select_runs

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        parse_filter(filter_string)
        parse_order_by(order_by)
    except ValueError as error:
        print(f"reporter runs: bad filter: {error}", file=err)
        return 2
    try:
        reader = LogReader(log_dir)
        reader.refresh()
    except OSError as error:
        print(f"reporter runs: {error}", file=err)
        return 2
    data = reader.data
    for problem in data.problems:
        print(f"warning: {problem}", file=err)
    ids = None
    if experiments:
        known = data.experiments.values()
        ids = [e.experiment_id for e in known if e.name in experiments or e.experiment_id in experiments]
        unknown = [name for name in dict.fromkeys(experiments)
                   if not any(name in (e.name, e.experiment_id) for e in known)]
        if unknown:
            print(f"reporter runs: {unknown_experiments(unknown, [e.name for e in known])}", file=err)
            return 2
    runs = select_runs(data, ids, filter_string, order_by)
    frame = mark_metric_gaps(runs_frame(runs), runs)
    names = {e.experiment_id: e.name for e in data.experiments.values()}
    if columns:
        frame = choose_columns(frame, columns, names, err)
    if fmt == "csv":
        frame.to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    elif fmt == "json":
        out.write(json.dumps(json_records(frame), indent=2, ensure_ascii=False) + "\n")
    else:
        sort_columns = tuple(f"{key.entity}.{key.key}" for key in parse_order_by(order_by))
        out.write(format_table(frame, names, explicit=bool(columns), first=sort_columns))
    return 0


def unknown_experiments(unknown: list[str], known: list[str]) -> str:
    """One line naming the experiments not found and, when they are few, the ones there are."""
    missing = ", ".join(repr(name) for name in unknown)
    line = f"no experiment named {missing}"
    if not known:
        return line + " (the log directory has no experiments)"
    shown = natural_sorted(set(known))
    if len(shown) > FEW_EXPERIMENTS:
        return line + f" ({len(shown)} experiments, e.g. {', '.join(map(repr, shown[:FEW_EXPERIMENTS]))}, ...)"
    return line + f" (experiments: {', '.join(map(repr, shown))})"


def mark_metric_gaps(frame, runs):
    """Metric columns as objects: a float, or NaN/Infinity/-Infinity by name for a value logged as such,
    or None where the run never logged the key (search_runs' frame has NaN for both), so that CSV writes
    `NaN` beside an empty cell and JSON `"NaN"` beside null."""
    import pandas as pd

    for name in [c for c in frame.columns if c.startswith("metrics.")]:
        key = name[len("metrics."):]
        cells = []
        for run, value in zip(runs, frame[name]):
            if key not in run.metrics:
                cells.append(None)
            elif value != value:
                cells.append(NAN)
            elif value in (math.inf, -math.inf):
                cells.append(INF if value > 0 else NEG_INF)
            else:
                cells.append(float(value))
        frame[name] = pd.Series(cells, index=frame.index, dtype=object)
    return frame


def choose_columns(frame, columns: str, experiment_names: dict[str, str], err):
    """The columns asked for, by MLflow's name, bare key or table header; a warning for any not found.
    `experiment` (the name) and `duration` (seconds) are made from the frame when asked for."""
    chosen = []
    for name in (c.strip() for c in columns.split(",") if c.strip()):
        name = HEADER_COLUMNS.get(name.lower(), name) if name not in frame.columns else name
        if name == "experiment" and name not in frame.columns:
            frame = frame.assign(experiment=[experiment_names.get(i, i) for i in frame["experiment_id"]])
        elif name == "duration" and name not in frame.columns:
            frame = frame.assign(duration=[_seconds(record) for record in frame.to_dict("records")])
        found = next((c for c in (name, f"metrics.{name}", f"params.{name}", f"tags.{name}")
                      if c in frame.columns), None)
        if found is None:
            print(f"warning: no column {name!r}", file=err)
        elif found not in chosen:
            chosen.append(found)
    return frame[chosen]


def _seconds(record) -> float | None:
    """A run's duration in seconds: to its end, or to now while it runs."""
    start = record["start_time"]
    end = datetime.now(UTC) if record["status"] == "RUNNING" else record["end_time"]
    if start is None or end is None or start != start or end != end:
        return None
    return (end - start).total_seconds()


def json_records(frame) -> list[dict]:
    """Rows as plain dicts: NaN and NaT become None, times ISO 8601 strings in UTC."""
    records = []
    for record in frame.to_dict("records"):
        for name, value in record.items():
            if hasattr(value, "isoformat"):
                record[name] = None if value != value else value.isoformat().replace("+00:00", "Z")
            elif isinstance(value, float) and value != value:
                record[name] = None
        records.append(record)
    return records


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):  # NaN here is a gap (a logged NaN is the text NaN: mark_metric_gaps)
        return "-" if value != value else format_number(value)
    text = str(value).replace("\n", " ")
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def _when(stamp) -> str:
    if stamp is None or stamp != stamp:
        return "-"
    return stamp.strftime("%Y-%m-%d %H:%M")


def _duration(start, end) -> str:
    if start is None or end is None or start != start or end != end:
        return "-"
    return _seconds_text((end - start).total_seconds())


def _seconds_text(total: float | None) -> str:
    if total is None or total != total:
        return "-"
    seconds = int(total)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def format_table(frame, experiment_names: dict[str, str], explicit: bool = False, width: int | None = None,
                 first: tuple[str, ...] = ()) -> str:
    """An aligned text table like `dvc exp show`: name, status, start (UTC), duration, a few metrics and params.

    Metrics come before params (they are what runs are compared by), and the columns in `first` (the
    sort keys) before all others, so that they survive when columns are cut to fit the terminal."""
    if frame.empty:
        return "no runs\n"
    width = width or shutil.get_terminal_size((120, 24)).columns
    header: list[str] = []
    rows: list[list[str]] = [[] for _ in range(len(frame))]
    records = frame.to_dict("records")
    if explicit:
        for name in frame.columns:
            header.append(name)
            for row, record in zip(rows, records):
                value = record[name]
                row.append(_when(value) if name in ("start_time", "end_time")
                           else _seconds_text(value) if name == "duration" else _cell(value))
    else:
        several = frame["experiment_id"].nunique() > 1
        header += ["run", "id"] + (["experiment"] if several else []) + ["status", "start (UTC)", "duration"]
        for row, record in zip(rows, records):
            row += [_cell(record["run_name"]), record["run_id"][:8]]
            if several:
                row.append(_cell(experiment_names.get(record["experiment_id"], record["experiment_id"])))
            now = datetime.now(UTC)
            end = record["end_time"] if record["status"] not in ("RUNNING",) else now
            row += [record["status"], _when(record["start_time"]), _duration(record["start_time"], end)]
        for prefix, limit in (("metrics.", TABLE_METRICS), ("params.", TABLE_PARAMS)):
            keys = [c for c in frame.columns if c.startswith(prefix)]
            # the sort keys, then the most filled columns
            keys.sort(key=lambda c: (c not in first, -frame[c].notna().sum()))
            for name in keys[:limit]:
                header.append(name)
                for row, record in zip(rows, records):
                    value = record[name]
                    row.append(_cell(value))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    # Drop columns from the right until the table fits the terminal (keeping at least four).
    while len(header) > 4 and sum(widths) + 2 * (len(widths) - 1) > width:
        header, widths = header[:-1], widths[:-1]
        rows = [r[:-1] for r in rows]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row in rows:
        lines.append("  ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n"


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

