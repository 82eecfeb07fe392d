"""The `metrics` line (format version 2): log_metrics and batches write one line a call, the reader reads it."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from hardening.knobs import settings
from hypothesis import given
from hypothesis import strategies as st
from logwriting import append, end, metric, metrics, param, write_experiment, write_run
from ondisk import events_of

import logger
from logger.client import MlflowClient
from logger.entities import Metric
from logger.exceptions import InvalidParameterValue
from logger.parsing import RunParser, parse_file
from logger.reader import read_logs
from logger.run import Run

RUN_ID = "c" * 32


def points(run) -> dict:
    """{key: [(step, value, time), ...]} of a run as the reader read it (NaN as the string "nan")."""
    return {key: [(s, "nan" if v != v else v, t) for s, v, t in zip(h.steps, h.values, h.timestamps)]
            for key, h in run.metrics.items()}


def only_run(log_dir):
    data = read_logs(log_dir)
    [run] = data.runs.values()
    return run, data.problems


def test_log_metrics_writes_one_short_line_per_call_and_reads_back(log_dir):
    with logger.start_run() as run:
        logger.log_metrics({"loss": 0.5, "acc": 0.25}, step=3, timestamp=1_700_000_000_000)
        logger.log_metrics({"loss": 0.4}, step=4, timestamp=1_700_000_000_001)
    lines = [e for e in events_of(log_dir, run.info.run_id) if e["kind"] in ("metric", "metrics")]
    assert lines == [{"v": 2, "kind": "metrics", "t": 1_700_000_000_000, "s": 3, "m": {"loss": 0.5, "acc": 0.25}},
                     {"v": 2, "kind": "metrics", "t": 1_700_000_000_001, "s": 4, "m": {"loss": 0.4}}]
    read, problems = only_run(log_dir)
    assert problems == []
    assert points(read) == {"loss": [(3, 0.5, 1_700_000_000_000), (4, 0.4, 1_700_000_000_001)],
                            "acc": [(3, 0.25, 1_700_000_000_000)]}
    assert read.latest_metrics() == {"loss": 0.4, "acc": 0.25}


def test_nan_and_infinities_travel_as_the_format_strings(log_dir):
    with logger.start_run() as run:
        logger.log_metrics({"a": float("nan"), "b": math.inf, "c": -math.inf, "d": np.float64("nan"), "e": 7},
                           step=1)
    [line] = [e for e in events_of(log_dir, run.info.run_id) if e["kind"] == "metrics"]  # strict JSON
    assert line["m"] == {"a": "NaN", "b": "Infinity", "c": "-Infinity", "d": "NaN", "e": 7}
    read, problems = only_run(log_dir)
    assert problems == []
    values = {key: h.values[0] for key, h in read.metrics.items()}
    assert math.isnan(values["a"]) and math.isnan(values["d"])
    assert values["b"] == math.inf and values["c"] == -math.inf and values["e"] == 7.0


def test_a_bad_value_in_a_call_writes_nothing_of_it(log_dir):
    with logger.start_run() as run:
        with pytest.raises(TypeError):
            logger.log_metrics({"good": 1.0, "bad": "text"})
        with pytest.raises(InvalidParameterValue):
            logger.log_metrics({"good": 1.0, "": 2.0})
    assert [e["kind"] for e in events_of(log_dir, run.info.run_id)] == ["start", "end"]


def test_old_and_new_lines_mix_in_one_file(tmp_path):
    exp = write_experiment(tmp_path, "mixed")
    write_run(exp, RUN_ID, [param("lr", 0.1, t=9), metric("loss", 0.9, 0, t=10), metrics({"loss": 0.8, "acc": 0.1}, 1, t=11),
                            metric("acc", 0.2, 2, t=12), metrics({"loss": "NaN"}, 3, t=13), end(t=14)])
    read, problems = only_run(tmp_path)
    assert problems == []
    assert points(read) == {"loss": [(0, 0.9, 10), (1, 0.8, 11), (3, "nan", 13)], "acc": [(1, 0.1, 11), (2, 0.2, 12)]}
    assert read.params == {"lr": 0.1} and read.status == "FINISHED" and read.last_time == 14


def test_bad_points_are_one_problem_naming_the_line_and_the_good_points_are_read(tmp_path):
    exp = write_experiment(tmp_path, "bad")
    folder = write_run(exp, RUN_ID, [metrics({"loss": 1.0}, 0, t=10)])
    append(folder / "run.jsonl",
           metrics({"loss": 0.5, "": 1.0, "text": "abc", "null": None, "list": [1], "ok": "-Infinity",
                    "a\u0001b": 2.0}, 1, t=11),
           metrics({"loss": 0.25}, 2, t=12))
    read, problems = only_run(tmp_path)
    assert points(read) == {"loss": [(0, 1.0, 10), (1, 0.5, 11), (2, 0.25, 12)], "ok": [(1, -math.inf, 11)]}
    assert [(p.line, p.reason.split(":")[0]) for p in problems] == [(3, "5 point(s) of the line skipped, the others read")]
    assert "empty key" in problems[0].reason and "(and 4 more)" in problems[0].reason
    assert all(len(h.steps) == len(h.values) == len(h.timestamps) for h in read.metrics.values())


@pytest.mark.parametrize(("line", "reason"), [
    (b'{"v":2,"kind":"metrics","t":5,"m":{"a":1}}', "missing field 's'"),
    (b'{"v":2,"kind":"metrics","s":1,"m":{"a":1}}', "missing field 't'"),
    (b'{"v":2,"kind":"metrics","t":5,"s":1}', "missing field 'm'"),
    (b'{"v":2,"kind":"metrics","t":5,"s":1.5,"m":{"a":1}}', "'s' must be an integer"),
    (b'{"v":2,"kind":"metrics","t":"5","s":1,"m":{"a":1}}', "'t' must be an integer"),
    (b'{"v":2,"kind":"metrics","t":5,"s":1,"m":[1,2]}', "'m' must be an object"),
    (b'{"v":2,"kind":"metrics","t":5,"s":9223372036854775808,"m":{"a":1}}', "out of range"),
])
def test_a_line_with_a_bad_step_time_or_map_is_skipped_whole(tmp_path, line, reason):
    exp = write_experiment(tmp_path, "bad")
    write_run(exp, RUN_ID, [line, metrics({"b": 2.0}, 1, t=20)])
    read, problems = only_run(tmp_path)
    assert [p.line for p in problems] == [2] and reason in problems[0].reason
    assert points(read) == {"b": [(1, 2.0, 20)]}


def test_a_run_without_a_start_line_starts_at_its_earliest_point(tmp_path):
    exp = write_experiment(tmp_path, "nostart")
    write_run(exp, RUN_ID, [metrics({"a": 1.0}, 0, t=50), metrics({"a": 2.0}, 1, t=40)], with_start=False)
    read, _ = only_run(tmp_path)
    assert read.start_time == 40


def test_a_line_of_a_later_version_is_skipped_and_reported_as_an_old_reader_skips_metrics_lines(tmp_path):
    """What a version-1 reader (main before version 2) does with a `metrics` line is what this reader does with
    a kind it does not know: `v` is not looked at, the line is one problem, every other line is read."""
    exp = write_experiment(tmp_path, "future")
    write_run(exp, RUN_ID, [metric("loss", 1.0, 0, t=10), {"v": 3, "kind": "sparkline", "t": 11, "s": 1, "m": {}},
                            {"v": 3, "kind": "metric", "t": 12, "key": "loss", "value": 0.5, "step": 1, "new": 1},
                            end(t=13)])
    read, problems = only_run(tmp_path)
    assert [(p.line, p.reason) for p in problems] == [(3, "unknown kind 'sparkline'")]
    assert points(read) == {"loss": [(0, 1.0, 10), (1, 0.5, 12)]} and read.status == "FINISHED"


def test_resuming_a_run_written_in_the_compact_form(log_dir):
    with logger.start_run() as first:
        logger.log_param("lr", 0.1)
        logger.log_metrics({"loss": 1.0, "acc": 0.5}, step=0)
    with logger.start_run(run_id=first.info.run_id):
        with pytest.raises(InvalidParameterValue):
            logger.log_param("lr", 0.2)  # the replay read the compact file: params stay immutable
        logger.log_metrics({"loss": 0.5}, step=1)
    read, problems = only_run(log_dir)
    assert problems == [] and read.status == "FINISHED"
    assert [(s, v) for s, v, _ in points(read)["loss"]] == [(0, 1.0), (1, 0.5)]


def test_mlflow_client_log_batch_groups_points_of_one_step_and_time(log_dir):
    client = MlflowClient()
    run = client.create_run(client.create_experiment("batch"))
    batch = [Metric("a", 1.0, 100, 0), Metric("b", 2.0, 100, 0), Metric("a", 3.0, 100, 0),  # `a` twice: a new line
             Metric("a", 4.0, 101, 1), Metric("c", float("nan"), 101, 1)]
    client.log_batch(run.info.run_id, metrics=batch)
    client.set_terminated(run.info.run_id)
    lines = [(e["t"], e["s"], e["m"]) for e in events_of(log_dir, run.info.run_id, "metrics")]
    assert lines == [(100, 0, {"a": 1.0, "b": 2.0}), (100, 0, {"a": 3.0}), (101, 1, {"a": 4.0, "c": "NaN"})]
    read, _ = only_run(log_dir)
    assert [(s, v) for s, v, _ in points(read)["a"]] == [(0, 1.0), (0, 3.0), (1, 4.0)]


def test_log_batch_checks_every_point_before_writing_any(log_dir):
    client = MlflowClient()
    run = client.create_run(client.create_experiment("checked"))
    with pytest.raises(TypeError):
        client.log_batch(run.info.run_id, metrics=[Metric("a", 1.0, 1, 0), Metric("b", "x", 2, 1)])
    assert events_of(log_dir, run.info.run_id, "metrics") == []


def test_the_reader_reads_what_was_logged_in_any_order_of_resumed_feeds(tmp_path):
    """Fed in two pieces (a live refresh), the compact lines give the same run as fed at once."""
    exp = write_experiment(tmp_path, "pieces")
    folder = write_run(exp, RUN_ID, [metrics({"a": 1.0, "b": 2.0}, s, t=10 + s) for s in range(5)])
    data = (folder / "run.jsonl").read_bytes()
    whole = parse_file(RunParser("run.jsonl", folder), data)
    pieces = RunParser("run.jsonl", folder)
    lines = data.split(b"\n")
    pieces.feed(lines[:3])
    pieces.feed(lines[3:])
    assert points(pieces.run) == points(whole.run) and pieces.run.start_time == whole.run.start_time


finite = st.floats(allow_nan=False, allow_infinity=False)
values = st.one_of(finite, st.integers(-(2 ** 53), 2 ** 53), st.sampled_from([math.nan, math.inf, -math.inf]))
keys = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, blacklist_categories=("Cs",)),
               min_size=1, max_size=12).filter(lambda k: not any(0x7F <= ord(c) <= 0x9F for c in k))
calls = st.lists(st.tuples(st.dictionaries(keys, values, min_size=1, max_size=6), st.integers(0, 2 ** 40)),
                 min_size=1, max_size=8)


@settings(examples=40)
@given(calls=calls)
def test_batches_read_back_equal_to_what_was_logged(tmp_path_factory, calls):
    folder = tmp_path_factory.mktemp("prop") / "prop"
    expected: dict[str, list] = {}
    with Run.create(folder, "prop") as run:
        for number, (batch, step) in enumerate(calls):
            run.log_metrics(batch, step=step, timestamp=1_000 + number)
            for key, value in batch.items():
                expected.setdefault(key, []).append((step, "nan" if value != value else float(value), 1_000 + number))
    read, problems = only_run(folder)
    assert problems == []
    assert points(read) == expected
    assert all(orjson.loads(line) for line in (run.folder / "run.jsonl").read_bytes().splitlines())


def test_long_runs_of_lines_with_the_same_keys_read_as_line_by_line(tmp_path):
    """Groups of same-key lines are read a column at a time; a NaN string, a bad value or a step beyond 64
    bits in such a group sends it through the line-by-line path, with the same points and problems."""
    exp = write_experiment(tmp_path, "columns")
    lines = [metrics({"loss": 1.0 / (s + 1), "acc": s * 0.5, "z": "bad" if s < 300 else 1.0}, s, t=1_000 + s)
             for s in range(900)]
    lines[350]["m"]["acc"] = "NaN"  # after `loss` in the line: the column of `loss` is taken back
    lines[500]["m"]["acc"] = None
    lines[700]["s"] = 2 ** 63
    write_run(exp, RUN_ID, lines)
    read, problems = only_run(tmp_path)
    steps = [s for s in range(900) if s != 700]
    assert [s for s, _, _ in points(read)["loss"]] == steps
    assert [s for s, _, _ in points(read)["acc"]] == [s for s in steps if s != 500]
    assert [s for s, _, _ in points(read)["z"]] == [s for s in steps if s >= 300]
    assert points(read)["acc"][350][1] == "nan" and points(read)["acc"][3] == (3, 1.5, 1_003)
    assert all(len(h.steps) == len(h.values) == len(h.timestamps) for h in read.metrics.values())
    assert [p.line for p in problems] == [s + 2 for s in range(300)] + [502, 702]  # the start line is line 1
    assert "out of range" in problems[-1].reason


def test_a_key_whose_every_point_is_bad_is_no_metric(tmp_path):
    exp = write_experiment(tmp_path, "nokey")
    write_run(exp, RUN_ID, [metrics({"ok": 1.0, "text": "abc"}, s, t=10 + s) for s in range(400)])
    read, problems = only_run(tmp_path)
    assert set(read.metrics) == {"ok"} and len(read.metrics["ok"]) == 400 and len(problems) == 400


def test_runs_of_metrics_lines_between_other_lines_keep_the_order_of_the_file(tmp_path):
    exp = write_experiment(tmp_path, "order")
    lines = [param("lr", 0.1, t=1)] + [metrics({"a": float(s), "b": -s}, s, t=10 + s) for s in range(20)]
    lines += [metric("a", 99.0, 20, t=30), metrics({"b": 5}, 21, t=31)]  # a lone metric line, another key set
    lines += [metrics({"a": float(s), "b": -s}, s, t=10 + s) for s in range(22, 40)] + [end(t=60)]
    write_run(exp, RUN_ID, lines)
    read, problems = only_run(tmp_path)
    assert problems == [] and read.status == "FINISHED" and read.params == {"lr": 0.1}
    assert [(s, v) for s, v, _ in points(read)["a"]] == [(s, float(s)) for s in range(20)] + [(20, 99.0)] + \
        [(s, float(s)) for s in range(22, 40)]
    assert [s for s, _, _ in points(read)["b"]] == list(range(20)) + [21] + list(range(22, 40))
