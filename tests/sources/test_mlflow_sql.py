"""MLflow's SQL tracking store in SQLite (`mlflow.db`), read by logger/sources/mlflow_sql.py.

The databases in tests/fixtures/mlflow_sql/v2 and v3 were written by MLflow 2.22 and 3.17
(tests/fixtures/make_mlflow_sql.py). Expected values come from the database itself, read here with
plain SQL, since ids and times change whenever the fixtures are made again. Rows are added the way
MLflow's SQLAlchemy store adds them (a point in `metrics`, `latest_metrics` kept up to date).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import pytest

from logger.reader import LogReader, read_logs
from tests.opened_files import opened_files

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mlflow_sql"
VERSIONS = ["v2", "v3"]
LATER = 4_000_000_000.0  # seconds: long after any fixture was made (runs left RUNNING are UNFINISHED)
DBL_MAX = sys.float_info.max


def project(tmp_path: Path, version: str = "v3") -> Path:
    """A copy of a fixture folder: mlflow.db (unpacked) and the mlruns/ artifact folder beside it."""
    folder = tmp_path / f"project-{version}"
    shutil.copytree(FIXTURES / version / "mlruns", folder / "mlruns")
    (folder / "mlflow.db").write_bytes(gzip.decompress((FIXTURES / version / "mlflow.db.gz").read_bytes()))
    return folder


def query(db: Path, sql: str, *args) -> list[tuple]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
        return connection.execute(sql, args).fetchall()


def write(db: Path, *statements: tuple) -> None:
    """Run (sql, args) statements in one committed transaction, as a writer next to the reader."""
    with closing(sqlite3.connect(db)) as connection, connection:
        for sql, *args in statements:
            connection.execute(sql, args)


def log_point(run_id: str, key: str, value: float, step: int, timestamp: int) -> list[tuple]:
    """What MLflow's SqlAlchemyStore writes for one point (NaN as 0 with is_nan; an infinity as the greatest float)."""
    nan = math.isnan(value)
    stored = 0.0 if nan else max(-DBL_MAX, min(DBL_MAX, value))
    return [("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)",
             key, stored, timestamp, run_id, step, nan),
            ("INSERT OR REPLACE INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
             "VALUES (?, ?, ?, ?, ?, ?)", key, stored, timestamp, step, nan, run_id)]


def run_id_named(db: Path, name: str) -> str:
    return query(db, "SELECT run_uuid FROM runs WHERE name = ?", name)[0][0]


def as_logged(value: float, is_nan: int) -> float:
    return math.nan if is_nan else math.inf if value >= DBL_MAX else -math.inf if value <= -DBL_MAX else value


def same_floats(a, b) -> bool:
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


# ---------------------------------------------------------------- what MLflow wrote, as MLflow shows it


@pytest.mark.parametrize("version", VERSIONS)
def test_experiments_and_runs_are_what_mlflow_shows(tmp_path, version):
    folder = project(tmp_path, version)
    db = folder / "mlflow.db"
    reader = LogReader(folder)
    reader.refresh(now=LATER)
    data = reader.data

    assert data.problems == []
    assert reader.runs_by_source() == {"MLflow database": 5}
    assert {e.experiment_id: e.name for e in data.experiments.values()} == {"0": "Default", "1": "houses"}
    houses = data.experiments["1"]
    assert houses.tags == {"team": "pricing", "mlflow.note.content": "House prices, **regression** baselines."}
    assert houses.created == query(db, "SELECT creation_time FROM experiments WHERE name = 'houses'")[0][0]

    live = query(db, "SELECT run_uuid, name, status, start_time, end_time FROM runs "
                     "WHERE lifecycle_stage = 'active' AND experiment_id = 1")
    assert set(data.runs) == {row[0] for row in live}  # MLflow's run ids; deleted runs and experiments left out
    for run_id, name, status, start, end in live:
        run = data.runs[run_id]
        assert (run.name, run.experiment_id, run.source, run.start_time) == (name, "1", "mlflow-sql", start)
        assert run.status == ("UNFINISHED" if status == "RUNNING" else status)
        assert run.end_time == (end if status != "RUNNING" else None)
        params = dict(query(db, "SELECT key, value FROM params WHERE run_uuid = ?", run_id))
        tags = dict(query(db, "SELECT key, value FROM tags WHERE run_uuid = ?", run_id))
        assert (run.params, run.tags) == (params, tags)

    by_name = {run.name: run for run in data.runs.values()}
    assert by_name["diverged"].status == "FAILED"
    assert by_name["lasso"].parent_run_id == by_name["grid-search"].run_id
    assert data.children_of(by_name["grid-search"].run_id) == [by_name["lasso"]]
    assert by_name["grid-search"].description == "Searches `alpha`."
    assert by_name["lasso"].params == {"alpha": "0.1", "model": "lasso", "opt/lr": "0.01"}
    assert by_name["lasso"].system["git_commit"] == "0123abcd"
    assert by_name["lasso"].system["entry_point"].endswith("make_mlflow_sql.py")
    assert by_name["still-running"].system == {"user": "unknown"}  # the user_id column stands in for the tag


