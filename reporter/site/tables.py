"""Run tables as data: the rows the browser's runs table shows, and the CSV downloads.

Pure functions from the model to text; the writer puts the text on disk.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from logger.events import encode_non_finite
from logger.format import MLFLOW_TAG_PREFIX
from logger.model import Experiment, Run
from logger.order import sort_rows
from logger.search import run_row
from logger.values import lower_is_better, natural_sorted, param_number

from reporter.site.text import duration_ms, format_duration, format_time, format_value, source_text
from reporter.site.urls import experiment_href

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The runs table's first view, which table.js reads from the page (data-page-size, data-max-default):
PAGE_SIZE = 100  # rows per page
MAX_DEFAULT_COLUMNS = 15  # params and metrics shown at first, each; the rest are in "Columns"
CSV_CHUNK_ROWS = 10_000  # rows of a CSV download made at a time (a few hundred KB of text)
# A runs table's data files (runs_data_files): the first (with the first PAGE_SIZE rows and the index), and
# the most rows and JSON bytes in any other shard: ~0.5 MB each, 150-odd for 100,000 runs.
RUNS_DATA = "runs-data.js"
SHARD_ROWS = 1000
SHARD_BYTES = 500_000


def table_rows(runs: Iterable[Run], run_href, experiments: dict[str, Experiment],
               made: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Rows for the browser table: search_runs' row (`run_row`, less the local artifact folder) plus a
    `view` part with display-only fields. Non-finite metrics go as the strings "NaN", "Infinity" and
    "-Infinity" (JSON has no NaN; filter.js revives them).

    `made`: the rows made so far by run id, filled in here (a build's `SiteIndex.rows`): each run's row is
    made once however many tables, shards and CSVs show it. Rows are shared, so nothing may change one."""
    rows = []
    for run in runs:
        row = made.get(run.run_id) if made is not None else None
        if row is None:
            row = _table_row(run, run_href, experiments)
            if made is not None:
                made[run.run_id] = row
        rows.append(row)
    return rows


def _table_row(run: Run, run_href, experiments: dict[str, Experiment]) -> dict[str, Any]:
    row = run_row(run, published=True)
    row["metrics"] = {key: encode_non_finite(value) for key, value in row["metrics"].items()}
    experiment = experiments.get(run.experiment_id)
    row["view"] = {
        "url": run_href(run.run_id),
        "duration": duration_ms(run),
        "source": source_text(run),
        "experiment": experiment.name if experiment else run.experiment_id,
    }
    return row


def runs_data_js(rows: list[dict[str, Any]], experiment_urls: dict[str, str]) -> str:
    """Every row in one script (`reporter export` inlines it): the first data file with no shards after it."""
    every = max(1, len(rows))
    return runs_data_files(rows, experiment_urls, shard_rows=every, shard_bytes=None, first_rows=every)[RUNS_DATA]


def runs_data_files(rows: list[dict[str, Any]], experiment_urls: dict[str, str], shard_rows: int = SHARD_ROWS,
                    shard_bytes: int | None = SHARD_BYTES, first_rows: int = PAGE_SIZE) -> dict[str, str]:
    """A runs table's data as scripts a page loads with <script src> (data is never fetched: file:// forbids it),
    by file name next to the page: {"runs-data.js": ..., "runs-data-1.js": ..., ...}.

    The rows go in the order table.js first shows them (top-level runs by search_runs' default order, then
    the child runs), cut into shards of at most `shard_rows` rows and about `shard_bytes` of JSON. The first
    file sets window.FLOWSHEET_RUNS: the first `first_rows` rows (the table's first page) and the index
    (columns, run counts, the other shards with a hash of each); table.js loads the others only when the
    view needs their rows, and each hands its rows to window.FLOWSHEET_RUNS_SHARD(number, hash, rows)."""
    columns = table_columns(rows)
    # which way each metric is better, by the site's one rule (logger/values.py): the grouped table bolds the best
    better = {key: "min" if lower_is_better(key) else "max" for key in columns["metrics"]}
    by_default = sort_rows(rows)
    ordered, tops = shard_order(by_default, presorted=True)
    # each row's place in search_runs' default order: the browser puts the rows in it without sorting
    rank = {id(row): place for place, row in enumerate(by_default)}
    # and how many runs the tree shows under it: its toggle is drawn before their shards are loaded
    kids = Counter(row["attributes"]["parent_run_id"] for row in ordered[tops:])
    texts = (_json(_shipped(row, rank[id(row)], kids[row["attributes"]["run_id"]])) for row in ordered)
    # each shard's file is made as soon as its rows are cut: every row's text is never held at once (and again
    # in the files), which for 100,000 runs is ~100 MB
    shards = itertools.chain(_cut(itertools.islice(texts, first_rows), first_rows, shard_bytes),
                             _cut(texts, shard_rows, shard_bytes))
    first_shard = next(shards, [])
    files, listed = {}, []
    for number, part in enumerate(shards, start=1):
        body = "[" + ",".join(part) + "]"
        version = hashlib.sha256(body.encode()).hexdigest()[:12]
        name = f"{RUNS_DATA.removesuffix('.js')}-{number}.js"
        files[name] = f"window.FLOWSHEET_RUNS_SHARD({number},{_json(version)},{body});\n"
        listed.append({"src": name, "rows": len(part), "v": version})
    several = _several_experiments(rows)  # an Experiment column
    index = {"better": better, "columns": columns, "experiments": experiment_urls, "several": several,
             "shards": listed, "total": len(rows), "tops": tops}
    head = _json(index)
    first = head[:-1] + ',"rows":[' + ",".join(first_shard) + "]}"
    files[RUNS_DATA] = "window.FLOWSHEET_RUNS = " + first + ";\n"
    return files


