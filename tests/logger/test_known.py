"""Runs known from an earlier read (`LogReader.export` -> `LogReader(known=...)`): what `reporter build` keeps
in its cache so that a second build reads only the run files that changed (logger/sources/known.py)."""

from __future__ import annotations

import copy
import math
import os
import random
from array import array

import orjson
import pytest

from logger.model import MetricHistory, SummaryHistory
from logger.reader import LogReader
from logger.sources.known import summary_points
from tests.logwriting import T0, append, end, metric, param, tag, write_experiment, write_run
from tests.opened_files import opened_files

A, B, C = "a" * 32, "b" * 32, "c" * 32
NOW = (T0 + 60_000) / 1000


@pytest.fixture
def logs(tmp_path):
    exp = write_experiment(tmp_path, "houses")
    write_run(exp, A, [param("alpha", 0.1), metric("loss", 0.9, 0), metric("loss", "NaN", 1),
                       metric("loss", 0.2, 2), metric("loss", 0.4, 3), metric("acc", 0.7, 0), tag("stage", "dev"),
                       end("FINISHED")], name="lasso")
    write_run(exp, B, [param("alpha", 0.5), metric("loss", 0.8, 0), metric("loss", 0.6, 1), b"not json",
                       end("FAILED")], name="ridge")
    write_run(exp, C, [metric("loss", 1.0, 0)], name="still-going")  # no end line
    return tmp_path


def run_file(logs, run_id):
    return next(logs.glob(f"*/{run_id}/run.jsonl"))


def exported(logs, now=NOW) -> dict:
    reader = LogReader(logs)
    reader.refresh(now)
    return orjson.loads(orjson.dumps(reader.export()))  # as the build cache stores it


def facts(data) -> dict:
    """What a runs table shows of each run, and the reader's problems."""
    return {"runs": {run_id: (run.name, run.status, run.experiment_id, run.params, run.tags, run.start_time,
                              run.end_time, run.last_time, {k: (h.latest, len(h) > 1) for k, h in run.metrics.items()})
                     for run_id, run in data.runs.items()},
            "problems": [str(p) for p in data.problems]}


def same_facts(one, other) -> bool:
    return repr(facts(one)) == repr(facts(other))  # repr: NaN equals NaN


def run_files_opened(opened: list[str]) -> list[str]:
    return sorted(path.rsplit("/", 2)[-2] for path in opened if path.endswith("run.jsonl"))


def test_a_reader_started_from_known_runs_reads_no_unchanged_run_file(logs):
    known = exported(logs)
    with opened_files() as opened:
        reader = LogReader(logs, known=known)
        reader.refresh(NOW)
    assert run_files_opened(opened) == []
    assert same_facts(reader.data, _fresh(logs))
    histories = reader.data.runs[A].metrics
    assert isinstance(histories["loss"], SummaryHistory) and histories["loss"].count == 4


def _fresh(logs):
    reader = LogReader(logs)
    reader.refresh(NOW)
    return reader.data


def test_an_appended_line_reads_that_file_again_whole(logs):
    known = exported(logs)
    append(run_file(logs, B), metric("loss", 0.3, 2))
    with opened_files() as opened:
        reader = LogReader(logs, known=known)
        reader.refresh(NOW)
    assert set(run_files_opened(opened)) == {B}
    assert list(reader.data.runs[B].metrics["loss"].values) == [0.8, 0.6, 0.3]  # every point, not a summary
    assert type(reader.data.runs[B].metrics["loss"]) is MetricHistory
    assert same_facts(reader.data, _fresh(logs))


def test_a_file_replaced_by_another_of_the_same_size_is_read(logs):
    known = exported(logs)
    path = run_file(logs, A)
    before = path.stat()
    other = path.with_name("new.tmp")
    other.write_bytes(path.read_bytes().replace(b'"value":0.7', b'"value":0.1'))
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(other, path)  # another inode; the same size and time
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    reader = LogReader(logs, known=known)
    reader.refresh(NOW)
    assert reader.data.runs[A].metrics["acc"].latest == 0.1


def test_a_known_run_without_end_follows_the_clock(logs):
    known = exported(logs)
    reader = LogReader(logs, known=known)
    reader.refresh(NOW)
    assert reader.data.runs[C].status == "RUNNING"
    later = LogReader(logs, known=known)
    later.refresh(NOW + 3600)  # an hour without a line
    assert later.data.runs[C].status == "UNFINISHED"


