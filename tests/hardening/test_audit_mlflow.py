"""Hostile MLflow stores: links out of the store, ids that are paths, artifact_uri elsewhere, FIFOs.

Each store is a copy of the real-MLflow fixture (tests/fixtures/mlruns) with one thing planted. Whatever
lies outside the store holds SECRET (in its content and in its folder's name), so any read of it shows
up in what the reader returns, in the site, or in the imported logs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow_fixture import FIXTURE, flat_meta

from logger.mlflow_store import read_mlflow_store
from tests.opened_files import opened_files

from reporter.cli import main

SECRET = "SECRET-0ut51de"
OUTSIDE_METRIC = 271828.5
REPO = Path(__file__).resolve().parents[2]
LIVENESS = 60  # seconds: a generous bound that only a hang exceeds


# ---------------------------------------------------------------- building hostile stores


@pytest.fixture
def store(tmp_path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "mlruns"))


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder beside the store holding what a link could point at."""
    folder = tmp_path / f"outside-{SECRET}"
    (folder / "dir").mkdir(parents=True)
    (folder / "secret.txt").write_text(SECRET)
    (folder / "dir" / SECRET).write_text(SECRET)
    (folder / "dir" / "metric").write_text(f"1795750746000 {OUTSIDE_METRIC} 0\n")
    (folder / "run_meta.yaml").write_text(f"run_id: {'e' * 32}\nrun_name: {SECRET}\nstatus: 3\n"
                                          "lifecycle_stage: active\nstart_time: 1\n")
    (folder / "experiment_meta.yaml").write_text(f"name: {SECRET}\nlifecycle_stage: active\n")
    experiment = folder / "experiment"
    shutil.copytree(run_folder(FIXTURE, "cnn").parent, experiment)
    (experiment / "meta.yaml").write_text(f"name: {SECRET}\nlifecycle_stage: active\n")
    return folder


def run_folder(store: Path, name: str) -> Path:
    for meta in sorted(store.glob("*/*/meta.yaml")):
        if flat_meta(meta).get("run_name") == name:
            return meta.parent
    raise AssertionError(name)


