"""The reader's sources: a new log format is one module registering a `Source`, and an MLflow store
is followed incrementally (a refresh re-reads only the runs whose files changed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlflow_fixture import FIXTURE, flat_meta

from logger.model import LogData, MetricHistory, Run
from logger.reader import LogReader, read_logs
from logger.sources import Changes, Claim, Listing, Source, register, unregister
from tests.opened_files import opened_files

# ---------------------------------------------------------------- a toy format, registered from here


class CountsSource(Source):
    """`*.counts` files at the top of the log directory: one number a line, a metric of one run each."""

    name = "counts"
    order = 50

    @classmethod
    def claim(cls, listing: Listing) -> Claim | None:
        found = [listing.path / name for name in sorted(listing.regular) if name.endswith(".counts")]
        return Claim(found) if found else None

    def refresh(self, now: float, units: list[Path]) -> Changes:
        data = LogData()
        for path in units:
            run = Run(run_id=f"counts-{path.stem}", experiment_id="", name=path.stem, path=str(path),
                      status="FINISHED", source="counts")
            history = run.metrics["count"] = MetricHistory("count")
            for step, line in enumerate(path.read_text().split()):
                history.append(float(line), step, 0)
            data.runs[run.run_id] = run
        self.data = data
        return Changes(runs=set(data.runs))


@pytest.fixture
def counts_source():
    register(CountsSource)
    yield CountsSource
    unregister(CountsSource)


def test_a_source_registered_elsewhere_is_read_beside_flowsheet_logs(tmp_path, counts_source):
    from logwriting import metric, write_experiment, write_run

    write_run(write_experiment(tmp_path, "e"), "a" * 32, [metric("loss", 1.0, 0)])
    (tmp_path / "apples.counts").write_text("3\n5\n")
    reader = LogReader(tmp_path)
    changes = reader.refresh()
    assert set(reader.data.runs) == {"a" * 32, "counts-apples"}
    assert list(reader.data.runs["counts-apples"].metrics["count"].values) == [3.0, 5.0]
    assert "counts-apples" in changes.runs
    (tmp_path / "apples.counts").unlink()
    assert reader.refresh().removed_runs == {"counts-apples"}


def test_without_its_module_the_format_is_not_read(tmp_path):
    (tmp_path / "apples.counts").write_text("3\n")
    assert read_logs(tmp_path).runs == {}


def test_the_builtin_sources_are_found_by_importing_the_package():
    from logger.sources import registered

    assert {source.name for source in registered()} >= {"flowsheet", "mlflow"}


# ---------------------------------------------------------------- MLflow stores: only what changed is read again

def _refresh_recording_opens(reader: LogReader) -> tuple[Changes, list[str]]:
    with opened_files() as opened:
        return reader.refresh(), opened


def _run_folder(store: Path, name: str) -> Path:
    return next(meta.parent for meta in sorted(store.glob("*/*/meta.yaml")) if flat_meta(meta).get("run_name") == name)


def test_a_refresh_after_one_run_grew_rereads_that_run_only(tmp_path):
    store = Path(shutil.copytree(FIXTURE, tmp_path / "mlruns"))
    reader = LogReader(store)
    _, opened = _refresh_recording_opens(reader)
    runs = {Path(run.path) for run in reader.data.runs.values()}
    assert len(runs) > 2 and {folder for folder in runs if any(p.startswith(f"{folder}/") for p in opened)} == runs

    _, opened = _refresh_recording_opens(reader)
    assert [p for p in opened if p.startswith(f"{store}/")] == []  # nothing changed: nothing opened

    grown = _run_folder(store, "lasso")
    [metric] = sorted((grown / "metrics").iterdir())[:1]
    with open(metric, "a") as file:
        file.write("1795750746000 0.5 999\n")
    changes, opened = _refresh_recording_opens(reader)
    assert {folder for folder in runs if any(p.startswith(f"{folder}/") for p in opened)} == {grown}
    assert changes.runs == {grown.name}
    assert reader.data.runs[grown.name].metrics[metric.name].steps[-1] == 999


# ---------------------------------------------------------------- merging the sources' models


def test_experiment_ids_two_sources_share_are_told_apart_and_their_runs_follow():
    from logger.model import Experiment
    from logger.reader import merge_parts

    def part(path: str, run_ids: list[str]) -> LogData:
        data = LogData()
        data.experiments["0"] = Experiment("0", "Default", path)
        for run_id in run_ids:
            data.runs[run_id] = Run(run_id=run_id, experiment_id="0", name=run_id, path=f"{path}/{run_id}")
        return data

    first, second, same_folder = part("/a/mlflow.db", ["r1"]), part("/b/mlflow.db", ["r2", "r1"]), part("/a/mlflow.db", ["r3"])
    merged, renamed = merge_parts([first, second, same_folder])
    assert renamed[0] == {} and renamed[2] == {}  # the first keeps "0"; a part from the same folder joins it
    new_id = renamed[1]["0"]
    assert new_id.startswith("0-") and merge_parts([first, second])[1][1]["0"] == new_id  # the same on every read
    assert {run_id: run.experiment_id for run_id, run in merged.runs.items()} == {"r1": "0", "r2": new_id, "r3": "0"}
    assert merged.experiments[new_id].name == "Default" and merged.experiments[new_id].path == "/b/mlflow.db"
    assert [p.reason for p in merged.problems] == ["run id 'r1' is used by /a/mlflow.db/r1; skipped"]
    assert second.runs["r2"].experiment_id == "0" and second.experiments["0"].experiment_id == "0"  # not changed