def test_forget_reads_a_known_run_whole_at_the_next_refresh(logs):
    reader = LogReader(logs, known=exported(logs))
    reader.refresh(NOW)
    reader.forget({reader.data.runs[A].path})
    reader.refresh(NOW)
    assert list(reader.data.runs[A].metrics["loss"].steps) == [0, 1, 2, 3]
    assert isinstance(reader.data.runs[B].metrics["loss"], SummaryHistory)


def test_a_known_run_that_gets_a_segment_is_merged_from_its_files(logs):
    known = exported(logs)
    segment = run_file(logs, A).with_name("run@host-1-abcdef.jsonl")
    segment.write_bytes(orjson.dumps({"v": 1, "kind": "metric", "t": T0 + 50_000, "key": "loss", "value": 0.05,
                                      "step": 9}) + b"\n")
    reader = LogReader(logs, known=known)
    reader.refresh(NOW)
    assert reader.data.runs[A].metrics["loss"].latest == 0.05
    assert len(reader.data.runs[A].metrics["loss"]) == 5


def test_export_leaves_out_a_run_whose_last_line_is_being_written(logs):
    run_file(logs, C).open("ab").write(b'{"v": 1, "kind": "metric"')  # no newline yet
    known = exported(logs)
    assert {rel.split("/")[1] for rel in known["flowsheet"]} == {A, B}


def _damaged(entry: dict, rng: random.Random) -> dict:
    """One of the ways a cache entry can be edited, damaged, or written by something else."""
    broken = copy.deepcopy(entry)
    choice = rng.randrange(10)
    if choice == 0:
        del broken[rng.choice(sorted(broken))]
    elif choice == 1:
        broken["fields"]["path"] = "/elsewhere/" + broken["fields"]["run_id"]
    elif choice == 2:
        broken["fields"]["params"] = ["not", "a", "dict"]
    elif choice == 3:
        key = next(iter(broken["metrics"]), None)
        if key:
            broken["metrics"][key]["values"] = ["Infinityish"] * len(broken["metrics"][key]["values"])
    elif choice == 4:
        key = next(iter(broken["metrics"]), None)
        if key:
            broken["metrics"][key]["steps"] = [2 ** 70] * len(broken["metrics"][key]["steps"])
    elif choice == 5:
        broken["problems"] = [["x"]]
    elif choice == 6:
        broken["fields"]["extra"] = 1
    elif choice == 7:
        broken["file"] = ["size", 1, 2, 3]
    elif choice == 8:
        broken["metrics"] = {"loss": {"count": "many"}}
    else:
        broken["end_status"] = 7
    return broken


def test_damaged_or_foreign_entries_are_read_from_the_logs(logs):
    """Entries that do not check out stand for nothing: their files are read, the reader never fails."""
    known = exported(logs)
    fresh = _fresh(logs)
    rng = random.Random(20261129)
    entries = known["flowsheet"]
    for _ in range(60):
        broken = {rel: _damaged(entry, rng) for rel, entry in entries.items()}
        broken["../outside/" + A + "/run.jsonl"] = entries[next(iter(entries))]  # names no file of this folder
        reader = LogReader(logs, known={"flowsheet": broken, "other": {"x": 1}})
        reader.refresh(NOW)
        assert same_facts(reader.data, fresh)
    for nonsense in ({"flowsheet": []}, {"flowsheet": {"x": None}}, {"flowsheet": {A: "text"}}):
        reader = LogReader(logs, known=nonsense)  # type: ignore[arg-type]
        reader.refresh(NOW)
        assert same_facts(reader.data, fresh)


@pytest.mark.parametrize("seed", range(5))
def test_a_summary_keeps_the_latest_the_extremes_and_whether_there_is_a_curve(seed):
    rng = random.Random(seed)
    specials = [math.nan, math.inf, -math.inf]
    for _ in range(200):
        count = rng.randrange(1, 12)
        steps = array("q", (rng.randrange(-3, 4) for _ in range(count)))
        stamps = array("q", (T0 + rng.randrange(0, 3) for _ in range(count)))
        values = array("d", (rng.choice(specials) if rng.random() < 0.2 else rng.uniform(-5, 5)
                             for _ in range(count)))
        full = MetricHistory("k", steps, values, stamps)
        picked = summary_points(full)
        summary = MetricHistory("k", array("q", (steps[i] for i in picked)), array("d", (values[i] for i in picked)),
                                array("q", (stamps[i] for i in picked)))
        assert picked == sorted(picked) and len(picked) <= 4
        assert repr(summary.latest) == repr(full.latest)
        finite = [v for v in values if math.isfinite(v)]
        kept = [v for v in summary.values if math.isfinite(v)]
        assert (min(kept, default=None), max(kept, default=None)) == (min(finite, default=None),
                                                                     max(finite, default=None))
        assert (len(summary) > 1) == (count > 1)