@pytest.mark.parametrize("version", VERSIONS)
def test_metric_histories_hold_every_point_with_nan_and_infinity_as_logged(tmp_path, version):
    folder = project(tmp_path, version)
    db = folder / "mlflow.db"
    data = read_logs(folder)
    lasso = next(run for run in data.runs.values() if run.name == "lasso")
    for key, history in lasso.metrics.items():
        rows = query(db, "SELECT value, is_nan, step, timestamp FROM metrics WHERE run_uuid = ? AND key = ? "
                         "ORDER BY rowid", lasso.run_id, key)
        assert same_floats(list(history.values), [as_logged(value, nan) for value, nan, _, _ in rows])
        assert list(history.steps) == [row[2] for row in rows]
        assert list(history.timestamps) == [row[3] for row in rows]
    rmse = lasso.metrics["val/rmse"]
    assert math.isnan(rmse.values[5]) and rmse.values[7] == math.inf and list(rmse.steps) == list(range(20))
    # The latest values are the ones MLflow keeps in latest_metrics.
    for run in data.runs.values():
        latest = {key: as_logged(value, nan) for key, value, nan in
                  query(db, "SELECT key, value, is_nan FROM latest_metrics WHERE run_uuid = ?", run.run_id)}
        assert run.latest_metrics() == latest


@pytest.mark.parametrize("version", VERSIONS)
def test_artifacts_are_found_beside_the_database_when_their_stored_path_is_gone(tmp_path, version):
    folder = project(tmp_path, version)
    run = next(run for run in read_logs(folder).runs.values() if run.name == "with-artifacts")
    stored = query(folder / "mlflow.db", "SELECT artifact_uri FROM runs WHERE run_uuid = ?", run.run_id)[0][0]
    assert not Path(stored).exists()  # MLflow stored the absolute path of the folder the fixture was made in
    assert run.artifacts_dir == str((folder / "mlruns" / "1" / run.run_id / "artifacts").resolve())
    assert {(a.path, a.size) for a in run.artifacts} == {("summary.txt", 18), ("tables/scores.csv", 20)}


def test_naming_the_database_reads_it_with_its_folder_as_the_log_directory(tmp_path):
    folder = project(tmp_path)
    (folder / "other.jsonl").write_text('{"loss": 1}\n')
    reader = LogReader(folder / "mlflow.db")
    reader.refresh()
    assert reader.runs_by_source() == {"MLflow database": 5}
    assert any(run.artifacts for run in reader.data.runs.values())


def test_the_artifact_folder_beside_the_database_is_not_read_as_logs(tmp_path):
    folder = project(tmp_path)
    run_id = run_id_named(folder / "mlflow.db", "with-artifacts")
    (folder / "mlruns" / "1" / run_id / "artifacts" / "history.jsonl").write_text('{"loss": 0.5}\n')
    reader = LogReader(folder)
    reader.refresh()
    assert reader.runs_by_source() == {"MLflow database": 5}
    assert "history.jsonl" in {a.path for a in reader.data.runs[run_id].artifacts}


# ---------------------------------------------------------------- where artifacts may be read from


