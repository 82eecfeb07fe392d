"""MetricHistory.latest_index: MLflow's latest point (greatest step, then latest time, then last logged),
whatever order points come in and however a live reader appends them between two questions."""

from __future__ import annotations

import random
from array import array

import pytest

from logger.model import MetricHistory


def by_the_rule(history: MetricHistory) -> int:
    return max(range(len(history)), key=lambda i: (history.steps[i], history.timestamps[i], i))


@pytest.mark.parametrize("seed", range(40))
def test_latest_is_the_rules_answer_after_every_append(seed):
    rng = random.Random(seed)
    history = MetricHistory("m")
    assert history.latest is None
    steps, stamps = rng.choice([(3, 3), (50, 5), (5, 1000)])  # ties in steps and times, or few of them
    ordered = rng.random() < 0.5  # a training loop's steps go up; imported or resumed ones need not
    for _ in range(rng.randint(1, 8)):  # appended in bursts, asked in between (a live rebuild)
        for _ in range(rng.randint(0, 30)):
            step = len(history) if ordered else rng.randrange(steps)
            history.append(rng.random(), step, rng.randrange(stamps))
        if len(history):
            assert history.latest_index() == by_the_rule(history)
            assert history.latest == history.values[by_the_rule(history)]


def test_a_later_point_at_the_greatest_step_or_a_lower_one():
    history = MetricHistory("m", array("q", [0, 1, 2]), array("d", [0.3, 0.2, 0.1]), array("q", [10, 11, 12]))
    assert history.latest == 0.1
    history.append(0.9, 1, 13)  # a lower step, logged later: not the latest
    assert history.latest == 0.1
    history.append(0.8, 2, 12)  # the same step and time: the one logged last
    assert history.latest == 0.8
    history.append(0.7, 2, 11)  # the same step, an earlier time
    assert history.latest == 0.8


def test_a_shorter_history_starts_over():
    history = MetricHistory("m", array("q", [0, 5, 1]), array("d", [1.0, 2.0, 3.0]), array("q", [0, 0, 0]))
    assert history.latest == 2.0
    for column in (history.steps, history.values, history.timestamps):
        del column[1:]  # a file read again shorter (truncated)
    history.append(4.0, 1, 0)
    assert history.latest == 4.0