def link(path: Path, target: Path) -> Path:
    """Replace `path` (file or folder) by a symlink to `target`."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


def set_meta(path: Path, key: str, value: str) -> None:
    lines = [line for line in path.read_text().splitlines() if not line.startswith(f"{key}:")]
    path.write_text("\n".join(lines + [f"{key}: {value}"]) + "\n")


# Each plant makes one link in the store and returns the planted path.
PLANTS = {
    "experiment folder": lambda s, o: link(s / "777", o / "experiment"),
    "run folder": lambda s, o: link(run_folder(s, "cnn").parent / ("f" * 32), o / "experiment" / run_folder(
        FIXTURE, "cnn").name),
    "experiment meta.yaml": lambda s, o: link(s / "0" / "meta.yaml", o / "experiment_meta.yaml"),
    "run meta.yaml": lambda s, o: link(run_folder(s, "lasso") / "meta.yaml", o / "run_meta.yaml"),
    "experiment tags folder": lambda s, o: link(s / "0" / "tags", o / "dir"),
    "experiment tag file": lambda s, o: link(s / "0" / "tags" / "leak", o / "secret.txt"),
    "params folder": lambda s, o: link(run_folder(s, "cnn") / "params", o / "dir"),
    "param file": lambda s, o: link(run_folder(s, "cnn") / "params" / "leak", o / "secret.txt"),
    "param in a subfolder": lambda s, o: link(run_folder(s, "cnn") / "params" / "sub", o / "dir"),
    "tags folder": lambda s, o: link(run_folder(s, "ridge") / "tags", o / "dir"),
    "tag file": lambda s, o: link(run_folder(s, "ridge") / "tags" / "leak", o / "secret.txt"),
    "metrics folder": lambda s, o: link(run_folder(s, "diverged") / "metrics", o / "dir"),
    "metric file": lambda s, o: link(run_folder(s, "diverged") / "metrics" / "leak", o / "dir" / "metric"),
    "artifacts folder": lambda s, o: link(run_folder(s, "with-artifacts") / "artifacts", o / "dir"),
    "artifact file": lambda s, o: link(run_folder(s, "grid-search") / "artifacts" / "leak.txt", o / "secret.txt"),
    "artifact subfolder": lambda s, o: link(run_folder(s, "grid-search") / "artifacts" / "sub", o / "dir"),
}


def leaks(data) -> list[str]:
    """Anything the reader returned that came from outside the store."""
    found = [repr(x) for x in (*data.experiments.values(), *data.runs.values(), *data.problems) if SECRET in repr(x)]
    found += [f"{run.name}: {key}" for run in data.runs.values() for key, history in run.metrics.items()
              if OUTSIDE_METRIC in history.values]
    return found


def files_holding(folder: Path, text: str) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if text in p.name
                  or p.is_file() and not p.is_symlink() and text.encode() in p.read_bytes())


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


# ---------------------------------------------------------------- every read stays in the store (audit hook)

def read_recording_opens(store: Path, **options):
    """Read the store; also return every path opened or listed meanwhile, resolved."""
    with opened_files(("open", "os.scandir", "os.listdir")) as opened:
        data = read_mlflow_store(store, **options)
    return data, [os.path.realpath(path) for path in opened]


@pytest.mark.parametrize("plant", PLANTS)
def test_a_link_out_of_the_store_is_never_read_and_is_named(store, outside, plant):
    planted = PLANTS[plant](store, outside)
    data, opened = read_recording_opens(store)
    root = os.path.realpath(store)
    assert [p for p in opened if p != root and not p.startswith(root + os.sep)] == []
    assert leaks(data) == []
    rel = planted.relative_to(store).as_posix()
    assert any(p.file == rel and "link" in p.reason for p in data.problems), data.problems


def test_links_that_stay_inside_the_store_are_read(store):
    cnn = run_folder(store, "cnn")
    (store / "shared").mkdir()
    (store / "shared" / "lr").write_text("0.5")
    link(cnn / "params" / "lr", Path("../../../shared/lr"))
    data = read_mlflow_store(store)
    assert data.runs[cnn.name].params["lr"] == "0.5"


def test_build_and_import_of_a_store_full_of_links_publish_nothing_from_outside(store, outside, tmp_path):
    for plant in PLANTS.values():
        plant(store, outside)
    set_meta(run_folder(store, "diverged") / "meta.yaml", "artifact_uri", (outside / "dir").as_uri())
    work = tmp_path / "work"
    work.mkdir()
    before = tree(tmp_path)
    built = CliRunner().invoke(main, ["build", str(store), "-o", str(work / "site")])
    assert built.exit_code == 0, built.output
    imported = CliRunner().invoke(main, ["import-mlflow", str(store), "-o", str(work / "runs")])
    assert imported.exit_code == 0, imported.output
    assert files_holding(work, SECRET) == []
    assert not any(str(OUTSIDE_METRIC) in p.read_text(errors="replace") for p in work.rglob("*") if p.is_file())
    assert {p for p in tree(tmp_path) - before if not p.startswith("work/")} == set()


# ---------------------------------------------------------------- ids from the store are not paths


# As written in meta.yaml, inside double quotes: YAML turns `\\` into a backslash, `\0` into NUL, ...
BAD_RUN_IDS = ["../../escaped", "..", ".", "a/b", "a\\\\b", "x\\0y", "x\\ny", "x\\x7fy", "a" * 300, ".hidden"]


@pytest.mark.parametrize("bad_id", BAD_RUN_IDS + ["ABSOLUTE"])
def test_a_run_id_that_is_not_a_folder_name_is_skipped_and_nothing_is_written_outside(store, tmp_path, bad_id):
    if bad_id == "ABSOLUTE":
        bad_id = str(tmp_path / "absolute-escape")
    victim = run_folder(store, "cnn")
    set_meta(victim / "meta.yaml", "run_id", f'"{bad_id}"')
    work = tmp_path / "work" / "deep" / "er"
    work.mkdir(parents=True)
    before = tree(tmp_path)
    result = CliRunner().invoke(main, ["import-mlflow", str(store), "-o", str(work / "runs")])
    assert result.exit_code == 0, result.output
    assert {p for p in tree(tmp_path) - before if not p.startswith("work/deep/er/runs")} == set()
    rel = (victim / "meta.yaml").relative_to(store).as_posix()
    assert f"{rel}: run id" in result.output
    data = read_mlflow_store(store)
    assert victim.name not in data.runs and all(run.name != "cnn" for run in data.runs.values())
    assert len(data.runs) == len(read_mlflow_store(FIXTURE).runs) - 1


@pytest.mark.parametrize("name", ["a\\b", "bad\x01id", "tab\tid", "x" * 250])
def test_an_experiment_folder_whose_name_is_not_an_id_is_skipped(store, name):
    shutil.copytree(run_folder(store, "cnn").parent, store / name)
    data = read_mlflow_store(store)
    assert name not in data.experiments
    assert any(p.file == name and "experiment id" in p.reason for p in data.problems), data.problems


# ---------------------------------------------------------------- artifact_uri elsewhere needs the user's word


@pytest.fixture
def elsewhere(store, outside):
    """The with-artifacts run's artifact_uri points at a folder outside the store."""
    run = run_folder(store, "with-artifacts")
    set_meta(run / "meta.yaml", "artifact_uri", (outside / "dir").as_uri())
    return run


