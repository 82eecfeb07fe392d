"""Lightning CSVLogger version folders (logger/sources/lightning.py), read from the hand-written fixture
tests/fixtures/lightning (made by tests/fixtures/make_lightning.py) and from files these tests write."""

from __future__ import annotations

import csv
import math
import os
import shutil
from pathlib import Path

import pytest

import logger.sources.lightning as lightning
from logger.foreign import MAX_JSON_TEXT, MAX_LEAVES, MAX_VISITS
from logger.logtree import list_folder
from logger.reader import LogReader, read_logs
from logger.sources.lightning import LightningSource
from logger.sources.units import run_id_for

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "lightning"
T0 = 1_700_000_000_000  # ms


def _copy(tmp_path: Path, *names: str) -> Path:
    root = tmp_path / "logs"
    for name in names or [entry.name for entry in FIXTURE.iterdir()]:
        shutil.copytree(FIXTURE / name, root / name)
    for index, path in enumerate(sorted(root.rglob("*"), key=lambda p: p.as_posix())):
        if path.is_file():
            os.utime(path, ns=((T0 + index * 1000) * 1_000_000,) * 2)
    return root


def _run(reader: LogReader, rel: str):
    return reader.data.runs[run_id_for("lightning", rel)]


def _csv_points(path: Path) -> dict[str, list[tuple[int, float]]]:
    """The CSV read the plain way: every non-empty cell but step, at its row's step."""
    points: dict[str, list[tuple[int, float]]] = {}
    with path.open(newline="") as file:
        for row in csv.DictReader(file):
            for key, cell in row.items():
                if key != "step" and cell != "":
                    points.setdefault(key, []).append((int(row["step"]), float(cell)))
    return points


def _points(run) -> dict[str, list[tuple[int, float]]]:
    return {key: list(zip(history.steps, history.values)) for key, history in run.metrics.items()}


def _no_nan(points: dict) -> dict:
    return {key: [(step, "nan" if math.isnan(value) else value) for step, value in values]
            for key, values in points.items()}


def _recording_opens(monkeypatch) -> list[str]:
    opened: list[str] = []
    real = lightning.open_inside

    def recording(path, *args, **kwargs):
        opened.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(lightning, "open_inside", recording)
    return opened


# ---------------------------------------------------------------- the fixture


def test_every_csv_version_folder_is_one_run_and_a_tensorboard_version_is_not(tmp_path):
    root = _copy(tmp_path)
    reader = LogReader(root)
    reader.refresh(now=T0 / 1000)
    found = {run.path: (run.name, reader.data.experiments[run.experiment_id].name) for run in reader.data.runs.values()
             if run.source == "lightning"}
    assert found == {
        str(root / "logs/lightning_logs/version_0"): ("lightning_logs/version_0", "lightning_logs"),
        str(root / "logs/lightning_logs/version_1"): ("lightning_logs/version_1", "lightning_logs"),
        str(root / "logs/mnist/baseline"): ("mnist/baseline", "mnist"),
        str(root / "fabric/lightning_logs/version_0"): ("lightning_logs/version_0", "lightning_logs"),
    }
    assert reader.runs_by_source() == {"Lightning CSVLogger": 4, "TensorBoard": 1}  # TensorBoardLogger's version
    assert reader.data.problems == []


def test_a_tensorboard_loggers_version_folder_is_left_to_another_source(tmp_path):
    board = _copy(tmp_path, "tb_logs") / "tb_logs" / "my_model" / "version_0"
    assert {path.name.split(".")[0] for path in board.iterdir()} == {"events", "hparams"}
    assert LightningSource.claim(list_folder(board)) is None
    [run] = read_logs(board.parent.parent).runs.values()
    assert run.source == "tensorboard" and run.path == str(board)


