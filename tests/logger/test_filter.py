"""The filter grammar in Python: every shared case, then messages, param text and ordering."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from logger.filter import parse_filter
from logger.order import OrderKey, parse_order_by, sort_rows
from logger.values import param_number, param_text

CASES_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "filter_cases.json"
SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def load_cases() -> dict:
    """The shared case file, with metric strings "NaN"/"Infinity"/"-Infinity" made numbers (JSON has none)."""
    data = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    for row in data["runs"]:
        row["metrics"] = {k: SPECIAL.get(v, v) if isinstance(v, str) else v for k, v in row["metrics"].items()}
    return data


DATA = load_cases()
RUNS = DATA["runs"]


def run_ids(rows):
    return [row["attributes"]["run_id"] for row in rows]


@pytest.mark.parametrize("case", DATA["cases"], ids=[f"{i:03d}" for i in range(len(DATA["cases"]))])
def test_shared_case(case):
    if "error" in case:
        with pytest.raises(ValueError) as info:
            parse_filter(case["filter"])
        assert case["error"] in str(info.value)
    else:
        compiled = parse_filter(case["filter"])
        assert sorted(run_ids(row for row in RUNS if compiled.matches(row))) == sorted(case["expect"])


@pytest.mark.parametrize("case", DATA["order_cases"], ids=[f"order-{i:02d}" for i in range(len(DATA["order_cases"]))])
def test_shared_order_case(case):
    assert run_ids(sort_rows(RUNS, case["order_by"])) == case["expect"]


def test_case_file_is_broad_enough():
    cases = DATA["cases"]
    assert len([c for c in cases if "expect" in c]) >= 60
    assert len([c for c in cases if "error" in c]) >= 12
    text = " ".join(c["filter"] for c in cases).upper()
    for op in ("!=", "<=", ">=", " < ", " > ", " = ", " LIKE ", " ILIKE ", " IN ", " NOT IN ", " AND ", " OR ", "`", '"', "("):
        assert op in text, op
    # every expected id is a real run, and every run is matched by some case
    ids = set(run_ids(RUNS))
    seen = set()
    for case in cases:
        assert set(case.get("expect", ())) <= ids
        seen |= set(case.get("expect", ()))
    assert seen == ids


# ---------------------------------------------------------------- error messages


@pytest.mark.parametrize(
    "text, message",
    [
        ("metrics.f1 > 0.5 foo", "filter: expected AND, OR or the end of the filter at position 18, found 'foo'"),
        ("metrics.f1 foo 1", "filter: expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN) at position 12, found 'foo'"),
        ("tags.x = 'open", "filter: expected a closing ' for the string at position 10, found end of input"),
        ("(((status = 'X')", "filter: expected ')' at position 17, found end of input (unbalanced '(' at position 2)"),
        ("status = 'X'))", "filter: expected AND, OR or the end of the filter at position 13, found ')' (unbalanced ')')"),
        ("metric.x LIKE 'a'", "filter: expected one of =, !=, <, <=, >, >=, IN, NOT IN for metrics.x at position 10, found 'LIKE'"),
        ("end_time ILIKE 'a'", "filter: expected one of =, !=, <, <=, >, >=, IN, NOT IN for end_time at position 10, found 'ILIKE'"),
        ("tags.t IN (1)", "filter: expected a quoted string after 'tags.t IN' at position 12, found '1'"),
    ],
)
def test_error_messages(text, message):
    with pytest.raises(ValueError) as info:
        parse_filter(text)
    assert str(info.value) == message


def test_deep_nesting_is_a_value_error_not_a_recursion_error():
    with pytest.raises(ValueError, match="at most 100 nested parentheses"):
        parse_filter("(" * 500 + "status = 'X'" + ")" * 500)
    assert parse_filter("(" * 50 + "status = 'X'" + ")" * 50).matches({"attributes": {"status": "X"}})


def test_empty_and_none_filters_match_everything():
    for text in ("", "  ", None):
        assert parse_filter(text).matches({})


def test_rows_with_missing_sections_do_not_raise():
    compiled = parse_filter("metrics.a > 1 or params.b = 'x' or tags.c = 'y' or status = 'z' or start_time > 0")
    assert compiled.matches({}) is False
    assert compiled.matches({"metrics": None, "params": None, "tags": None, "attributes": None}) is False
    assert compiled.matches({"metrics": {"a": "oops"}, "attributes": {"start_time": "soon"}}) is False


# ---------------------------------------------------------------- params as text and numbers


@pytest.mark.parametrize(
    "value, text",
    [
        ("x", "x"), (None, "None"), (True, "True"), (False, "False"), (3, "3"), (-7, "-7"),
        (1.0, "1.0"), (0.1, "0.1"), (1e-05, "1e-05"), (0.0001, "0.0001"), (1e16, "1e+16"),
        (123456789012345.6, "123456789012345.6"), (float("nan"), "nan"), (float("inf"), "inf"),
        ([1, 2.0, "a"], '[1, 2.0, "a"]'), ({"k": [None, True]}, '{"k": [null, true]}'),
    ],
)
def test_param_text_follows_python_str(value, text):
    assert param_text(value) == text


def test_integral_float_param_compares_as_python_writes_it():
    row = {"params": {"alpha": 1.0}}
    assert parse_filter("params.alpha = '1.0'").matches(row)
    assert not parse_filter("params.alpha = '1'").matches(row)
    assert parse_filter("params.alpha = 1").matches(row)


@pytest.mark.parametrize(
    "value, number",
    [(2, 2.0), (0.5, 0.5), ("0.01", 0.01), ("-3e2", -300.0), (".5", 0.5), ("1.", 1.0),
     ("fast", None), (" 1", None), ("0x10", None), ("inf", None), ("", None), (True, None), (None, None), ([1], None),
     (10**400, math.inf)],
)
def test_param_number(value, number):
    assert param_number(value) == number


# ---------------------------------------------------------------- order_by


def test_parse_order_by():
    assert parse_order_by(None) == []
    assert parse_order_by(["metrics.f1 DESC", "start_time", "params.`a b` asc", "tags.mlflow.runName"]) == [
        OrderKey("metrics", "f1", False),
        OrderKey("attributes", "start_time", True),
        OrderKey("params", "a b", True),
        OrderKey("tags", "mlflow.runName", True),
    ]


@pytest.mark.parametrize(
    "items, message",
    [
        (["metrics.f1 DOWN"], "order_by item 1: expected ASC, DESC or the end of the item at position 12, found 'DOWN'"),
        (["start_time", "metrics.f1 DESC extra"], "order_by item 2: expected ASC, DESC or the end of the item at position 17, found 'extra'"),
        (["colour"], "order_by item 1: expected metrics.<key>"),
        (["bogus.key"], "order_by item 1: expected an entity"),
        ([""], "order_by item 1: expected a field such as metrics.<key>"),
        ([3], "order_by item 1: expected a string such as 'metrics.f1 DESC', found int"),
    ],
)
def test_parse_order_by_errors(items, message):
    with pytest.raises(ValueError) as info:
        parse_order_by(items)
    assert message in str(info.value)


def test_sort_rows_is_stable_and_does_not_mutate():
    rows = [{"attributes": {"run_id": f"x{i}"}, "metrics": {"m": i % 2}} for i in range(6)]
    before = list(rows)
    assert run_ids(sort_rows(rows, ["metrics.m"])) == ["x0", "x2", "x4", "x1", "x3", "x5"]
    assert run_ids(sort_rows(rows, ["metrics.m DESC"])) == ["x1", "x3", "x5", "x0", "x2", "x4"]
    assert run_ids(sort_rows(rows, [OrderKey("metrics", "m", False)])) == ["x1", "x3", "x5", "x0", "x2", "x4"]
    assert rows == before


def test_default_order_breaks_start_time_ties_by_run_id():
    rows = [{"attributes": {"run_id": rid, "start_time": t}} for rid, t in [("b", 5), ("a", 5), ("c", None), ("d", 9)]]
    assert run_ids(sort_rows(rows)) == ["d", "a", "b", "c"]
    assert run_ids(sort_rows(rows, [])) == ["d", "a", "b", "c"]


# ---------------------------------------------------------------- many rows (timed by make bench: bench_table)


def test_ten_thousand_rows_filter_as_written():
    rows = [
        {"attributes": {"run_id": str(i), "status": "FINISHED" if i % 3 else "FAILED", "run_name": f"run-{i}", "start_time": i},
         "params": {"lr": 10.0 ** -(i % 5), "solver": "lbfgs" if i % 2 else "saga"},
         "metrics": {"f1": (i % 100) / 100}, "tags": {"stage": "dev"}}
        for i in range(10_000)
    ]
    compiled = parse_filter("(metrics.f1 > 0.5 and params.lr < 0.01) or run_name LIKE '%99%' and status != 'FAILED'")
    matched = [row for row in rows if compiled.matches(row)]
    expected = [r for r in rows if (r["metrics"]["f1"] > 0.5 and r["params"]["lr"] < 0.01)
                or ("99" in r["attributes"]["run_name"] and r["attributes"]["status"] != "FAILED")]
    assert matched == expected