def test_reader_does_not_list_artifacts_outside_the_store_unless_allowed(store, outside, elsewhere):
    data = read_mlflow_store(store)
    run = data.runs[elsewhere.name]
    assert SECRET not in {a.path for a in run.artifacts}
    [problem] = [p for p in data.problems if "--allow-artifacts-outside" in p.reason]
    assert problem.file == (elsewhere / "meta.yaml").relative_to(store).as_posix()
    allowed = read_mlflow_store(store, allow_artifacts_outside=[outside]).runs[elsewhere.name]
    assert {a.path for a in allowed.artifacts} == {SECRET, "metric"}
    assert not [p for p in read_mlflow_store(store, allow_artifacts_outside=[outside]).problems]


def test_import_copies_artifacts_outside_the_store_only_when_named(store, outside, elsewhere, tmp_path):
    runner = CliRunner()
    refused = runner.invoke(main, ["import-mlflow", str(store), "-o", str(tmp_path / "a")])
    assert refused.exit_code == 0 and "--allow-artifacts-outside" in refused.output
    assert files_holding(tmp_path / "a", SECRET) == []
    allowed = runner.invoke(main, ["import-mlflow", str(store), "-o", str(tmp_path / "b"),
                                   "--allow-artifacts-outside", str(outside)])
    assert allowed.exit_code == 0, allowed.output
    [copied] = (tmp_path / "b").rglob(f"artifacts/{SECRET}")
    assert copied.read_text() == SECRET and copied.parent.parent.name == elsewhere.name


def test_an_artifact_uri_inside_the_store_needs_no_option(store):
    run = run_folder(store, "with-artifacts")
    set_meta(run / "meta.yaml", "artifact_uri", (run / "artifacts").as_uri())
    data = read_mlflow_store(store)
    assert "summary.txt" in {a.path for a in data.runs[run.name].artifacts} and data.problems == []


# ---------------------------------------------------------------- FIFOs: skipped and named, never waited on


FIFOS = {
    "run meta.yaml": lambda s: run_folder(s, "lasso") / "meta.yaml",
    "experiment meta.yaml": lambda s: s / "0" / "meta.yaml",
    "param": lambda s: run_folder(s, "cnn") / "params" / "fifo",
    "tag": lambda s: run_folder(s, "cnn") / "tags" / "fifo",
    "metric": lambda s: run_folder(s, "cnn") / "metrics" / "fifo",
    "experiment tag": lambda s: s / "0" / "tags" / "fifo",
}


def plant_fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    return path


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        return subprocess.run([sys.executable, "-m", "reporter", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=LIVENESS, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`reporter {args[0]}` still running after {LIVENESS} s: it waits on a FIFO")


def named(rel: str, reason: str, stderr: str) -> bool:
    """A warning line about file `rel` (relative to the store) says `reason`."""
    return any(line.startswith(f"warning: {rel}: ") and reason in line for line in stderr.splitlines())


@pytest.mark.parametrize("where", FIFOS)
def test_a_fifo_in_the_store_is_skipped_and_named_by_build(store, tmp_path, where):
    fifo = plant_fifo(FIFOS[where](store))
    done = run_cli("build", str(store), "-o", str(tmp_path / "site"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert named(fifo.relative_to(store).as_posix(), "not a regular file", done.stderr)


def test_a_fifo_meta_yaml_does_not_stop_an_import(store, tmp_path):
    fifo = plant_fifo(run_folder(store, "ridge") / "meta.yaml")
    done = run_cli("import-mlflow", str(store), "-o", str(tmp_path / "runs"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert named(fifo.relative_to(store).as_posix(), "not a regular file", done.stderr)
    assert "Imported into" in done.stdout