def shard_order(rows: list[dict[str, Any]], presorted: bool = False) -> tuple[list[dict[str, Any]], int]:
    """The rows in the order of the table's first view, and how many are top-level: the top-level runs
    newest first (search_runs' default order), then the runs shown under their parent. Any first shards
    hold the first pages, and a child row is only ever loaded after every possible parent.
    `presorted`: the rows are in the default order already."""
    tops, children = _tree_parts(rows if presorted else sort_rows(rows))
    return tops + children, len(tops)


def _shipped(row: dict[str, Any], rank: int, children: int) -> dict[str, Any]:
    """The row as its shard holds it: `view` gains its rank and, for a parent, its number of child runs."""
    view = {**row["view"], "rank": rank, **({"children": children} if children else {})}
    return {**row, "view": view}


def _cut(texts: Iterable[str], most_rows: int, most_bytes: int | None) -> Iterator[list[str]]:
    """Consecutive runs of the rows' JSON texts, each given as soon as it is complete: at most `most_rows`
    each, and no more than `most_bytes` of text unless one row alone is larger."""
    shard: list[str] = []
    size = 0
    for text in texts:
        if shard and (len(shard) >= most_rows or (most_bytes is not None and size + len(text) > most_bytes)):
            yield shard
            shard, size = [], 0
        shard.append(text)
        size += len(text) + 1
    if shard:
        yield shard


def _json(value: Any) -> str:
    """Compact JSON that can sit in a <script>: ASCII only, keys sorted, no NaN (rows carry it as text)."""
    return script_safe(json.dumps(value, ensure_ascii=True, sort_keys=True, separators=(",", ":"), allow_nan=False))


def script_safe(json_text: str) -> str:
    """JSON that can sit inside a <script> element (the export inlines it): no "</" to end the element, no
    "<!--" to put the HTML parser in its escaped state, where a later "<script" would swallow the rest of
    the page. Both only occur inside JSON strings, where the escaped forms mean the same characters."""
    return json_text.replace("</", "<\\/").replace("<!--", "\\u003c!--")