def test_metrics_are_every_column_but_step_and_empty_cells_are_skipped(tmp_path):
    root = _copy(tmp_path, "logs")
    folder = root / "logs" / "lightning_logs" / "version_0"
    reader = LogReader(root)
    reader.refresh(now=T0 / 1000)
    run = _run(reader, "logs/lightning_logs/version_0")
    assert _no_nan(_points(run)) == _no_nan(_csv_points(folder / "metrics.csv"))
    assert list(run.metrics["val_acc"].steps) == [3, 7, 11]  # the rows of the training steps have no val_acc
    assert list(run.metrics["epoch"].values) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert math.isnan(run.metrics["train_loss"].values[2])
    written = folder.joinpath("metrics.csv").stat().st_mtime_ns // 1_000_000
    assert set(run.metrics["train_loss"].timestamps) == {written} and run.last_time == written
    assert run.start_time == min(written, folder.joinpath("hparams.yaml").stat().st_mtime_ns // 1_000_000)
    assert run.status == "RUNNING" and run.end_time is None  # the CSV records no end: written just now
    reader.refresh(now=T0 / 1000 + 3600)
    assert _run(reader, "logs/lightning_logs/version_0").status == "FINISHED"  # silent for an hour


def test_hparams_become_params_nested_keys_joined_and_lists_as_json(tmp_path):
    reader = LogReader(_copy(tmp_path, "logs"))
    reader.refresh()
    pyyaml, omegaconf = _run(reader, "logs/lightning_logs/version_0"), _run(reader, "logs/lightning_logs/version_1")
    assert pyyaml.params == {"batch_size": 32, "betas": "[0.9,0.999]", "lr": 0.001, "optimizer": "adam",
                             "scheduler": None, "use_amp": False, "model.dropout": 0.1, "model.hidden": "[64,32]"}
    assert omegaconf.params == {"lr": 0.0005, "max_epochs": 2, "data.root": "/data/mnist", "data.num_workers": 4}
    assert _run(reader, "logs/mnist/baseline").params == {}


def test_the_log_directory_may_be_one_version_folder(tmp_path):
    folder = _copy(tmp_path, "logs") / "logs" / "lightning_logs" / "version_1"
    data = read_logs(folder)
    [run] = data.runs.values()
    assert run.name == "lightning_logs/version_1" and data.experiments[run.experiment_id].path == str(folder)
    assert set(run.metrics) == {"epoch", "lr-Adam", "train_loss_epoch", "train_loss_step", "val_acc", "val_loss"}


# ---------------------------------------------------------------- what is claimed


def _folder(root: Path, name: str, files: dict[str, str | bytes]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for file, content in files.items():
        (folder / file).write_bytes(content.encode() if isinstance(content, str) else content)
    return folder


def test_a_metrics_csv_is_claimed_by_its_step_column_or_a_version_folder_with_hparams(tmp_path):
    root = tmp_path / "logs"
    claimed = [_folder(root, "any_name", {"metrics.csv": "acc,step\n0.5,1\n"}),
               _folder(root, "exp/version_3", {"metrics.csv": "", "hparams.yaml": "lr: 0.1\n"})]
    left = [_folder(root, "sales", {"metrics.csv": "region,revenue\nnorth,5\n"}),
            _folder(root, "exp/version_4", {"metrics.csv": "acc,epoch\n0.5,1\n"}),
            _folder(root, "exp/version_5", {"hparams.yaml": "lr: 0.1\n"}),
            _folder(root, "exp/version_6", {"metrics.csv": "acc,step"})]  # no whole header yet
    for folder in claimed:
        assert LightningSource.claim(list_folder(folder)) is not None
    for folder in left:
        assert LightningSource.claim(list_folder(folder)) is None
    data = read_logs(root)
    assert {run.path for run in data.runs.values()} == {str(folder) for folder in claimed}
    assert data.problems == []


def test_checkpoints_inside_a_version_folder_are_the_runs_and_never_walked(tmp_path, monkeypatch):
    root = _copy(tmp_path, "logs")
    folder = root / "logs" / "lightning_logs" / "version_0"
    _folder(folder, "checkpoints", {"epoch=2-step=12.ckpt": b"PK\x03\x04 weights", "notes.jsonl": '{"loss": 1}\n'})
    opened = _recording_opens(monkeypatch)
    reader = LogReader(root)
    reader.refresh()
    inside = str(folder / "checkpoints")
    assert len(reader.data.runs) == 3 and not [path for path in opened if path.startswith(inside)]
    assert not [entry for entry in LightningSource(root, 600).stamp(folder) if entry[0].startswith(inside)]
    opened.clear()
    (folder / "checkpoints" / "epoch=2-step=12.ckpt").write_bytes(b"PK\x03\x04 other weights")
    assert reader.refresh().runs == set() and opened == []


# ---------------------------------------------------------------- being written


HEADER = "epoch,step,train_loss,val_acc,val_loss\r\n"


def _version(tmp_path: Path, metrics: str | bytes, hparams: str | bytes | None = "lr: 0.1\n") -> tuple[Path, Path]:
    """A log directory with one version folder (and the fixture's `mnist` runs beside it)."""
    root = tmp_path / "logs"
    files = {"metrics.csv": metrics} if hparams is None else {"metrics.csv": metrics, "hparams.yaml": hparams}
    folder = _folder(root, "exp/version_0", files)
    shutil.copytree(FIXTURE / "logs" / "mnist", root / "mnist")
    return root, folder


def test_a_torn_last_row_waits_and_appended_rows_are_read_alone(tmp_path, monkeypatch):
    rows = [HEADER, "0,1,0.9,,\r\n", "0,3,0.8,,\r\n", "0,3,,0.5,0.95\r\n", "1,5,0.7,,\r\n"]
    root, folder = _version(tmp_path, "".join(rows[:3]) + rows[3][:6])  # cut inside the fourth line
    opened = _recording_opens(monkeypatch)
    reader = LogReader(root)
    reader.refresh()
    run = _run(reader, "exp/version_0")
    assert _points(run) == {"epoch": [(1, 0.0), (3, 0.0)], "train_loss": [(1, 0.9), (3, 0.8)]}
    assert reader.data.problems == []
    beside = _run(reader, "mnist/baseline")

    opened.clear()
    assert reader.refresh().runs == set() and opened == []  # nothing changed: nothing opened

    with (folder / "metrics.csv").open("a", newline="") as file:
        file.write(rows[3][6:] + rows[4])
    changes = reader.refresh()
    assert changes.runs == {run_id_for("lightning", "exp/version_0")}
    assert opened == [str(folder / "hparams.yaml"), str(folder / "metrics.csv")]
    assert _points(_run(reader, "exp/version_0"))["val_loss"] == [(3, 0.95)]
    assert list(_run(reader, "exp/version_0").metrics["train_loss"].steps) == [1, 3, 5]
    assert _run(reader, "mnist/baseline") is beside  # untouched: the same object, not read again


def test_a_file_written_again_under_a_wider_header_is_read_again(tmp_path):
    root, folder = _version(tmp_path, "epoch,step,train_loss\r\n0,1,0.9\r\n")
    reader = LogReader(root)
    reader.refresh()
    assert set(_run(reader, "exp/version_0").metrics) == {"epoch", "train_loss"}
    # Lightning met a new name: it writes the old rows again under the new header, then appends.
    (folder / "metrics.csv").write_text(HEADER + "0,1,0.9,,\r\n0,1,,0.5,0.95\r\n", newline="")
    reader.refresh()
    assert _points(_run(reader, "exp/version_0")) == {
        "epoch": [(1, 0.0), (1, 0.0)], "train_loss": [(1, 0.9)], "val_acc": [(1, 0.5)], "val_loss": [(1, 0.95)]}


def test_a_header_repeated_further_down_starts_new_columns(tmp_path):
    root, _ = _version(tmp_path, "step,a\n1,0.5\nb,step\n0.25,2\n")
    data = read_logs(root)
    assert _points(data.runs[run_id_for("lightning", "exp/version_0")]) == {"a": [(1, 0.5)], "b": [(2, 0.25)]}
    assert data.problems == []


# ---------------------------------------------------------------- corrupt and odd content


def _problems(data, name: str) -> list[tuple[int | None, str]]:
    return [(problem.line, problem.reason) for problem in data.problems if problem.file == f"exp/version_0/{name}"]


def test_bad_cells_and_rows_are_problems_with_their_line_and_the_rest_is_read(tmp_path):
    rows = [HEADER, "0,1,abc,,\r\n", "0,x,0.8,,\r\n", "0,,0.8,,\r\n", "0,2.5,0.8,,\r\n", "0,4,0.7,,,9\r\n",
            "0,5.0,True,0.5,\r\n", "\r\n", "1,6, 0.6 ,1e-3,inf\r\n"]
    root, _ = _version(tmp_path, "".join(rows))
    data = read_logs(root)
    run = data.runs[run_id_for("lightning", "exp/version_0")]
    assert _points(run) == {"epoch": [(1, 0.0), (4, 0.0), (5, 0.0), (6, 1.0)], "train_loss": [(4, 0.7), (6, 0.6)],
                            "val_acc": [(5, 0.5), (6, 0.001)], "val_loss": [(6, math.inf)]}
    assert _problems(data, "metrics.csv") == [
        (2, "'train_loss': 'abc' is not a number; left out"),
        (3, "'step' must be an integer, got 'x'; row skipped"),
        (4, "'step' must be an integer, got ''; row skipped"),
        (5, "'step' must be an integer, got '2.5'; row skipped"),
        (6, "6 cells under 5 columns; the extra cells are left out"),
        (7, "'train_loss': 'True' is not a number; left out"),
    ]


@pytest.mark.parametrize("metrics", [bytes(range(256)) * 8, b"\x00\x00\x00\n\x00", b"\xff\xfe\xfd\n1,2\n"])
def test_a_garbage_metrics_file_in_a_version_folder_is_a_problem_and_the_hparams_are_read(tmp_path, metrics):
    root, _ = _version(tmp_path, metrics)
    data = read_logs(root)
    run = data.runs[run_id_for("lightning", "exp/version_0")]
    assert run.metrics == {} and run.params == {"lr": 0.1}
    assert _problems(data, "metrics.csv") == [(1, "the header has no 'step' column; the file is not read")]
    assert len(data.runs) == 2  # the runs beside it are read


def test_overlong_lines_and_fields_are_problems_and_line_numbers_still_count(tmp_path):
    rows = ["step,a\n", "1,0.5\n", "2," + "9" * (2 << 20) + "\n", '3,"' + "8" * 200_000 + '"\n', "4,0.25\n"]
    root, _ = _version(tmp_path, "".join(rows))
    data = read_logs(root)
    assert _points(data.runs[run_id_for("lightning", "exp/version_0")]) == {"a": [(1, 0.5), (4, 0.25)]}
    [(long_line, long_reason), (field_line, field_reason)] = _problems(data, "metrics.csv")
    assert (long_line, long_reason) == (3, "line longer than 1 MiB; skipped")
    assert field_line == 4 and field_reason.startswith("not a CSV row (field larger than field limit")


@pytest.mark.parametrize("hparams, problem", [
    ("lr: [0.1, 0.2\nbatch: 3\n", (2, "not readable YAML (while parsing a flow sequence expected ',' or ']', but got ':')")),
    ("- lr\n- 0.1\n", (None, "not a mapping of names to values (a list)")),
    ("just text\n", (None, "not a mapping of names to values (a str)")),
    (bytes(range(256)), (None, "not readable YAML (invalid start byte at position 128)")),
    ("a: \x07\n", (None, "not readable YAML (special characters are not allowed at position 3)")),
    ("a: 1\na: 2\n? [1, 2]\n: 3\n", (3, "not readable YAML (while constructing a mapping found unhashable key)")),
    ("t: 2001-02-30\n", (None, "not readable YAML (ValueError: day is out of range for month)")),
])
def test_a_bad_hparams_file_is_a_problem_and_the_metrics_are_read(tmp_path, hparams, problem):
    root, _ = _version(tmp_path, "step,a\n1,0.5\n", hparams)
    data = read_logs(root)
    run = data.runs[run_id_for("lightning", "exp/version_0")]
    assert run.params == {} and _points(run) == {"a": [(1, 0.5)]}
    assert _problems(data, "hparams.yaml") == [problem]


def test_python_tags_in_hparams_are_read_as_plain_data_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    hparams = (f"cmd: !!python/object/apply:os.system ['touch {marker}']\n"
               "ns: !!python/object:argparse.Namespace {lr: 0.1}\n"
               "fn: !!python/name:os.getcwd ''\n"
               "mine: !custom {a: 1}\n")
    root, _ = _version(tmp_path, "step,a\n1,0.5\n", hparams)
    data = read_logs(root)
    assert not marker.exists()
    assert data.runs[run_id_for("lightning", "exp/version_0")].params == {
        "cmd": f'["touch {marker}"]', "fn": "", "ns.lr": 0.1, "mine.a": 1}
    assert data.problems == []


def test_hparams_that_expand_enormously_are_cut_short(tmp_path):
    lists = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    maps = ["m0: &m0 {" + ", ".join(f"k{i}: {i}" for i in range(10)) + "}"]
    for level in range(1, 9):
        lists.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
        maps.append(f"m{level}: &m{level} {{" + ", ".join(f"k{i}: *m{level - 1}" for i in range(10)) + "}")
    root, _ = _version(tmp_path, "step,a\n1,0.5\n", "\n".join(lists + maps) + "\n")
    data = read_logs(root)  # unbounded, this would not end (10**9 list items, 10**9 params)
    params = data.runs[run_id_for("lightning", "exp/version_0")].params
    assert params["l0"] == '["x","x","x","x","x","x","x","x","x","x"]' and "l3" not in params
    assert len(params) == MAX_LEAVES
    reasons = [reason for _, reason in _problems(data, "hparams.yaml")]
    assert reasons == [f"'l{level}' is longer than 6000 characters: left out" for level in range(3, 9)] + \
        [f"more than {MAX_LEAVES} values: the rest left out"]


def test_lists_too_long_to_keep_repeated_by_aliases_are_written_out_a_bounded_number_of_times(tmp_path):
    big = "l: &l [" + ", ".join(["xxxxxxxxxx"] * 600) + "]"  # 7,000 characters as JSON text: left out
    maps = ["m0: &m0 {" + ", ".join(f"k{i}: *l" for i in range(10)) + "}"]
    for level in range(1, 6):
        maps.append(f"m{level}: &m{level} {{" + ", ".join(f"k{i}: *m{level - 1}" for i in range(10)) + "}")
    root, _ = _version(tmp_path, "step,a\n1,0.5\n", "\n".join([big, *maps, "lr: 0.1"]) + "\n")
    data = read_logs(root)  # 40,000 lists of 7,000 characters, if each were written out to its limit
    assert data.runs[run_id_for("lightning", "exp/version_0")].params == {}
    assert _problems(data, "hparams.yaml")[-1] == \
        (None, f"more than {MAX_JSON_TEXT} characters of lists as JSON text: the rest left out")


def test_a_mapping_that_holds_itself_is_named_and_the_rest_is_read(tmp_path):
    root, _ = _version(tmp_path, "step,a\n1,0.5\n", "me: &me {lr: 0.1, again: *me}\nbatch: 8\n")
    data = read_logs(root)
    assert data.runs[run_id_for("lightning", "exp/version_0")].params == {"me.lr": 0.1, "batch": 8}
    assert _problems(data, "hparams.yaml") == [(None, "'me.again' holds itself: left out")]


def test_an_oversized_hparams_file_is_not_read(tmp_path):
    root, _ = _version(tmp_path, "step,a\n1,0.5\n", "a: " + "x" * (5 << 20) + "\n")
    data = read_logs(root)
    assert _problems(data, "hparams.yaml") == [(None, "larger than 4 MiB; not read")]


def test_html_and_control_characters_are_kept_as_data(tmp_path):
    odd = "<script>alert('x')</script>\x1b[31m\u202e"
    hparams = f'title: "{odd}\\0"\n"{odd}": {{"<b>": 1}}\n'.replace("\x1b", "\\e").replace("\u202e", "\\u202e")
    metrics = f'step,"{odd}",<img src=x>\n1,0.5,1\n'
    root, _ = _version(tmp_path, metrics, hparams)
    data = read_logs(root)
    run = data.runs[run_id_for("lightning", "exp/version_0")]
    assert run.params == {"title": odd + "\x00", f"{odd}.<b>": 1}
    assert _points(run) == {odd: [(1, 0.5)], "<img src=x>": [(1, 1.0)]}
    assert data.problems == []


def test_mappings_repeated_by_aliases_are_walked_a_bounded_number_of_times(tmp_path):
    levels = ["e0: &e0 {}"] + [f"e{level}: &e{level} {{" + ", ".join(f"k{i}: *e{level - 1}" for i in range(10)) + "}"
                               for level in range(1, 10)]
    root, _ = _version(tmp_path, "step,a\n1,0.5\n", "\n".join(levels) + "\n")
    data = read_logs(root)  # 10**9 empty mappings, if every one were visited
    assert data.runs[run_id_for("lightning", "exp/version_0")].params == {}
    assert _problems(data, "hparams.yaml") == [(None, f"more than {MAX_VISITS} entries: the rest left out")]
