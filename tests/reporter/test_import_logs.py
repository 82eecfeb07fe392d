"""`reporter import`: any log the reader reads becomes flowsheet logs that read back as the same runs.

Round trips compare the tables users see (`logger.search.run_row` of every run) of the source and of
the import; a toy format registered here, with artifacts kept as bytes inside its files, stands for
the formats written elsewhere."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from logwriting import (
    artifact,
    end,
    metric,
    metrics,
    param,
    tag,
    write_artifact,
    write_experiment,
    write_plain,
    write_run,
)
from mlflow_fixture import FIXTURE
from roundtrip import NOW, read, snapshot, table

from logger.experiments import experiment_id_for
from logger.model import Artifact, Experiment, LogData, MetricHistory, Run
from logger.sources import Changes, Claim, Listing, Source, register, unregister

from reporter.cli import main
from reporter.importers.ids import derived_run_id
from reporter.importers.logs import LogImportError, import_logs

T = 1_700_000_000_000


# ---------------------------------------------------------------- a toy format, registered from here


class ToySource(Source):
    """`*.toy` files, one run each: a record a line, and `blob NAME LENGTH` followed by that many raw bytes
    (an artifact kept inside the log file, like an image in a TensorBoard event file)."""

    name = "toy"
    label = "toy logs"
    order = 60

    @classmethod
    def claim(cls, listing: Listing) -> Claim | None:
        found = [listing.path / name for name in sorted(listing.regular) if name.endswith(".toy")]
        return Claim(found) if found else None

    def refresh(self, now: float, units: list[Path]) -> Changes:
        data = LogData()
        for path in units:
            run, experiment = read_toy(path)
            if experiment is not None:
                data.experiments.setdefault(experiment.experiment_id, experiment)
            data.runs[run.run_id] = run
        self.data = data
        return Changes(experiments=set(data.experiments), runs=set(data.runs))


def read_toy(path: Path) -> tuple[Run, Experiment | None]:
    data = path.read_bytes()
    run = Run(run_id=path.stem, experiment_id="", name=path.stem, path=str(path), status="UNFINISHED", source="toy")
    experiment_name: str | None = "toys"
    position = 0
    while (stop := data.find(b"\n", position)) >= 0:
        kind, *rest = data[position:stop].decode().split(" ")
        position = stop + 1
        if kind == "id":
            run.run_id = rest[0]
        elif kind == "experiment":
            experiment_name = " ".join(rest)
        elif kind == "orphan":  # a run its source puts in no experiment
            experiment_name = None
        elif kind == "start":
            run.start_time = int(rest[0])
        elif kind == "parent":
            run.parent_run_id = rest[0]
        elif kind in ("param", "tag"):
            (run.params if kind == "param" else run.tags)[rest[0]] = " ".join(rest[1:])
        elif kind == "metric":
            key, step, value, t = rest
            run.metrics.setdefault(key, MetricHistory(key)).append(float(value), int(step), int(t))
        elif kind == "end":
            run.end_time, run.status = int(rest[0]), rest[1]
        elif kind == "blob":
            name, length = rest[0], int(rest[1])
            run.artifacts.append(Artifact(name, length, blob=(str(path), position, length)))
            position += length + 1
        elif kind == "elsewhere":  # an artifact's bytes in another file
            name, file, offset, length = rest
            run.artifacts.append(Artifact(name, int(length), blob=(file, int(offset), int(length))))
    times = [t for t in (run.start_time, run.end_time) if t is not None]
    run.last_time = max(times + [max(h.timestamps) for h in run.metrics.values()])
    if experiment_name is None:
        return run, None
    run.experiment_id = f"toy:{experiment_name}"
    experiment = Experiment(run.experiment_id, experiment_name, str(path.parent), tags={"made.by": "toy"},
                            notes=f"# {experiment_name}\nkept in toy files")
    return run, experiment


def write_toy(path: Path, run_id: str, *records: str, blobs: dict[str, bytes] | None = None) -> Path:
    data = b"".join(f"{record}\n".encode() for record in (f"id {run_id}", *records))
    for name, content in (blobs or {}).items():
        data += f"blob {name} {len(content)}\n".encode() + content + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\n\nend"  # newlines inside: only the length says where it ends


@pytest.fixture
def toy():
    register(ToySource)
    yield ToySource
    unregister(ToySource)


# ---------------------------------------------------------------- sources to import


def flowsheet_logs(root: Path) -> Path:
    houses = write_experiment(root, "houses", experiment_id_for("houses"), tags={"team": "pricing"}, t=T)
    (houses / "notes.md").write_text("# Houses\nprices, <b>bold</b>\n")
    parent = write_run(houses, "a" * 32, [param("C", 0.1, T + 1), param("model", "lasso", T + 1),
                                          tag("stage", "dev", T + 2), metric("loss", 0.5, 0, T + 3),
                                          metric("loss", "NaN", 1, T + 4), metric("loss", "Infinity", 2, T + 5),
                                          metric("loss", 0.25, 2, T + 6), artifact("plots/a.txt", 5, T + 7),
                                          end("FINISHED", T + 8)], name="parent", t=T)
    write_artifact(parent, "plots/a.txt", b"hello")
    write_run(houses, "b" * 32, [tag("mlflow.runName", "renamed", T + 11), metric("acc", 0.9, 5, T + 12),
                                 end("FAILED", T + 13)], name="child", parent_run_id="a" * 32, t=T + 10)
    write_run(houses, "c" * 32, [metric("acc", 0.1, 0, T + 21), metrics({"acc": 0.2, "loss": "NaN"}, 1, T + 22)],
              name="unfinished", t=T + 20)  # a version-2 `metrics` line (log_metrics) beside a `metric` line
    return root


def plain_logs(root: Path) -> Path:
    write_plain(root / "train.jsonl", [{"step": i, "loss": 1 / (i + 1), "timestamp": T / 1000 + i} for i in range(5)])
    write_plain(root / "sweeps" / "lr.jsonl", [{"epoch": 1, "acc": 0.5, "time": T + 50}])
    return root


def toy_logs(root: Path) -> Path:
    write_toy(root / "one.toy", "toy-1", "start 1700000000000", "param lr 0.01", "tag note hi",
              "metric loss 0 0.5 1700000000001", "metric loss 1 nan 1700000000002", "end 1700000000003 KILLED",
              blobs={"images/step1.png": PNG, "empty.bin": b""})
    write_toy(root / "deep" / "two.toy", "toy-2", "experiment other toys", "start 1700000001000",
              "parent toy-1", "metric loss 0 0.75 1700000001001")
    return root


def mlflow_store(root: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, root / "mlruns"))


SOURCES = {"flowsheet": flowsheet_logs, "plain": plain_logs, "toy": toy_logs, "mlflow": lambda r: mlflow_store(r).parent}


# ---------------------------------------------------------------- what users see


def run_file(out: Path, run_id: str) -> Path:
    [path] = out.glob(f"*/{run_id}/run.jsonl")
    return path


@pytest.mark.parametrize("kind", SOURCES)
def test_a_source_reads_back_as_the_same_runs_and_is_left_untouched(kind, tmp_path, toy):
    source = SOURCES[kind](tmp_path / "src")
    before = snapshot(source)
    result = import_logs(source, tmp_path / "out", now=NOW)
    assert snapshot(source) == before
    assert result.problems == [] and result.runs_renamed == 0
    expected, imported = read(source), read(tmp_path / "out")
    assert imported.problems == []
    assert table(imported) == table(expected)
    assert result.runs_created == len(expected.runs) and sum(result.runs_by_source.values()) == len(expected.runs)
    assert {e.name: (e.tags, e.notes) for e in imported.experiments.values()} == \
        {e.name: (e.tags, e.notes) for e in expected.experiments.values()}
    for run_id, run in expected.runs.items():
        got = imported.runs[run_id]
        assert got.source == "flowsheet" and got.name == run.name
        for key, history in run.metrics.items():
            assert list(got.metrics[key].timestamps) == list(history.timestamps)
            assert list(got.metrics[key].steps) == list(history.steps)
        assert sorted((a.path, a.size) for a in got.artifacts) == sorted((a.path, a.size) for a in run.artifacts)


def test_any_mix_of_formats_in_one_folder_is_imported_and_counted_by_format(tmp_path, toy):
    source = tmp_path / "src"
    for make in SOURCES.values():
        make(source)
    result = import_logs(source, tmp_path / "out", now=NOW)
    assert result.runs_by_source == {"flowsheet": 3, "plain JSONL": 2, "MLflow file store": 7, "toy logs": 2}
    assert table(read(tmp_path / "out")) == table(read(source))


def test_blob_artifacts_are_written_from_the_bytes_inside_the_log_file(tmp_path, toy):
    toy_logs(tmp_path / "src")
    result = import_logs(tmp_path / "src", tmp_path / "out", now=NOW)
    [artifacts] = {p.parent for p in (tmp_path / "out").rglob("artifacts/empty.bin")}
    assert (artifacts / "images" / "step1.png").read_bytes() == PNG and (artifacts / "empty.bin").read_bytes() == b""
    assert (result.artifacts_copied, result.artifacts_linked) == (2, 0)
    lines = [orjson.loads(line) for line in run_file(tmp_path / "out", "toy-1").read_bytes().splitlines()]
    assert {(e["path"], e["size"]) for e in lines if e["kind"] == "artifact"} == {("images/step1.png", len(PNG)),
                                                                                ("empty.bin", 0)}


def test_a_blob_cut_short_is_reported_and_nothing_half_written(tmp_path, toy):
    path = write_toy(tmp_path / "src" / "cut.toy", "cut", "start 1700000000000", blobs={"a.png": PNG})
    path.write_bytes(path.read_bytes()[:-20])  # the writer died inside the image
    result = import_logs(tmp_path / "src", tmp_path / "out", now=NOW)
    [problem] = result.problems
    assert problem.file == "cut.toy" and "'a.png' not imported" in problem.reason
    assert not list((tmp_path / "out").rglob("a.png")) and not list((tmp_path / "out").rglob(".*"))


def test_flowsheet_artifacts_are_hard_linked_and_plain_values_keep_their_types(tmp_path):
    flowsheet_logs(tmp_path / "src")
    import_logs(tmp_path / "src", tmp_path / "out", now=NOW)
    [copied] = (tmp_path / "out").rglob("plots/a.txt")
    [original] = (tmp_path / "src").rglob("plots/a.txt")
    assert copied.stat().st_ino == original.stat().st_ino
    assert read(tmp_path / "out").runs["a" * 32].params == {"C": 0.1, "model": "lasso"}
    values = [orjson.loads(line)["value"] for line in run_file(tmp_path / "out", "a" * 32).read_bytes().splitlines()
              if b'"loss"' in line]
    assert values == [0.5, "NaN", "Infinity", 0.25]  # strict JSON, as FORMAT.md says


# ---------------------------------------------------------------- append-only and idempotent


@pytest.mark.parametrize("kind", SOURCES)
def test_importing_twice_writes_nothing(kind, tmp_path, toy):
    source = SOURCES[kind](tmp_path / "src")
    import_logs(source, tmp_path / "out", now=NOW)
    before = snapshot(tmp_path / "out")
    again = import_logs(source, tmp_path / "out", now=NOW)
    assert snapshot(tmp_path / "out") == before
    assert (again.lines_written, again.runs_created, again.runs_updated, again.experiments_created) == (0, 0, 0, 0)
    assert again.runs_unchanged == len(read(source).runs) and again.artifacts_copied + again.artifacts_linked == 0


def appended(path: Path, before: bytes) -> list[dict]:
    after = path.read_bytes()
    assert after.startswith(before)  # append-only
    return [orjson.loads(line) for line in after[len(before):].splitlines()]


def test_a_grown_source_adds_only_its_new_lines(tmp_path, toy):
    source, out = tmp_path / "src", tmp_path / "out"
    flowsheet_logs(source)
    plain_logs(source)
    one = write_toy(source / "one.toy", "toy-1", "start 1700000000000", "metric loss 0 0.5 1700000000001")
    import_logs(source, out, now=NOW)
    files = {run_id: (path, path.read_bytes()) for run_id in ("c" * 32, "toy-1", *read(source).runs)
             for path in [run_file(out, run_id)]}

    write_run(source / experiment_id_for("houses"), "c" * 32, [metric("acc", 0.2, 1, T + 22), end("FINISHED", T + 23)])
    write_plain(source / "train.jsonl", [{"step": 5, "loss": 0.1, "timestamp": T / 1000 + 5}])
    with open(one, "a") as file:
        file.write("metric loss 0 0.5 1700000000001\nmetric loss 1 0.25 1700000000009\ntag late yes\n")
    result = import_logs(source, out, now=NOW)

    grown = {run_id: appended(*files[run_id]) for run_id in files}
    assert [(e["kind"], e.get("key")) for e in grown["c" * 32]] == [("metric", "acc"), ("end", None)]
    [plain] = [run_id for run_id in grown if run_id.startswith("plain-") and grown[run_id]]
    # a plain log records no end: it read as FINISHED (quiet for long), then went on; so it does in the import
    assert [(e["kind"], e.get("key"), e.get("step")) for e in grown[plain]] == [
        ("resume", None, None), ("metric", "loss", 5), ("end", None, None)]
    # the same point logged again is a point of its own (a multiset), as in the source
    assert [(e["kind"], e.get("key"), e.get("step")) for e in grown["toy-1"]] == [
        ("tag", "late", None), ("metric", "loss", 0), ("metric", "loss", 1)]
    assert sum(map(bool, grown.values())) == 3 == result.runs_updated
    assert table(read(out)) == table(read(source))


# ---------------------------------------------------------------- ids


def test_an_id_that_cannot_be_a_folder_gets_a_stable_new_one_and_its_children_follow(tmp_path, toy):
    source, out = tmp_path / "src", tmp_path / "out"
    write_toy(source / "bad.toy", "../escape", "start 1700000000000", "metric m 0 1 1700000000001")
    write_toy(source / "child.toy", "kid", "start 1700000000005", "parent ../escape")
    result = import_logs(source, out, now=NOW)
    new_id = derived_run_id("toy", "toys", "../escape")
    assert result.runs_renamed == 1 and result.problems == []
    imported = read(out)
    assert set(imported.runs) == {new_id, "kid"} and imported.runs["kid"].parent_run_id == new_id
    assert imported.runs[new_id].tags == {"flowsheet.source": "toy", "flowsheet.source_run_id": "../escape"}
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.name == "run.jsonl") == [
        f"out/{experiment_id_for('toys')}/{new_id}/run.jsonl", f"out/{experiment_id_for('toys')}/kid/run.jsonl"]
    before = snapshot(out)
    assert import_logs(source, out, now=NOW).lines_written == 0 and snapshot(out) == before


def test_an_id_another_run_of_the_target_holds_gets_a_new_one(tmp_path, toy):
    source, out = tmp_path / "src", tmp_path / "out"
    native = write_run(write_experiment(out, "elsewhere", experiment_id_for("elsewhere")), "shared",
                       [metric("x", 1.0, 0, T)], name="native")
    native_bytes = (native / "run.jsonl").read_bytes()
    write_toy(source / "a.toy", "shared", "start 1700000000000", "metric loss 0 0.5 1700000000001")
    first = import_logs(source, out, now=NOW)
    second = import_logs(source, out, now=NOW)
    new_id = derived_run_id("toy", "toys", "shared")
    assert (first.runs_renamed, first.runs_created, second.runs_renamed, second.lines_written) == (1, 1, 1, 0)
    assert (native / "run.jsonl").read_bytes() == native_bytes
    imported = read(out)
    assert imported.problems == [] and imported.runs["shared"].name == "native"
    assert imported.runs[new_id].tags["flowsheet.source_run_id"] == "shared"
    assert list(imported.runs[new_id].metrics["loss"].values) == [0.5]


def test_a_run_already_where_its_experiment_maps_is_the_same_run(tmp_path):
    """An earlier copy of the logs (rsync) in the target: the import adds to it, under the same id."""
    source, out = flowsheet_logs(tmp_path / "src"), tmp_path / "out"
    shutil.copytree(source, out)
    write_run(source / experiment_id_for("houses"), "c" * 32, [metric("acc", 0.3, 2, T + 30)])
    result = import_logs(source, out, now=NOW)
    assert (result.runs_renamed, result.runs_updated, result.lines_written) == (0, 1, 1)


def test_ids_that_name_an_experiments_own_files_are_not_taken(tmp_path, toy):
    write_toy(tmp_path / "src" / "a.toy", "notes.md", "start 1700000000000", "metric m 0 1 1700000000001")
    write_toy(tmp_path / "src" / "b.toy", "experiment.jsonl", "start 1700000000000")
    result = import_logs(tmp_path / "src", tmp_path / "out", now=NOW)
    assert result.runs_renamed == 2 and result.problems == []
    imported = read(tmp_path / "out")
    assert imported.problems == [] and len(imported.runs) == 2
    assert {run.tags["flowsheet.source_run_id"] for run in imported.runs.values()} == {"notes.md", "experiment.jsonl"}


def test_a_run_in_no_experiment_goes_to_the_default_one(tmp_path, toy):
    write_toy(tmp_path / "src" / "a.toy", "lonely", "orphan", "start 1700000000000")
    import_logs(tmp_path / "src", tmp_path / "out", now=NOW)
    imported = read(tmp_path / "out")
    assert imported.experiments[imported.runs["lonely"].experiment_id].name == "Default"


# ---------------------------------------------------------------- what is refused or reported


def test_nothing_is_written_through_a_folder_of_the_log_dir_that_links_out(tmp_path, toy):
    toy_logs(tmp_path / "src")
    elsewhere, out = tmp_path / "elsewhere", tmp_path / "out"
    elsewhere.mkdir()
    out.mkdir()
    (out / experiment_id_for("toys")).symlink_to(elsewhere)
    result = import_logs(tmp_path / "src", out, now=NOW)
    assert list(elsewhere.iterdir()) == []
    assert any(p.file.endswith(experiment_id_for("toys")) and "links out" in p.reason for p in result.problems)
    assert set(read(out).runs) == {"toy-2"}  # the other experiment is imported


def test_artifact_bytes_are_read_only_inside_the_source(tmp_path, toy):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"SECRET")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "link.bin").symlink_to(secret)
    inside = write_toy(tmp_path / "src" / "data.bin", "unused", "start 1")  # not a .toy: only bytes
    write_toy(tmp_path / "src" / "a.toy", "r1", "start 1700000000000", f"elsewhere out.bin {secret} 0 6",
              f"elsewhere linked.bin {tmp_path / 'src' / 'link.bin'} 0 6", f"elsewhere in.bin {inside} 0 9")
    result = import_logs(tmp_path / "src", tmp_path / "out", now=NOW)
    assert sorted(p.reason.split(":")[0] for p in result.problems) == [
        "artifact 'linked.bin' not imported", "artifact 'out.bin' not imported"]
    assert [p.read_bytes() for p in (tmp_path / "out").rglob("*.bin")] == [b"id unused"]
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file() and b"SECRET" in p.read_bytes()]



def test_values_flowsheet_cannot_hold_are_reported_not_imported(tmp_path, toy):
    write_toy(tmp_path / "src" / "a.toy", "r1", "start 1700000000000", f"tag {'k' * 300} v", f"param big {'x' * 7000}",
              "param fine 1", "metric loss 0 0.5 1700000000001")
    result = import_logs(tmp_path / "src", tmp_path / "out", now=NOW)
    assert sorted(p.file for p in result.problems) == ["a.toy", "a.toy"]
    assert any("250" in p.reason for p in result.problems) and any("6000" in p.reason for p in result.problems)
    imported = read(tmp_path / "out")
    assert imported.problems == [] and imported.runs["r1"].params == {"fine": "1"}
    assert list(imported.runs["r1"].metrics["loss"].values) == [0.5]


def test_notes_already_in_the_target_are_kept_and_a_difference_reported(tmp_path):
    source, out = flowsheet_logs(tmp_path / "src"), tmp_path / "out"
    (out / experiment_id_for("houses")).mkdir(parents=True)
    (out / experiment_id_for("houses") / "notes.md").write_text("mine")
    result = import_logs(source, out, now=NOW)
    assert [p.reason for p in result.problems] == ["notes.md differs from the one in the log directory, which is kept"]
    assert (out / experiment_id_for("houses") / "notes.md").read_text() == "mine"


@pytest.mark.parametrize("out, message", [
    ("src/out", "the log directory must not be inside the source"),
    ("src", "the log directory must not be inside the source"),
    (".", "the source must not be inside the log directory"),
])
def test_overlapping_source_and_log_dir_are_refused(tmp_path, monkeypatch, out, message):
    flowsheet_logs(tmp_path / "src")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    result = CliRunner().invoke(main, ["import", "src", "-o", out])
    assert result.exit_code == 2 and message in result.output and result.output.count("\n") == 1
    assert snapshot(tmp_path) == before and not (tmp_path / "src" / "out").exists()


def test_a_file_inside_the_log_dir_is_refused(tmp_path):
    write_plain(tmp_path / "runs" / "a.jsonl", [{"loss": 1}])
    with pytest.raises(LogImportError, match="must not be inside the log directory"):
        import_logs(tmp_path / "runs" / "a.jsonl", tmp_path / "runs")


def test_nothing_to_read_is_an_error_that_creates_nothing(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "notes.txt").write_text("not a log")
    for source, message in (("src", "no logs in a format flowsheet reads"), ("missing", "no such file or directory")):
        result = CliRunner().invoke(main, ["import", str(tmp_path / source), "-o", str(tmp_path / "out")])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- the command


def test_cli_imports_one_file_and_says_what_it_read(tmp_path):
    plain_logs(tmp_path / "src")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["import", str(tmp_path / "src" / "train.jsonl"), "-o", str(out), "--copy"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Read 1 run(s): 1 plain JSONL",
        f"Imported into {out}: 1 experiment(s) (1 new), 1 run(s): 1 new, 0 updated, 0 unchanged; 8 line(s) written; "
        "artifacts: 0 linked, 0 copied, 0 unchanged; 0 problem(s)"]
    [run] = read(out).runs.values()
    assert run.name == "train" and len(run.metrics["loss"]) == 5  # sweeps/lr.jsonl beside it is not read


def test_cli_warns_and_names_renamed_runs(tmp_path, toy):
    write_toy(tmp_path / "src" / "a.toy", ".hidden", "start 1700000000000", f"tag {'k' * 300} v")
    result = CliRunner().invoke(main, ["import", str(tmp_path / "src"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "warning: a.toy: not imported: tag key" in result.output
    assert "Read 1 run(s): 1 toy logs" in result.output and "1 run(s) (1 under a new id): 1 new" in result.output


def test_reporter_help_lists_import_beside_import_mlflow():
    result = CliRunner().invoke(main, ["--help"])
    commands = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()]
    assert {"import", "import-mlflow"} <= set(commands)
    assert "SOURCE" in CliRunner().invoke(main, ["import", "--help"]).output
