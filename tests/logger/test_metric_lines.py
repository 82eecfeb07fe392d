"""Version 1 `metric` lines, however the reader groups them: every point in line order, every bad line
reported at its number, nothing read twice."""

from __future__ import annotations

import math
import random
from pathlib import Path

import orjson

from logger.parsing import RunParser, parse_file

T0 = 1_732_700_000_000


def _line(kind: str, step: int, key: str, value) -> bytes:
    return orjson.dumps({"v": 1, "kind": kind, "t": T0 + step, "key": key, "value": value, "step": step})


def _read(lines: list[bytes]) -> RunParser:
    start = orjson.dumps({"v": 1, "kind": "start", "t": T0, "run_id": "r" * 32, "experiment_id": "e", "name": "r",
                          "parent_run_id": None, "description": None, "system": {}})
    return parse_file(RunParser("run.jsonl", Path("/logs/e") / ("r" * 32)), b"\n".join([start, *lines]) + b"\n")


def _points(parser: RunParser) -> dict:
    return {key: [(s, "nan" if math.isnan(v) else v, t) for s, v, t in zip(h.steps, h.values, h.timestamps)]
            for key, h in parser.run.metrics.items()}


def test_keys_twice_in_a_turn_keep_their_points_in_line_order():
    keys = ["a", "b", "b"] * 200  # each turn holds "b" twice: not one column per place in the turn
    parser = _read([_line("metric", step, key, float(step)) for step, key in enumerate(keys)])
    assert parser.problems == []
    assert _points(parser)["b"] == [(step, float(step), T0 + step) for step, key in enumerate(keys) if key == "b"]


def test_random_metric_lines_with_bad_ones_read_as_one_by_one():
    bad_kinds = [
        lambda step, key: _line("metric", step, key, "x"),  # no number
        lambda step, key: b'{"v":1,"kind":"metric","t":1,"key":"k0","value":1,"step":%d}' % (1 << 70),  # > 64 bits
        lambda step, key: _line("metric", step, "", 1.0),  # empty key
        lambda step, key: _line("metric", step, key, [1]),  # a list
        lambda step, key: b'{"v": 1, "kind": "metric", "t": 1',  # not JSON
        lambda step, key: orjson.dumps({"v": 1, "kind": "metric", "t": T0, "key": key, "step": step}),  # no value
    ]
    rng = random.Random(18)
    for case in range(12):
        keys = [f"k{index}" for index in range(rng.randint(1, 6))]
        periodic = case % 2 == 0
        lines, expected, bad = [], {}, set()
        for step in range(rng.randint(300, 1200)):
            key = keys[step % len(keys)] if periodic else rng.choice(keys)
            if rng.random() < 0.01:
                lines.append(bad_kinds[rng.randrange(len(bad_kinds))](step, key))
                bad.add(len(lines) + 1)  # + the start line
                continue
            value = "NaN" if rng.random() < 0.01 else rng.choice([float(step), step, -0.5 * step])
            lines.append(_line("metric", step, key, value))
            expected.setdefault(key, []).append((step, "nan" if value == "NaN" else float(value), T0 + step))
        parser = _read(lines)
        assert _points(parser) == expected, case
        assert sorted(problem.line for problem in parser.problems) == sorted(bad), case


def test_a_bad_value_late_in_a_turn_leaves_the_earlier_keys_read_once():
    keys = ["k0", "k1", "k2"] * 200
    lines = [_line("metric", step, key, "x" if step == 300 + 2 else float(step)) for step, key in enumerate(keys)]
    parser = _read(lines)
    assert [(problem.line, "'value' must be a number" in problem.reason) for problem in parser.problems] == \
        [(300 + 2 + 2, True)]  # the start line, and lines count from 1
    points = _points(parser)
    assert [len(points[key]) for key in ("k0", "k1", "k2")] == [200, 200, 199]
    assert points["k0"] == [(step, float(step), T0 + step) for step in range(0, 600, 3)]


def test_a_key_first_seen_in_a_group_with_a_bad_line_is_read_once():
    # Lines 1-256 (the start line among them) are one group; the next group opens with a new key "c".
    lines = [_line("metric", step, "a", float(step)) for step in range(255)]
    lines.append(_line("metric", 255, "c", 1.0))
    lines += [_line("metric", step, "a", "x" if step == 300 else float(step)) for step in range(256, 600)]
    parser = _read(lines)  # (parse_file's last group holds the empty piece after the last newline)
    assert [problem.line for problem in parser.problems] == [300 + 2]
    assert _points(parser)["c"] == [(255, 1.0, T0 + 255)]
    assert len(_points(parser)["a"]) == 599 - 1
