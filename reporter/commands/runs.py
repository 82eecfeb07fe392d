"""`reporter runs`: the runs of a log directory as an aligned table, CSV or JSON."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime

import click

from logger.values import format_number

from reporter.options import default_log_dir, log_dir_argument

TABLE_PARAMS = 4  # at most this many param and metric columns by default (the most common keys)
TABLE_METRICS = 5
CELL_WIDTH = 22


@click.command()
@log_dir_argument
@click.option("--experiment", "experiments", multiple=True, help="Only runs of this experiment (repeatable).")
@click.option("--filter", "filter_string", default="", help="A search_runs filter, e.g. \"metrics.f1 > 0.8\".")
@click.option("--order-by", "order_by", multiple=True, help="e.g. \"metrics.f1 DESC\" (repeatable).")
@click.option("--columns", default=None, help="Comma-separated columns to show.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def runs(log_dir, experiments, filter_string, order_by, columns, fmt) -> None:
    """List runs as a table, CSV or JSON."""
    sys.exit(show_runs(log_dir or default_log_dir(), experiments=list(experiments), filter_string=filter_string,
                       order_by=list(order_by), columns=columns, fmt=fmt))


def show_runs(log_dir, experiments=(), filter_string: str = "", order_by=(), columns: str | None = None,
              fmt: str = "table", out=None, err=None) -> int:
    """Print the runs; returns the exit code (2 for an unusable directory or a bad filter)."""
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
        wanted = set(experiments)
        ids = [e.experiment_id for e in data.experiments.values() if e.name in wanted or e.experiment_id in wanted]
        for name in wanted - {e.name for e in data.experiments.values()} - {e.experiment_id for e in
                                                                            data.experiments.values()}:
            print(f"warning: no experiment named {name!r}", file=err)
    runs = select_runs(data, ids, filter_string, order_by)
    frame = runs_frame(runs)
    if columns:
        chosen = []
        for name in (c.strip() for c in columns.split(",") if c.strip()):
            found = next((c for c in (name, f"metrics.{name}", f"params.{name}", f"tags.{name}")
                          if c in frame.columns), None)
            if found is None:
                print(f"warning: no column {name!r}", file=err)
            else:
                chosen.append(found)
        frame = frame[chosen]
    if fmt == "csv":
        frame.to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    elif fmt == "json":
        out.write(json.dumps(json_records(frame), indent=2, ensure_ascii=False) + "\n")
    else:
        names = {e.experiment_id: e.name for e in data.experiments.values()}
        sort_columns = tuple(f"{key.entity}.{key.key}" for key in parse_order_by(order_by))
        out.write(format_table(frame, names, explicit=bool(columns), first=sort_columns))
    return 0


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
    if isinstance(value, float):  # NaN here is a run without the metric (a gap in the frame's column)
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
    seconds = int((end - start).total_seconds())
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
                row.append(_when(value) if name in ("start_time", "end_time") else _cell(value))
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

