"""Each run's runs-table row is made once per build and shared by the home page, its experiment's page,
their data shards and both runs.csv.gz: what every table shows of a run is the same row."""

from __future__ import annotations

import csv
import gzip
import html
import io
import json
import re
from collections import Counter
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from logger.values import format_number
from tests.site_logs import write_site_logs

from benchmarks.bench_site import write_runs
from reporter.cli import main
from reporter.config import BuildConfig
from reporter.site import pages as P
from reporter.site import tables
from reporter.site.build import build, plan_experiment, plan_home, publishable, read_data


@pytest.fixture
def counted(monkeypatch):
    """Run ids in the order `run_row` was asked for a table row of them."""
    asked: list[str] = []
    original = tables.run_row

    def counting(run, published=False):
        asked.append(run.run_id)
        return original(run, published=published)

    monkeypatch.setattr(tables, "run_row", counting)
    return asked


def test_a_build_makes_each_runs_table_row_once(tmp_path, counted):
    logs = write_site_logs(tmp_path / "logs")
    result = build(BuildConfig.from_options(logs, tmp_path / "site", environ={}), jobs=1)
    made = Counter(counted)
    assert len(made) == result.runs == 5
    assert set(made.values()) == {1}  # not once for the home page, again for its experiment and each CSV


def shown_rows(script: str) -> list[dict]:
    """The rows a runs-data.js file gives the table (this site is small: one file, no shards)."""
    text = script.removeprefix("window.FLOWSHEET_RUNS = ").removesuffix(";\n")
    data = json.loads(text)
    assert not data["shards"]
    return data["rows"]


@pytest.mark.parametrize("folder", ["", "experiments/houses-3b4a0f52/"])
def test_the_csv_says_what_the_table_shows(tmp_path, folder):
    logs = write_site_logs(tmp_path / "logs")
    site = tmp_path / "site"
    build(BuildConfig.from_options(logs, site, environ={}), jobs=1)
    table = {row["attributes"]["run_id"]: row for row in shown_rows((site / folder / "runs-data.js").read_text())}
    listed = list(csv.DictReader(io.StringIO(gzip.decompress((site / folder / "runs.csv.gz").read_bytes()).decode())))
    assert [row["run_id"] for row in listed] == sorted(table, key=lambda i: -table[i]["attributes"]["start_time"])
    for line in listed:
        row = table[line["run_id"]]
        assert line["name"] == row["attributes"]["run_name"] and line["status"] == row["attributes"]["status"]
        assert line["source"] == row["view"]["source"] and line["user"] == (row["attributes"]["user"] or "")
        assert ("experiment" in line) == (folder == "")  # the all-runs CSV names each run's experiment
        if folder == "":
            assert line["experiment"] == row["view"]["experiment"]
        for column, cell in line.items():
            part, _, key = column.partition(".")
            if part in ("params", "metrics", "tags"):
                value = row[part].get(key)
                shown = "" if value is None else value if isinstance(value, str) else format_number(value)
                assert cell == ("'" + shown if shown.startswith("=") else shown), column  # no formula


def test_the_index_keeps_a_row_only_until_its_experiment_page_has_it(tmp_path, counted):
    """The home page's rows wait in the build's index for the experiment pages, which take them: once every
    page is planned none is held (100,000 rows would stay in memory through every run page)."""
    config = BuildConfig.from_options(write_site_logs(tmp_path / "logs"), tmp_path / "site", environ={})
    data, _ = publishable(read_data(config.log_dir), config)
    index = P.site_index(data)
    plan_home(data, config, frozenset(), index)
    home = dict(index.rows)
    assert sorted(home) == sorted(data.runs)
    for experiment_id in sorted(index.runs_by_experiment):
        plan_experiment(data, experiment_id, config, frozenset(), index)
        assert not any(run.run_id in index.rows for run in index.runs_by_experiment[experiment_id])
    assert index.rows == {}
    assert sorted(counted) == sorted(data.runs)  # the experiment pages made none again


def test_a_site_of_one_experiment_makes_its_runs_csv_once(tmp_path, monkeypatch):
    made = []
    original = tables.runs_csv_chunks
    monkeypatch.setattr(tables, "runs_csv_chunks", lambda rows: made.append(len(rows)) or original(rows))
    logs = tmp_path / "logs"
    write_runs(logs, "sweep", 30, 2, 2, 3)
    build(BuildConfig.from_options(logs, tmp_path / "site", environ={}), jobs=1)
    assert made == [30]  # the home page's; the experiment's page has the same table
    home, own = (tmp_path / "site/runs.csv.gz").read_bytes(), (tmp_path / "site/experiments/sweep/runs.csv.gz").read_bytes()
    assert home == own
    assert gzip.decompress(own).decode().count("\n") == 31
    made.clear()
    build(BuildConfig.from_options(write_site_logs(tmp_path / "two"), tmp_path / "site2", environ={}), jobs=1)
    assert sorted(made) == [1, 4, 5]  # two experiments: each table has its own


def test_the_exports_csv_names_each_runs_experiment_like_the_sites(tmp_path):
    """The export's CSV is made from its table rows too: its experiment column has names (it had ids)."""
    logs = write_site_logs(tmp_path / "logs")
    result = CliRunner().invoke(main, ["export", str(logs), "-o", str(tmp_path / "report.html"), "--quiet"])
    assert result.exit_code == 0, result.output
    [link] = set(re.findall(r'href="data:text/csv;charset=utf-8,([^"]*)"', (tmp_path / "report.html").read_text()))
    listed = list(csv.DictReader(io.StringIO(unquote(html.unescape(link)))))
    assert {line["run_id"] for line in listed} == set(read_data(logs).runs)
    assert sorted({line["experiment"] for line in listed}) == ["houses", "mnist"]  # ids: HOUSES, MNIST
