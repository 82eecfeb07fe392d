import math
from fractions import Fraction

import numpy as np
import pytest
from ondisk import events_of, points_of

import logger


def test_params_keep_their_json_type(log_dir):
    with logger.start_run() as run:
        logger.log_params({"lr": 0.01, "layers": 3, "solver": "lbfgs", "shuffle": True, "seed": None})
        logger.log_param("shape", (3, 4))
        logger.log_param("np_float", np.float32(0.5))
        logger.log_param("np_int", np.int64(7))
    values = {e["key"]: e["value"] for e in events_of(log_dir, run.info.run_id, "param")}
    assert values == {"lr": 0.01, "layers": 3, "solver": "lbfgs", "shuffle": True, "seed": None,
                      "shape": "(3, 4)", "np_float": 0.5, "np_int": 7}


def test_log_param_returns_the_value(log_dir):
    with logger.start_run():
        assert logger.log_param("a", 5) == 5


def test_a_param_cannot_change_within_a_run(log_dir):
    with logger.start_run() as run:
        logger.log_param("lr", 0.1)
        logger.log_param("lr", 0.1)
        with pytest.raises(ValueError, match="immutable"):
            logger.log_param("lr", 0.2)
        with pytest.raises(ValueError, match="immutable"):
            logger.log_params({"new": 1, "lr": 0.3})
    assert [e["key"] for e in events_of(log_dir, run.info.run_id, "param")] == ["lr"]


@pytest.mark.parametrize("key, message", [
    ("", "non-empty"),
    ("x" * 251, "limit is 250"),
    ("bad\nkey", "control character"),
    ("tab\tkey", "control character"),
    (None, "non-empty string"),
])
def test_bad_keys_raise_and_write_nothing(log_dir, key, message):
    with logger.start_run() as run:
        for call in (lambda: logger.log_param(key, 1), lambda: logger.log_metric(key, 1),
                     lambda: logger.set_tag(key, "v")):
            with pytest.raises(ValueError, match=message):
                call()
    assert [e["kind"] for e in events_of(log_dir, run.info.run_id)] == ["start", "end"]


def test_long_values_raise_with_the_limit(log_dir):
    with logger.start_run():
        logger.log_param("ok", "x" * 6000)
        with pytest.raises(ValueError, match="limit is 6000"):
            logger.log_param("long", "x" * 6001)
        with pytest.raises(ValueError, match="limit is 6000"):
            logger.set_tag("long", "y" * 7000)


def test_tags_can_change_and_rename_the_run(log_dir):
    with logger.start_run(run_name="old", tags={"stage": "dev"}) as run:
        logger.set_tag("stage", "prod")
        logger.set_tags({"mlflow.runName": "new", "n": 2})
        assert run.info.run_name == "new"
    tags = [(e["key"], e["value"]) for e in events_of(log_dir, run.info.run_id, "tag")]
    assert tags == [("stage", "dev"), ("stage", "prod"), ("mlflow.runName", "new"), ("n", 2)]


def test_metric_step_defaults_to_zero_and_timestamp_is_kept(log_dir):
    with logger.start_run() as run:
        logger.log_metric("a", 1.0)
        logger.log_metric("a", 2.0, step=5, timestamp=1_700_000_000_000)
        logger.log_metrics({"b": 1, "c": 2.5}, step=3)
    metrics = points_of(events_of(log_dir, run.info.run_id))
    assert [(m["key"], m["value"], m["step"]) for m in metrics] == [("a", 1.0, 0), ("a", 2.0, 5), ("b", 1, 3),
                                                                     ("c", 2.5, 3)]
    assert metrics[1]["t"] == 1_700_000_000_000
    assert metrics[2]["t"] == metrics[3]["t"]


def test_numpy_and_other_numbers_are_accepted(log_dir):
    with logger.start_run() as run:
        logger.log_metric("f32", np.float32(0.25))
        logger.log_metric("i64", np.int64(3))
        logger.log_metric("zero_d", np.array(1.5))
        logger.log_metric("fraction", Fraction(1, 4))
    assert [e["value"] for e in events_of(log_dir, run.info.run_id, "metric")] == [0.25, 3, 1.5, 0.25]


@pytest.mark.parametrize("value", [True, np.bool_(False), "0.5", b"1", None, [1.0], {"a": 1}])
def test_non_numbers_raise_type_error_and_write_nothing(log_dir, value):
    with logger.start_run() as run:
        with pytest.raises(TypeError, match="must be a number"):
            logger.log_metric("m", value)
        with pytest.raises(TypeError, match="must be a number"):
            logger.log_metrics({"ok": 1.0, "bad": value})
    assert events_of(log_dir, run.info.run_id, "metric") == []


def test_nan_and_infinities_round_trip_as_strict_json(log_dir):
    with logger.start_run() as run:
        logger.log_metric("v", float("nan"), step=0)
        logger.log_metric("v", math.inf, step=1)
        logger.log_metric("v", -math.inf, step=2)
        logger.log_metrics({"w": np.float64("nan")})
        logger.log_param("p", float("nan"))
    # events_of parses strictly: a bare NaN token would fail here
    values = [e["value"] for e in points_of(events_of(log_dir, run.info.run_id))]
    assert values == ["NaN", "Infinity", "-Infinity", "NaN"]
    from logger.events import decode_number

    decoded = [decode_number(v) for v in values]
    assert math.isnan(decoded[0]) and decoded[1] == math.inf and decoded[2] == -math.inf