@pytest.mark.parametrize("form", ["file_uri", "absolute", "relative", "served"])
def test_an_artifact_uri_inside_the_log_directory_is_read_in_any_local_form(tmp_path, form):
    folder = project(tmp_path)
    db = folder / "mlflow.db"
    run_id = run_id_named(db, "diverged")
    target = folder / ("mlartifacts/1" if form == "served" else "kept elsewhere") / "plots"
    target.mkdir(parents=True)
    (target / "loss.png").write_bytes(b"\x89PNG")
    (target / "train.jsonl").write_text('{"loss": 0.5}\n')  # an artifact, not a log of its own
    uri = {"file_uri": target.as_uri(), "absolute": str(target), "relative": "kept elsewhere/plots",
           "served": "mlflow-artifacts:/1/plots"}[form]  # `mlflow server` keeps these in ./mlartifacts
    write(db, ("UPDATE runs SET artifact_uri = ? WHERE run_uuid = ?", uri, run_id))
    data = read_logs(folder)
    assert data.runs[run_id].artifacts_dir == str(target.resolve())
    assert [(a.path, a.size) for a in data.runs[run_id].artifacts] == [("loss.png", 4), ("train.jsonl", 14)]
    if form == "served":
        assert len(data.runs) == 5  # mlartifacts/ beside the database is not walked: train.jsonl is no run


def test_an_artifact_uri_outside_the_log_directory_is_a_problem_and_not_read(tmp_path):
    folder = project(tmp_path)
    db = folder / "mlflow.db"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("no")
    run_id = run_id_named(db, "diverged")
    write(db, ("UPDATE runs SET artifact_uri = ? WHERE run_uuid = ?", outside.as_uri(), run_id))
    data = read_logs(folder)
    assert data.runs[run_id].artifacts == [] and data.runs[run_id].artifacts_dir is None
    [problem] = data.problems
    assert problem.file == "mlflow.db" and run_id in problem.reason and "outside the log directory" in problem.reason


# ---------------------------------------------------------------- which files are read


def test_a_database_of_another_program_and_files_named_like_one_are_ignored_quietly(tmp_path):
    with closing(sqlite3.connect(tmp_path / "app.db")) as connection:
        connection.execute("CREATE TABLE runs (id TEXT)")
    (tmp_path / "notes.sqlite").write_text("not a database")
    (tmp_path / "empty.db").write_bytes(b"")
    data = read_logs(tmp_path)
    assert (data.runs, data.problems) == ({}, [])


def test_an_mlflow_database_under_any_database_name_is_read(tmp_path):
    folder = project(tmp_path)
    (folder / "mlflow.db").rename(folder / "tracking.sqlite")
    assert len(read_logs(folder).runs) == 5


