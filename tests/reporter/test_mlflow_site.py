"""`reporter build tests/fixtures/mlruns`: the site shows what MLflow recorded, checked against the files themselves."""

from __future__ import annotations

import csv
import gzip
import math
from pathlib import Path

import orjson
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from mlflow_fixture import (
    FIXTURE,
    STATUS,
    artifact_files,
    experiments,
    key_files,
    latest_point,
    live_runs,
    metric_files,
    metric_points,
    run_name,
)

from reporter.cli import main
from reporter.config import BuildConfig
from reporter.site.build import build


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mlflow-site") / "site"
    build(BuildConfig.from_options(FIXTURE, out, environ={}))
    return out


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def table_rows(table) -> dict[str, list[str]]:
    return {row.th.get_text(strip=True): [td.get_text(strip=True) for td in row.find_all("td")]
            for row in table.tbody.find_all("tr")}


def captioned(page) -> dict:
    return {t.caption.get_text(" ", strip=True).split(" ·")[0]: t for t in page.find_all("table") if t.caption}


def runs_data(site: Path) -> dict:
    text = (site / "runs-data.js").read_text(encoding="utf-8")
    return orjson.loads(text[text.index("{"): text.rindex("}") + 1])


def as_float(text: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(text) or float(text)


def test_home_page_lists_live_experiments_with_run_counts(site):
    rows = table_rows(soup(site / "index.html").find("table", class_="experiments"))
    live = {folder: meta["name"] for folder, meta in experiments().items() if meta["lifecycle_stage"] == "active"}
    assert set(rows) == set(live.values())
    for folder, name in live.items():
        count = sum(1 for f, _ in live_runs().values() if f.parent.name == folder)
        assert rows[name][0] == str(count)


def test_run_table_data_matches_the_fixture(site):
    rows = {row["attributes"]["run_id"]: row for row in runs_data(site)["rows"]}
    assert set(rows) == set(live_runs())
    for run_id, (folder, meta) in live_runs().items():
        row = rows[run_id]
        attributes = row["attributes"]
        assert attributes["run_name"] == run_name(folder, meta)
        assert attributes["experiment_id"] == folder.parent.name
        assert attributes["start_time"] == int(meta["start_time"])
        status = STATUS[meta["status"]]
        assert attributes["status"] == status or (status == "RUNNING" and attributes["status"] == "UNFINISHED")
        tags = key_files(folder / "tags")
        assert attributes["parent_run_id"] == tags.get("mlflow.parentRunId")
        assert row["params"] == key_files(folder / "params")
        # the tags as logged, plus the MLflow system tags search_runs fills in from the run's meta.yaml
        assert {k: v for k, v in row["tags"].items() if k in tags} == {k: tags[k] for k in row["tags"] if k in tags}
        assert set(row["tags"]) - set(tags) <= {"mlflow.runName", "mlflow.user", "mlflow.parentRunId",
                                                "mlflow.source.name", "mlflow.source.git.commit",
                                                "mlflow.source.git.branch", "mlflow.note.content"}
        assert {k for k in tags if not k.startswith("mlflow.")} <= set(row["tags"])
        for key, path in metric_files(folder).items():
            latest = latest_point(metric_points(path))[1]
            shown = row["metrics"][key]
            shown = as_float(shown) if isinstance(shown, str) else shown
            assert (math.isnan(shown) and math.isnan(latest)) or shown == pytest.approx(latest)


def test_run_pages_show_params_tags_metrics_and_history(site):
    for run_id, (folder, meta) in live_runs().items():
        page = soup(site / "runs" / run_id / "index.html")
        assert page.h1.get_text(" ", strip=True).startswith(run_name(folder, meta))
        tables = captioned(page)
        params = key_files(folder / "params")
        if params:
            assert table_rows(tables["Parameters"]) == {k: [v] for k, v in params.items()}
        shown_tags = table_rows(tables["Tags"])
        for key, value in key_files(folder / "tags").items():
            if key != "mlflow.note.content":  # shown as the description
                assert shown_tags[key] == [value]
        files = metric_files(folder)
        metrics = table_rows(tables["Metrics"])
        assert set(metrics) == set(files)
        with gzip.open(site / "runs" / run_id / "metrics.csv.gz", "rt", newline="", encoding="utf-8") as file:
            history = list(csv.DictReader(file))
        for key, path in files.items():
            points = metric_points(path)
            _, _, _, count, last_step = metrics[key]
            assert (int(count), int(last_step)) == (len(points), latest_point(points)[2])
            got = [(int(r["timestamp"]), as_float(r["value"]), int(r["step"])) for r in history if r["key"] == key]
            assert len(got) == len(points)
            for (t1, v1, s1), (t2, v2, s2) in zip(got, points):
                assert (t1, s1) == (t2, s2)
                assert (math.isnan(v1) and math.isnan(v2)) or v1 == pytest.approx(v2, rel=1e-5)


def test_parent_note_and_artifacts(site):
    by_name = {run_name(folder, meta): (run_id, folder) for run_id, (folder, meta) in live_runs().items()}
    parent_id, parent_folder = by_name["grid-search"]
    page = soup(site / "runs" / parent_id / "index.html")
    children = {a["href"] for a in page.select("ul.children a")}
    assert children == {f"../../runs/{by_name[name][0]}/index.html" for name in ("lasso", "ridge")}
    note = (parent_folder / "tags" / "mlflow.note.content").read_text()
    assert page.find("section", class_="description").get_text(" ", strip=True) == note.replace("`", "")
    run_id, folder = by_name["with-artifacts"]
    page = soup(site / "runs" / run_id / "index.html")
    expected = artifact_files(folder)
    assert expected
    for path, size in expected:
        copied = site / "runs" / run_id / "artifacts" / path
        assert copied.read_bytes() == (folder / "artifacts" / path).read_bytes() and copied.stat().st_size == size
        assert page.find("a", href=f"artifacts/{path}") is not None
    assert page.find("img", alt="plots/plot.png")["src"] == "artifacts/plots/plot.png"


def test_reporter_build_command_on_the_fixture(tmp_path):
    result = CliRunner().invoke(main, ["build", str(FIXTURE), "-o", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    assert f"{len(live_runs())} run(s)" in result.output and "0 problem(s)" in result.output