def table_columns(rows: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """The params, metrics and tags any of the rows has, each in natural order (m2 before m10)."""
    columns: dict[str, set[str]] = {"params": set(), "metrics": set(), "tags": set()}
    for row in rows:
        for part, keys in columns.items():
            keys.update(row[part])
    return {part: natural_sorted(keys) for part, keys in columns.items()}


def first_page(rows: list[dict[str, Any]], root: str = "") -> dict[str, Any]:
    """The runs table's first view as plain cells, for the page's HTML: table.js draws over it, and a
    reader without JavaScript still gets the runs and their links.

    The same view table.js starts with: its default columns (metrics before params), top-level runs
    newest first (search_runs' default order), the first PAGE_SIZE of them. `rows` are `table_rows`."""
    keys = table_columns(rows)
    tops, _ = _tree_parts(rows)
    several = _several_experiments(rows)
    columns = [("name", "Name", False), ("status", "Status", False), ("start", "Start (UTC)", False),
               ("duration", "Duration", True), ("user", "User", False), ("source", "Source", False)]
    columns += [("experiment", "Experiment", False)] if several else []
    columns += [(f"metrics.{k}", f"metric: {k}", True) for k in keys["metrics"][:MAX_DEFAULT_COLUMNS]]
    columns += [(f"params.{k}", f"param: {k}", False) for k in keys["params"][:MAX_DEFAULT_COLUMNS]]
    columns += [(f"tags.{k}", f"tag: {k}", False) for k in keys["tags"] if not k.startswith(MLFLOW_TAG_PREFIX)]
    shown = sort_rows(tops)[:PAGE_SIZE]
    return {"columns": [{"id": cid, "label": label, "num": num} for cid, label, num in columns],
            "rows": [{"id": row["attributes"]["run_id"], "cells": [_cell(row, cid, root) for cid, _, _ in columns]}
                     for row in shown],
            "total": len(rows), "top_level": len(tops), "shown": len(shown)}


def _several_experiments(rows: list[dict[str, Any]]) -> bool:
    """Whether the rows are runs of more than one experiment (the table and the CSV name each run's)."""
    return len({row["attributes"]["experiment_id"] for row in rows}) > 1


def _tree_parts(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The top-level rows and the rows the tree view shows under their parent (as table.js folds them)."""
    ids = {row["attributes"]["run_id"] for row in rows}
    tops: list[dict[str, Any]] = []
    children: list[dict[str, Any]] = []
    for row in rows:
        parent = row["attributes"]["parent_run_id"]
        child = bool(parent) and parent in ids and parent != row["attributes"]["run_id"]
        (children if child else tops).append(row)
    return tops, children


def _cell(row: dict[str, Any], column: str, root: str) -> dict[str, Any]:
    """One cell as table.js writes it: text, and a link for the name and the experiment."""
    attributes, view = row["attributes"], row["view"]
    href = None
    if column == "name":
        text, href = attributes["run_name"] or attributes["run_id"], root + view["url"]
    elif column == "start":
        text = format_time(attributes["start_time"])
    elif column == "duration":
        text = format_duration(view["duration"])
    elif column == "experiment":
        text, href = view["experiment"], root + experiment_href(attributes["experiment_id"])
    elif column in ("source", "status", "user"):
        text = format_value(view["source"] if column == "source" else attributes[column])
    else:
        part, _, key = column.partition(".")
        value = row[part].get(key)
        text = format_value(_metric(value) if part == "metrics" else value)
    return {"column": column, "text": text, "href": href}


def runs_csv(rows: list[dict[str, Any]]) -> str:
    """A runs table as one CSV text (the export inlines it); the site's download streams `runs_csv_chunks`."""
    return "".join(runs_csv_chunks(rows))


def runs_csv_chunks(rows: list[dict[str, Any]], rows_per_chunk: int = CSV_CHUNK_ROWS) -> Iterator[str]:
    """A runs table as CSV, safe to open in a spreadsheet: the rows of the runs table (`table_rows`, in
    their order). Runs of several experiments (the site's all-runs table) get an `experiment` column, by
    name. Made a chunk of rows at a time, so that 100,000 runs never sit in memory as one text."""
    columns = table_columns(rows)
    several = _several_experiments(rows)
    header = ["run_id", "name", *(["experiment"] if several else []), "status", "start_time", "end_time",
              "duration_s", "user", "source", "parent_run_id"]
    header += [f"params.{k}" for k in columns["params"]] + [f"metrics.{k}" for k in columns["metrics"]]
    header += [f"tags.{k}" for k in columns["tags"]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in header])
    for count, row in enumerate(rows, start=1):
        attributes, view = row["attributes"], row["view"]
        duration = view["duration"]
        cells: list[Any] = [attributes["run_id"], attributes["run_name"], *([view["experiment"]] if several else []),
                            attributes["status"], format_time(attributes["start_time"]),
                            format_time(attributes["end_time"]), "" if duration is None else duration / 1000,
                            attributes["user"], view["source"], attributes["parent_run_id"]]
        cells += [row["params"].get(key) for key in columns["params"]]
        cells += [_metric(row["metrics"].get(key)) for key in columns["metrics"]]
        cells += [row["tags"].get(key) for key in columns["tags"]]
        writer.writerow([csv_cell(c) for c in cells])
        if count % rows_per_chunk == 0:
            yield _take(out)
    yield _take(out)


def _metric(value: float | str | None) -> float | None:
    """A table row's metric as a number again: the rows carry NaN and the infinities as their names."""
    return float(value) if isinstance(value, str) else value


def metrics_csv_chunks(run: Run, rows_per_chunk: int = CSV_CHUNK_ROWS) -> Iterator[str]:
    """Every point of every metric of a run: key, step, timestamp, value; a chunk of rows at a time, so
    that a history of millions of points is never one text in memory.

    The key is quoted once per metric and each row is one f-string, not a csv writer call (which cost
    ~4 s per million points)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["key", "step", "timestamp", "value"])
    yield _take(out)
    for key in natural_sorted(run.metrics):
        history = run.metrics[key]
        writer.writerow([csv_cell(key)])
        quoted = _take(out)[:-1]
        for start in range(0, len(history), rows_per_chunk):
            end = start + rows_per_chunk
            yield "".join(f"{quoted},{step},{stamp},{value!r}\n" if value - value == 0.0
                          else f"{quoted},{step},{stamp},{csv_cell(value)}\n"  # NaN and the infinities by name
                          for step, stamp, value in zip(history.steps[start:end], history.timestamps[start:end],
                                                        history.values[start:end]))


def _take(out: io.StringIO) -> str:
    """What a csv writer wrote into `out` so far; `out` is emptied for the next rows."""
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def csv_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers stay numbers."""
    if type(value) is int:
        return value
    if value is None or isinstance(value, (bool, float)):
        return format_value(value)  # as the pages write it
    text = str(value)
    # a number written as text ("-1", a param as MLflow stores it) is no formula
    return "'" + text if text.startswith(FORMULA_STARTS) and param_number(text) is None else text
