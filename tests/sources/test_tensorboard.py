"""TensorBoard event files: what tensorboardX writes reads back as runs, metrics, params, images and text;
torn, damaged and growing files are read as far as they are whole, and never written to.

The fixture tree (tests/fixtures/tensorboard/, made by tests/fixtures/make_tensorboard.py with the real
tensorboardX) is copied for every test that changes files; odd and damaged records are made by hand
(tests/tfevents_writing.py).
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from io import BytesIO
from pathlib import Path

import pytest
from hardening.knobs import settings
from hypothesis import given
from hypothesis import strategies as st
from tfevents_writing import (
    bytes_field,
    double_field,
    event,
    record,
    record_offsets,
    records,
    scalar_event,
    scalar_value,
    varint_field,
    write_events,
)

import logger.sources.tensorboard as tensorboard_source
from logger.protowire import crc32c, masked_crc
from logger.reader import LogReader, read_logs
from logger.sources.units import run_id_for
from logger.tfevents import EventFileContent

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tensorboard" / "logs"
T0_MS = 1_700_000_000_000  # the fixture's fixed wall times start here
LATER = 4_000_000_000.0  # "now" long after every fixture event: runs without a recorded end are FINISHED
EVENT_FILE = "events.out.tfevents.1700000000.host"


def runs_by_path(data, root: Path) -> dict:
    return {Path(run.path).relative_to(root).as_posix(): run for run in data.runs.values()}


def event_file(folder: Path) -> Path:
    (found,) = sorted(folder.glob("events.out.tfevents.*"))
    return found


@pytest.fixture
def logs(tmp_path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "logs"))


def read(root: Path, now: float = LATER) -> tuple[LogReader, dict]:
    reader = LogReader(root)
    reader.refresh(now)
    return reader, runs_by_path(reader.data, root)


# ---------------------------------------------------------------- what tensorboardX wrote


def test_each_folder_of_event_files_is_a_run_and_their_parent_folder_the_experiment():
    reader, runs = read(FIXTURE)
    assert sorted(runs) == ["resumed", "sweep", "sweep/trial-0", "sweep/trial-1", "sweep/trial-2", "tf2", "train",
                            "train/lr/group_a", "train/lr/group_b", "validation"]
    experiments = {experiment.experiment_id: experiment.name for experiment in reader.data.experiments.values()}
    assert {experiments[run.experiment_id] for path, run in runs.items() if path.count("/") == 0} == {"logs"}
    assert experiments[runs["train/lr/group_a"].experiment_id] == "lr"
    assert experiments[runs["sweep/trial-0"].experiment_id] == "sweep"
    assert {run.source for run in runs.values()} == {"tensorboard"}
    assert runs["train"].run_id == run_id_for("tensorboard", "train")
    assert reader.runs_by_source() == {"TensorBoard": 10}
    assert reader.data.problems == []


def test_scalars_are_metrics_by_tag_with_step_and_wall_time_in_ms():
    _, runs = read(FIXTURE)
    loss = runs["train"].metrics["loss"]
    assert list(loss.steps) == list(range(20))
    assert list(loss.values) == pytest.approx([1.0 / (step + 1) for step in range(20)], rel=1e-6)  # float32
    assert list(loss.timestamps) == [T0_MS + step * 1000 for step in range(20)]
    validation = runs["validation"].metrics["accuracy"]
    assert list(validation.steps) == [0, 5, 10, 15]
    assert list(validation.timestamps) == [T0_MS + step * 1000 + 500 for step in (0, 5, 10, 15)]
    assert list(runs["train/lr/group_b"].metrics["lr"].values) == pytest.approx([0.01])


def test_add_hparams_folder_is_folded_into_its_run():
    _, runs = read(FIXTURE)
    train = runs["train"]
    assert train.params == {"lr": 0.1, "batch_size": 32, "optimizer": "adam", "augment": True}
    assert list(train.metrics["hparam/accuracy"].values) == pytest.approx([0.95])
    assert list(train.metrics["hparam/accuracy"].steps) == [19]
    assert not any(path.startswith("train/1") for path in runs)  # the time-named sub-folder is not a run
    # tensorboardX writes "success" when add_hparams is called: the run's end is still told by time
    assert train.status == "FINISHED"
    _, soon = read(FIXTURE, now=train.last_time / 1000 + 1)
    assert soon["train"].status == "RUNNING"


def test_several_hparams_sessions_under_one_writer_are_runs_of_their_own():
    _, runs = read(FIXTURE)
    assert [runs[f"sweep/trial-{trial}"].params["lr"] for trial in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    assert [runs[f"sweep/trial-{trial}"].status for trial in range(3)] == ["FINISHED"] * 3
    assert list(runs["sweep/trial-2"].metrics["hparam/loss"].values) == pytest.approx([0.6])
    assert runs["sweep"].params == {}


def test_tf2_tensors_text_and_hparams_session_end():
    _, runs = read(FIXTURE)
    tf2 = runs["tf2"]
    assert list(tf2.metrics["epoch_loss"].values) == [2.0, 1.75, 1.5, 1.25, 1.0]
    assert list(tf2.metrics["epoch_loss"].steps) == [0, 1, 2, 3, 4]
    assert tf2.params == {"dropout": 0.25, "units": 64, "layers": "[2]"}
    assert tf2.tags == {"text/summary": "tf2 says <b>hi</b>"}  # kept as data
    assert tf2.status == "FAILED"  # the session end says so, whatever the time
    assert tf2.end_time == T0_MS + 9000
    _, soon = read(FIXTURE, now=tf2.last_time / 1000 + 1)
    assert soon["tf2"].status == "FAILED"


def test_text_summaries_are_tags_holding_the_last_text():
    _, runs = read(FIXTURE)
    assert runs["train"].tags == {"text/notes/text_summary": "learning rate **halved** at step 10"}


def test_images_are_artifacts_whose_bytes_stay_in_the_event_file():
    from PIL import Image

    _, runs = read(FIXTURE)
    train = runs["train"]
    assert train.artifacts_dir is None
    (image,) = train.artifacts
    assert image.path == "images/samples/digit/step-5.png"
    file, offset, length = image.blob
    assert Path(file) == event_file(FIXTURE / "train") and length == image.size
    with open(file, "rb") as handle:
        handle.seek(offset)
        png = handle.read(length)
    assert Image.open(BytesIO(png)).size == (4, 4)


def test_a_resumed_run_merges_its_event_files_in_name_order():
    _, runs = read(FIXTURE)
    loss = runs["resumed"].metrics["loss"]
    assert list(loss.steps) == list(range(10))
    assert list(loss.values) == [10.0 - step for step in range(10)]


def test_naming_one_event_file_reads_that_file_alone(logs):
    first, second = sorted((logs / "resumed").glob("events.out.tfevents.*"))
    data = read_logs(first)
    (run,) = data.runs.values()
    assert list(run.metrics["loss"].steps) == [0, 1, 2, 3, 4]
    assert run.name == "resumed"
    assert list(read_logs(second).runs.values())[0].metrics["loss"].steps.tolist() == [5, 6, 7, 8, 9]


def test_event_files_lying_in_the_log_directory_are_a_run_of_its_own_experiment(tmp_path):
    write_events(tmp_path / EVENT_FILE, [scalar_event("loss", 0.5, step=1)])
    reader, runs = read(tmp_path)
    assert list(runs) == ["."]
    (experiment,) = reader.data.experiments.values()
    assert runs["."].experiment_id == experiment.experiment_id and experiment.name == tmp_path.name


# ---------------------------------------------------------------- never written


def snapshot(root: Path) -> dict:
    return {path: (path.stat().st_mtime_ns, path.is_dir() or hashlib.sha256(path.read_bytes()).hexdigest())
            for path in sorted(root.rglob("*"))}


def test_the_files_are_never_written(logs):
    before = snapshot(logs)
    reader = LogReader(logs)
    reader.refresh(LATER)
    with open(event_file(logs / "validation"), "ab") as file:
        file.write(record(scalar_event("loss", 0.1, step=20)))
    after_append = snapshot(logs)
    reader.refresh(LATER)
    assert snapshot(logs) == after_append
    assert set(after_append) == set(before)


# ---------------------------------------------------------------- torn and damaged files


def test_a_record_cut_anywhere_reads_every_record_before_it(tmp_path):
    data = event_file(FIXTURE / "validation").read_bytes()
    last = record_offsets(data)[-1]
    folder = tmp_path / "validation"
    folder.mkdir()
    whole = runs_by_path(read_logs(FIXTURE), FIXTURE)["validation"].metrics["accuracy"]
    for cut in range(last, len(data)):
        (folder / EVENT_FILE).write_bytes(data[:cut])
        found = read_logs(tmp_path)
        assert found.problems == [], cut
        (run,) = found.runs.values()
        assert list(run.metrics["accuracy"].values) == list(whole.values)[:-1], cut


def test_cuts_across_a_whole_file_never_raise_nor_report(tmp_path):
    data = event_file(FIXTURE / "train").read_bytes()
    folder = tmp_path / "train"
    folder.mkdir()
    seen = 0
    for cut in range(0, len(data), 7):
        (folder / EVENT_FILE).write_bytes(data[:cut])
        found = read_logs(tmp_path)
        assert found.problems == [], cut
        points = sum(len(history) for run in found.runs.values() for history in run.metrics.values())
        assert points >= seen
        seen = points


def two_runs(tmp_path: Path, damaged: bytes) -> dict:
    """A run whose event file is `damaged`, beside a good run: the good one always reads."""
    write_events(tmp_path / "good" / EVENT_FILE, [scalar_event("loss", 1.0, step=1)])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / EVENT_FILE).write_bytes(damaged)
    data = read_logs(tmp_path)
    assert list(runs_by_path(data, tmp_path)["good"].metrics["loss"].values) == [1.0]
    return {"runs": runs_by_path(data, tmp_path), "problems": [str(problem) for problem in data.problems]}


def test_garbage_is_a_problem_not_a_crash(tmp_path):
    garbage = bytes((index * 73 + 41) % 256 for index in range(5000))
    found = two_runs(tmp_path, garbage)
    assert found["problems"] == [f"bad/{EVENT_FILE}: record at byte 0: damaged length (checksum mismatch); "
                                 "reading stopped"]


def test_a_huge_length_with_a_right_checksum_allocates_nothing(tmp_path, monkeypatch):
    header = (1 << 40).to_bytes(8, "little")
    damaged = records([scalar_event("loss", 2.0, step=1)]) + header + masked_crc(header).to_bytes(4, "little") + b"x" * 50
    sizes: list[tuple[int, int]] = []
    counting_reads(monkeypatch, sizes)
    found = two_runs(tmp_path, damaged)
    assert list(found["runs"]["bad"].metrics["loss"].values) == [2.0]
    assert len(found["problems"]) == 1 and "over" in found["problems"][0]
    assert max(asked for asked, _ in sizes) < 1 << 10  # what is there, not what the length says


def test_a_length_past_the_end_of_the_file_waits_for_the_rest_and_reads_no_further(tmp_path, monkeypatch):
    header = (100 << 20).to_bytes(8, "little")  # under the largest record read, far over the file
    damaged = records([scalar_event("loss", 2.0, step=1)]) + header + masked_crc(header).to_bytes(4, "little") + b"x"
    sizes: list[tuple[int, int]] = []
    counting_reads(monkeypatch, sizes)
    found = two_runs(tmp_path, damaged)
    assert found["problems"] == []
    assert list(found["runs"]["bad"].metrics["loss"].values) == [2.0]
    assert max(asked for asked, _ in sizes) < 1 << 10  # what is there, not what the length says


def test_a_damaged_length_stops_the_file_after_the_good_records(tmp_path):
    good = records([scalar_event("loss", float(step), step=step) for step in range(3)])
    bad = bytearray(record(scalar_event("loss", 9.0, step=9)))
    bad[0] ^= 0x01
    found = two_runs(tmp_path, good + bytes(bad) + records([scalar_event("loss", 10.0, step=10)]))
    assert list(found["runs"]["bad"].metrics["loss"].values) == [0.0, 1.0, 2.0]
    assert found["problems"] == [f"bad/{EVENT_FILE}: record at byte {len(good)}: damaged length (checksum mismatch);"
                                 " reading stopped"]


def test_damaged_data_that_does_not_decode_stops_the_file(tmp_path):
    good = records([scalar_event("loss", 1.5, step=1)])
    found = two_runs(tmp_path, good + record(b"\x0a\xff\xff\xff", data_crc=1) + records([scalar_event("loss", 4.0)]))
    assert list(found["runs"]["bad"].metrics["loss"].values) == [1.5]
    assert found["problems"] == [f"bad/{EVENT_FILE}: record at byte {len(good)}: damaged data (checksum mismatch);"
                                 " reading stopped"]


def test_a_whole_record_that_is_no_event_is_skipped_and_reading_goes_on(tmp_path):
    good = records([scalar_event("loss", 1.5, step=1)])
    found = two_runs(tmp_path, good + record(b"\x0a\xff\xff\xff") + records([scalar_event("loss", 4.0, step=2)]))
    assert list(found["runs"]["bad"].metrics["loss"].values) == [1.5, 4.0]
    assert len(found["problems"]) == 1 and "not a readable Event" in found["problems"][0]


def test_a_damaged_data_checksum_on_a_record_that_decodes_is_not_checked(tmp_path):
    """Documented: data checksums are verified only for records that do not decode (speed)."""
    found = two_runs(tmp_path, record(scalar_event("loss", 7.0, step=1), data_crc=12345))
    assert list(found["runs"]["bad"].metrics["loss"].values) == [7.0]
    assert found["problems"] == []


def test_an_empty_event_file_is_a_run_without_points(tmp_path):
    found = two_runs(tmp_path, b"")
    assert found["runs"]["bad"].metrics == {} and found["problems"] == []


def test_crc32c_is_castagnoli():
    assert crc32c(b"123456789") == 0xE3069283


# ---------------------------------------------------------------- files being written


def counting_reads(monkeypatch, sizes: list[tuple[int, int]]) -> None:
    """Record every read the source makes from an event file: (bytes asked for, bytes got)."""
    real_open = tensorboard_source.open_inside

    class Counting:
        def __init__(self, file):
            self.file = file

        def read(self, size=-1):
            data = self.file.read(size)
            sizes.append((size, len(data)))
            return data

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    monkeypatch.setattr(tensorboard_source, "open_inside", lambda *args: Counting(real_open(*args)))


def test_a_growing_file_is_read_from_where_the_last_whole_record_ended(logs, monkeypatch):
    path = event_file(logs / "train")
    data = path.read_bytes()
    cut = record_offsets(data)[30] + 5  # inside a record
    path.write_bytes(data[:cut])
    reader = LogReader(logs)
    reader.refresh(LATER)
    before = runs_by_path(reader.data, logs)
    partial = len(before["train"].metrics["loss"]) + len(before["train"].metrics["accuracy"])
    assert 0 < partial < 40
    sizes: list[tuple[int, int]] = []
    counting_reads(monkeypatch, sizes)
    with open(path, "ab") as file:
        file.write(data[cut:])
    changes = reader.refresh(LATER)
    after = runs_by_path(reader.data, logs)
    assert list(after["train"].metrics["loss"].steps) == list(range(20))
    assert len(after["train"].artifacts) == 1
    # only the bytes after the last whole record (and a few before it, to notice a rewrite) were read
    assert sum(got for _, got in sizes) <= len(data) - record_offsets(data)[30] + tensorboard_source.TAIL
    assert changes.runs == {after["train"].run_id}
    assert after["validation"] is before["validation"]  # untouched runs are the very same objects


def test_nothing_is_read_when_nothing_changed(logs, monkeypatch):
    reader = LogReader(logs)
    reader.refresh(LATER)
    sizes: list[tuple[int, int]] = []
    counting_reads(monkeypatch, sizes)
    assert not reader.refresh(LATER)
    assert sizes == []


def test_a_file_replaced_or_shrunk_is_read_again(logs):
    path = event_file(logs / "validation")
    reader = LogReader(logs)
    reader.refresh(LATER)
    replacement = path.with_name("replacement")
    write_events(replacement, [scalar_event("loss", 0.5, step=100)])
    os.replace(replacement, path)  # another inode
    reader.refresh(LATER)
    assert list(runs_by_path(reader.data, logs)["validation"].metrics["loss"].steps) == [100]
    path.write_bytes(path.read_bytes()[:20])  # shrunk, same inode
    reader.refresh(LATER)
    assert runs_by_path(reader.data, logs)["validation"].metrics == {}


def test_a_file_rewritten_in_place_to_the_same_size_and_more_is_read_again(tmp_path):
    path = write_events(tmp_path / "run" / EVENT_FILE, [scalar_event("loss", 1.0, step=1)])
    reader = LogReader(tmp_path)
    reader.refresh(LATER)
    with open(path, "r+b") as file:  # same inode, same bytes before the offset but the last few
        file.write(records([event(), scalar_event("loss", 2.0, step=1), scalar_event("loss", 3.0, step=2)]))
    reader.refresh(LATER)
    assert list(runs_by_path(reader.data, tmp_path)["run"].metrics["loss"].values) == [2.0, 3.0]


def test_a_new_event_file_in_a_run_joins_it(tmp_path):
    write_events(tmp_path / "run" / "events.out.tfevents.1.host", [scalar_event("loss", 1.0, step=1)])
    reader = LogReader(tmp_path)
    reader.refresh(LATER)
    write_events(tmp_path / "run" / "events.out.tfevents.2.host", [scalar_event("loss", 2.0, step=2)])
    changes = reader.refresh(LATER)
    (run,) = reader.data.runs.values()
    assert list(run.metrics["loss"].steps) == [1, 2] and changes.runs == {run.run_id}


# ---------------------------------------------------------------- odd but valid


def test_odd_but_valid_events(tmp_path):
    long_tag = "t" * 300  # lengths of two-byte varints
    path = write_events(tmp_path / "run" / EVENT_FILE, [
        scalar_event("neg", 1.0, step=-5),
        scalar_event("big", 2.0, step=1 << 40),
        *(scalar_event("steps", 2.5, step=step) for step in (127, 128, 16_383, 16_384, 2_097_151, 2_097_152)),
        event(wall=None, step=3, values=[scalar_value("no_wall", 3.0)]),
        bytes_field(5, bytes_field(1, scalar_value("reversed", 4.0))) + varint_field(2, 7) + double_field(1, 1.7e9 + 1),
        event(values=[scalar_value(long_tag, 5.0)]),
        event(values=[scalar_value("nan", math.nan), scalar_value("inf", math.inf)], step=1),
        event(wall=math.nan, step=2, values=[scalar_value("nan_wall", 6.0)]),
        event(step=4, values=[scalar_value("unknown", 7.0)], extra=bytes_field(99, b"future field")),
        event(step=5, values=[scalar_value("<script>alert(1)</script>", 8.0)]),
    ])
    data = read_logs(path.parent.parent)
    assert data.problems == []
    (run,) = data.runs.values()
    metrics = run.metrics
    assert list(metrics["neg"].steps) == [-5]
    assert list(metrics["big"].steps) == [1 << 40]
    assert list(metrics["steps"].steps) == [127, 128, 16_383, 16_384, 2_097_151, 2_097_152]  # 1 to 4 varint bytes
    assert list(metrics["no_wall"].timestamps) == [0]
    assert list(metrics["reversed"].steps) == [7] and list(metrics["reversed"].timestamps) == [1_700_000_001_000]
    assert list(metrics[long_tag].values) == [5.0]
    assert math.isnan(metrics["nan"].values[0]) and metrics["inf"].values[0] == math.inf
    assert list(metrics["nan_wall"].values) == [6.0] and list(metrics["nan_wall"].timestamps) == [0]
    assert list(metrics["unknown"].values) == [7.0]
    assert list(metrics["<script>alert(1)</script>"].values) == [8.0]
    assert run.start_time == 1_700_000_000_000 and run.last_time == 1_700_000_001_000


def test_an_image_tag_never_leads_out_of_the_artifact_path(tmp_path):
    image = bytes_field(4, b"\x89PNG\r\n\x1a\n" + b"rest")  # Summary.Image: encoded_image_string=4
    value = bytes_field(1, "../../etc/\x00passwd") + bytes_field(4, image)
    write_events(tmp_path / "run" / EVENT_FILE, [event(step=2, values=[value])])
    (run,) = read_logs(tmp_path).runs.values()
    assert [artifact.path for artifact in run.artifacts] == ["images/etc/_passwd/step-2.png"]


# ---------------------------------------------------------------- anything at all


_GOOD = records([scalar_event("loss", 1.0, step=1), scalar_event("loss", 2.0, step=2)])


@settings()
@given(st.binary(max_size=300), st.sampled_from([0, 1, 11, 12, 20, len(_GOOD) - 1, len(_GOOD)]))
def test_any_bytes_after_good_records_never_raise(tail: bytes, cut: int):
    content = EventFileContent("events.out.tfevents.x")
    buf = _GOOD[:cut] + tail
    used = content.feed(buf, 0)
    assert 0 <= used <= len(buf)
    assert content.need >= 12
    if cut == len(_GOOD):  # the good records whole: read whatever follows (unchecked data may decode)
        assert content.metrics["loss"].values.tolist()[:2] == [1.0, 2.0]


def _real_payloads() -> list[bytes]:
    real = event_file(FIXTURE / "tf2").read_bytes() + event_file(FIXTURE / "train").read_bytes()
    offsets = record_offsets(real)
    return [real[offset + 12:next_offset - 4] for offset, next_offset in zip(offsets, offsets[1:])]


def _flipped(payload: bytes, where: int, byte: int) -> bytes:
    """`payload` with one byte replaced: a real event, slightly wrong."""
    if not payload:
        return payload
    where %= len(payload)
    return payload[:where] + bytes([byte]) + payload[where + 1:]


@settings()
@given(st.one_of(st.binary(max_size=200),
                 st.tuples(st.sampled_from(_real_payloads()), st.integers(min_value=0), st.integers(0, 255))
                 .map(lambda flip: _flipped(*flip))))
def test_any_payload_in_a_whole_record_is_read_or_skipped_never_raised(payload: bytes):
    content = EventFileContent("events.out.tfevents.x")
    buf = record(payload) + record(scalar_event("after", 1.0))
    assert content.feed(buf, 0) == len(buf) and content.stopped is None
    assert content.metrics["after"].values.tolist() == [1.0]