def test_a_copy_beside_the_database_reports_its_runs_as_duplicates(tmp_path):
    folder = project(tmp_path)
    shutil.copy(folder / "mlflow.db", folder / "backup.db")
    reader = LogReader(folder)
    reader.refresh()
    assert len(reader.data.runs) == 5
    assert all(run.path == str(folder / "backup.db") for run in reader.data.runs.values())  # walked first
    assert len(reader.data.problems) == 5 and all("is used by" in p.reason for p in reader.data.problems)
    # its experiments are the copy's own: shown apart, under ids with a suffix
    names = sorted(experiment.name for experiment in reader.data.experiments.values())
    assert names == sorted(2 * [experiment.name for experiment in read_logs(folder / "mlflow.db").experiments.values()])


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_mlflow_db_is_a_problem_not_an_error(tmp_path, damage):
    folder = project(tmp_path)
    db = folder / "mlflow.db"
    content = db.read_bytes()
    if damage == "garbage":
        db.write_bytes(content[:100] + bytes(range(256)) * 64)
    else:
        db.write_bytes(content[: len(content) // 3])
    reader = LogReader(folder)
    reader.refresh()
    assert reader.data.runs == {}
    [problem] = reader.data.problems
    assert problem.file == "mlflow.db" and problem.reason.startswith("cannot read the MLflow database")


@pytest.mark.parametrize("name", ["mlflow.db", "tracking.db"])
def test_a_locked_database_is_a_problem_for_that_refresh_and_its_runs_are_kept(tmp_path, monkeypatch, name):
    monkeypatch.setattr("logger.mlflow_sqlite.BUSY_TIMEOUT", 0.0)
    folder = project(tmp_path)
    db = (folder / "mlflow.db").rename(folder / name)
    reader = LogReader(folder)
    reader.refresh()
    run_id = run_id_named(db, "diverged")
    write(db, *log_point(run_id, "loss", 2.0, 1, 1))
    with closing(sqlite3.connect(db, isolation_level=None)) as writer:
        writer.execute("BEGIN EXCLUSIVE")  # MLflow committing its next points
        for statement in log_point(run_id, "loss", 3.0, 2, 2):
            writer.execute(statement[0], statement[1:])
        changes = reader.refresh()
        assert len(reader.data.runs) == 5
        assert [p.reason for p in changes.problems] == [
            "cannot read the MLflow database: database is locked (MLflow is writing to it; read again on the next refresh)"]
        writer.execute("COMMIT")
    changes = reader.refresh()
    assert reader.data.problems == [] and changes.runs == {run_id}
    assert list(reader.data.runs[run_id].metrics["loss"].values) == [1e6, 2.0, 3.0]


def test_a_locked_mlflow_db_met_for_the_first_time_is_claimed_by_its_name(tmp_path, monkeypatch):
    monkeypatch.setattr("logger.mlflow_sqlite.BUSY_TIMEOUT", 0.0)
    folder = project(tmp_path)
    shutil.copy(folder / "mlflow.db", folder / "other.db")
    with closing(sqlite3.connect(folder / "mlflow.db", isolation_level=None)) as a, \
            closing(sqlite3.connect(folder / "other.db", isolation_level=None)) as b:
        a.execute("BEGIN EXCLUSIVE")
        b.execute("BEGIN EXCLUSIVE")
        data = read_logs(folder)
    assert data.runs == {}
    assert [(p.file, "locked" in p.reason) for p in data.problems] == [("mlflow.db", True)]  # other.db: unknown


# ---------------------------------------------------------------- a database being written


def refresh_recording(reader: LogReader, now: float | None = None):
    with opened_files(("open", "sqlite3.connect")) as opened:
        return reader.refresh(now), opened


def test_a_refresh_reads_only_the_points_logged_since_the_last_one(tmp_path):
    folder = project(tmp_path)
    db = folder / "mlflow.db"
    reader = LogReader(folder)
    reader.refresh()
    [source] = reader._sources.values()
    [store] = source._readers.values()
    assert store.points_read == query(db, "SELECT count(*) FROM metrics WHERE run_uuid IN "
                                          "(SELECT run_uuid FROM runs WHERE experiment_id = 1)")[0][0]
    before = dict(reader.data.runs)
    lasso = run_id_named(db, "lasso")
    loss = before[lasso].metrics["loss"]

    changes, opened = refresh_recording(reader)
    assert not changes and opened == []  # nothing changed: the database is not even opened

    write(db, *log_point(lasso, "loss", 0.01, 20, 1_900_000_000_000), *log_point(lasso, "loss", math.nan, 21, 1_900_000_000_001),
          *log_point(lasso, "new/key", math.inf, 0, 1_900_000_000_002))
    changes, opened = refresh_recording(reader)
    assert changes.runs == {lasso} and changes.experiments == {"1"}
    assert store.points_read == 3  # the new points alone
    assert reader.data.runs[lasso].metrics["loss"] is loss and len(loss) == 22
    assert list(loss.steps[-2:]) == [20, 21] and loss.values[-2] == 0.01 and math.isnan(loss.values[-1])
    assert list(reader.data.runs[lasso].metrics["new/key"].values) == [math.inf]
    assert all(reader.data.runs[run_id] is run for run_id, run in before.items())  # the same objects
    assert reader.data.runs[lasso].last_time == 1_900_000_000_002


def test_runs_added_renamed_tagged_deleted_and_restored_while_serving(tmp_path):
    folder = project(tmp_path)
    db = folder / "mlflow.db"
    reader = LogReader(folder)
    reader.refresh(now=1800000000.2)
    diverged = run_id_named(db, "diverged")
    new = "f" * 32
    write(db, ("INSERT INTO runs (run_uuid, name, source_type, status, start_time, lifecycle_stage, experiment_id, "
               "artifact_uri) VALUES (?, 'fresh', 'LOCAL', 'RUNNING', 1800000000000, 'active', 1, NULL)", new),
          ("INSERT INTO tags (key, value, run_uuid) VALUES ('mlflow.runName', 'fresh', ?)", new),
          ("INSERT INTO params (key, value, run_uuid) VALUES ('lr', '0.1', ?)", new),
          *log_point(new, "loss", 1.0, 0, 1800000000100),
          ("UPDATE tags SET value = 'renamed' WHERE key = 'mlflow.runName' AND run_uuid = ?", diverged),
          ("UPDATE runs SET name = 'renamed' WHERE run_uuid = ?", diverged))
    changes = reader.refresh(now=1800000000.2)
    assert changes.runs == {new, diverged}
    fresh = reader.data.runs[new]
    assert (fresh.name, fresh.status, fresh.params, list(fresh.metrics["loss"].values)) == ("fresh", "RUNNING", {"lr": "0.1"}, [1.0])
    assert reader.data.runs[diverged].name == "renamed"
    assert reader.refresh(now=LATER).runs == {new}  # silent for longer than the running window
    assert reader.data.runs[new].status == "UNFINISHED"

    write(db, ("UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_uuid = ?", diverged))
    assert reader.refresh(now=LATER).removed_runs == {diverged}
    write(db, ("UPDATE runs SET lifecycle_stage = 'active' WHERE run_uuid = ?", diverged),
          *log_point(diverged, "loss", 5.0, 1, 1800000000300))
    changes = reader.refresh(now=LATER)
    assert diverged in changes.runs
    assert list(reader.data.runs[diverged].metrics["loss"].values) == [1e6, 5.0]  # its old points read again


def test_runs_removed_for_good_make_the_next_read_start_over(tmp_path):
    folder = project(tmp_path)
    db = folder / "mlflow.db"
    reader = LogReader(folder)
    reader.refresh()
    gone, kept = run_id_named(db, "lasso"), run_id_named(db, "diverged")
    # `mlflow gc` deletes a run's rows; SQLite may then give their rowids to the next points.
    write(db, *[(f"DELETE FROM {table} WHERE run_uuid = ?", gone) for table in ("metrics", "latest_metrics", "params", "tags", "runs")])
    write(db, *log_point(kept, "loss", 7.0, 1, 1))
    changes = reader.refresh()
    assert changes.removed_runs == {gone}
    assert list(reader.data.runs[kept].metrics["loss"].values) == [1e6, 7.0]


def test_a_database_in_wal_mode_is_read_without_creating_a_file(tmp_path):
    folder = project(tmp_path)
    db = folder / "mlflow.db"
    with closing(sqlite3.connect(db)) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
    listing, digest = sorted(os.listdir(folder)), hashlib.sha256(db.read_bytes()).hexdigest()
    reader = LogReader(folder)
    reader.refresh()
    assert len(reader.data.runs) == 5
    assert sorted(os.listdir(folder)) == listing and hashlib.sha256(db.read_bytes()).hexdigest() == digest

    run_id = run_id_named(db, "diverged")
    with closing(sqlite3.connect(db)) as writer:  # MLflow holding it open: the points are in mlflow.db-wal
        with writer:
            for statement in log_point(run_id, "loss", 3.0, 1, 1):
                writer.execute(statement[0], statement[1:])
        assert (folder / "mlflow.db-wal").exists()
        assert reader.refresh().runs == {run_id}
        assert list(reader.data.runs[run_id].metrics["loss"].values) == [1e6, 3.0]


def test_an_immutable_read_is_dropped_when_a_writer_opened_the_database_meanwhile(tmp_path, monkeypatch):
    import logger.mlflow_sql_store as store

    folder = project(tmp_path)
    db = folder / "mlflow.db"
    with closing(sqlite3.connect(db)) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
    stamps = iter([("before",), ("after",)])
    monkeypatch.setattr(store, "database_stamp", lambda path: next(stamps, ("after",)))
    reader = LogReader(folder)
    reader.refresh()
    assert (reader.data.runs, reader.data.problems) == ({}, [])  # nothing kept from a read a writer may have torn
    assert len(reader.refresh().runs) == 5


# ---------------------------------------------------------------- odd but readable content


def test_hostile_values_are_kept_as_data_and_bounded(tmp_path):
    folder = project(tmp_path)
    db = folder / "mlflow.db"
    run_id = run_id_named(db, "diverged")
    write(db, ("INSERT INTO tags (key, value, run_uuid) VALUES ('html', '<script>alert(1)</script>' || char(7), ?)", run_id),
          ("INSERT INTO params (key, value, run_uuid) VALUES ('huge', ?, ?)", "x" * 200_000, run_id),
          ("INSERT INTO params (key, value, run_uuid) VALUES ('bytes', CAST(x'41ff42' AS TEXT), ?)", run_id),
          ("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES ('loss', 'oops', 5, ?, 1, 0)", run_id))
    data = read_logs(folder)
    run = data.runs[run_id]
    assert run.tags["html"] == "<script>alert(1)</script>\x07"
    assert len(run.params["huge"]) == 100_000 and run.params["bytes"] == "A\ufffdB"
    assert list(run.metrics["loss"].values) == [1e6]
    assert sorted(p.reason for p in data.problems) == [
        "1 metric row(s) whose value, step or time is not a number were skipped",
        "1 text value(s) longer than 100,000 characters were cut"]


def test_an_old_schema_without_steps_or_nan_flags_is_read(tmp_path):
    """MLflow 1.0's first tables (no metrics.step, metrics.is_nan, experiment_tags, latest_metrics)."""
    db = tmp_path / "mlflow.db"
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.executescript("""
            CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);
            CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name VARCHAR(256), artifact_location VARCHAR(256),
                                      lifecycle_stage VARCHAR(32));
            CREATE TABLE runs (run_uuid VARCHAR(32), name VARCHAR(250), source_type VARCHAR(20), source_name VARCHAR(500),
                               entry_point_name VARCHAR(50), user_id VARCHAR(256), status VARCHAR(20), start_time BIGINT,
                               end_time BIGINT, source_version VARCHAR(50), lifecycle_stage VARCHAR(20),
                               artifact_uri VARCHAR(200), experiment_id INTEGER);
            CREATE TABLE tags (key VARCHAR(250), value VARCHAR(250), run_uuid VARCHAR(32));
            CREATE TABLE metrics (key VARCHAR(250), value FLOAT, timestamp BIGINT, run_uuid VARCHAR(32));
            CREATE TABLE params (key VARCHAR(250), value VARCHAR(250), run_uuid VARCHAR(32));
            INSERT INTO experiments VALUES (0, 'Default', './mlruns/0', 'active');
            INSERT INTO runs VALUES ('abc', 'old', 'LOCAL', 'train.py', 'main', 'ana', 'FINISHED', 10, 20, 'deadbeef',
                                     'active', NULL, 0);
            INSERT INTO metrics VALUES ('loss', 0.5, 11, 'abc'), ('loss', 0.25, 12, 'abc');
        """)
    run = read_logs(tmp_path).runs["abc"]
    assert (run.name, run.status, run.start_time, run.end_time) == ("old", "FINISHED", 10, 20)
    assert run.system == {"user": "ana", "entry_point": "train.py", "git_commit": "deadbeef", "command": "main"}
    assert list(run.metrics["loss"].values) == [0.5, 0.25] and list(run.metrics["loss"].steps) == [0, 0]


def test_reading_never_writes(tmp_path):
    folder = project(tmp_path)
    db = folder / "mlflow.db"
    os.chmod(db, 0o444)
    digest, listing = hashlib.sha256(db.read_bytes()).hexdigest(), sorted(os.listdir(folder))
    reader = LogReader(folder)
    reader.refresh()
    reader.refresh()
    assert len(reader.data.runs) == 5
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest and sorted(os.listdir(folder)) == listing
