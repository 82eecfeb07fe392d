"""The browser's filter (reporter/static/filter.js) under Node: the shared cases, and agreement with Python.

One Node process runs everything (fast); each case is then its own test id.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from logger.filter import parse_filter
from logger.order import parse_order_by, sort_rows
from logger.values import param_text

ROOT = Path(__file__).resolve().parents[2]
FILTER_JS = ROOT / "reporter" / "static" / "filter.js"
CASES_FILE = ROOT / "tests" / "fixtures" / "filter_cases.json"
NODE = shutil.which("node") or ("/usr/bin/node" if Path("/usr/bin/node").exists() else None)

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: cannot run reporter/static/filter.js")

DATA = json.loads(CASES_FILE.read_text(encoding="utf-8"))
SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

# Filters beyond the shared cases whose error messages must be identical in both languages.
EXTRA_ERRORS = [
    "metrics.f1 foo 1", "(((status = 'X')", "status = 'X'))", "metric.x LIKE 'a'", "end_time ILIKE 'a'",
    "tags.t IN (1)", "tags.x = \"open", "params.`a", "'x' = 1", "5 = 5", "run.nope = 'a'", "tags.é = 'x'",
    "metrics.x > 1 and", "metrics.x IN (1,", "metrics.x IN (1,)", "params.p NOT", "(" * 101 + "status = 'x'",
    "tags.x = '😀' 😀", "metrics.a > 1 OR (metrics.b < 2 AND tags.c LIKE 'x' junk)",
]
BAD_ORDER_BY = [["metrics.f1 DOWN"], ["start_time", "metrics.f1 DESC extra"], ["colour"], ["bogus.key"], [""], ["metrics."]]

VALUES = [None, True, False, 3, -7, "x", [1, 2.5, "a"], {"k": [None, True, "é"]}, 1e16, 12345678901234567890]

NODE_SCRIPT = r"""
const fs = require("fs");
const vm = require("vm");
const [filterPath, inputPath] = process.argv.slice(2);
const F = require(filterPath);
const input = JSON.parse(fs.readFileSync(inputPath, "utf8"));
const runs = input.runs.map((row) => F.reviveRow(row));
const ids = (rows) => rows.map((row) => row.attributes.run_id);
function attempt(fn) {
  try { return { ok: fn() }; } catch (e) { return { error: e.message, isError: e instanceof Error }; }
}
const out = {
  filters: input.filters.map((text) => attempt(() => { const f = F.parse(text); return ids(runs.filter((r) => f.matches(r))); })),
  orders: input.orders.map((items) => attempt(() => ids(F.sortRows(runs, items)))),
  texts: input.numbers.map((x) => F.paramText(x)),
  value_texts: input.values.map((x) => F.paramText(x)),
};
// As a browser loads it: a plain script with a window and no module.
const sandbox = { window: {} };
vm.runInNewContext(fs.readFileSync(filterPath, "utf8"), sandbox);
out.browserGlobal = typeof sandbox.window.FlowsheetFilter.parse === "function" &&
  sandbox.window.FlowsheetFilter.parse("status = 'A'").matches({ attributes: { status: "A" } });
// Speed at the size the runs table promises.
const many = [];
for (let i = 0; i < 10000; i++) {
  many.push({ attributes: { run_id: String(i), status: i % 3 ? "FINISHED" : "FAILED", run_name: "run-" + i, start_time: i },
              params: { lr: String(10 ** -(i % 5)) }, metrics: { f1: (i % 100) / 100 }, tags: {} });
}
const t0 = process.hrtime.bigint();
const f = F.parse("(metrics.f1 > 0.5 and params.lr < 0.01) or run_name LIKE '%99%' and status != 'FAILED'");
const hits = many.filter((r) => f.matches(r)).length;
F.sortRows(many, ["metrics.f1 DESC", "run_name"]);
out.speed = { ms: Number(process.hrtime.bigint() - t0) / 1e6, hits };
process.stdout.write(JSON.stringify(out));
"""


def fuzz_filters(count: int = 2500) -> list[str]:
    """Random token soup, mostly near-valid, to catch any drift between the two parsers."""
    rng = random.Random(4)
    fields = ["metrics.f1", "metrics.loss", "metrics.`f1 score`", "params.alpha", "params.lr", "params.C", "params.'a.b'",
              "tags.stage", "tags.sym", "status", "run_name", "start_time", "end_time", "attr.user", "run.parent_run_id",
              "metric.acc", "tags.mlflow.runName", "bogus.x", "metrics.", "nope"]
    ops = ["=", "!=", "<", "<=", ">", ">=", "LIKE", "ilike", "IN", "NOT IN", "not", "==", "!"]
    values = ["0.5", "-1", "1e-05", ".9", "1", "'0.1'", "'1.0'", "'dev'", "'D%'", "'%a_'", '"prod"', "`x`", "'😀'",
              "'é'", "('dev', 'Dev')", "(0.5, 0.6)", "(1, 'a')", "()", "'open"]
    joins = [" AND ", " or ", " And ", " OR ", " AND ", " or ", " ", ")", "("]

    typed = [  # well-formed comparisons, so that many fuzzed filters parse and get evaluated
        (["metrics.f1", "metrics.loss", "metric.acc", "start_time", "params.alpha", "params.lr"],
         ["=", "!=", "<", "<=", ">", ">="], ["0.5", "-1", "1e-05", ".9", "1", "0.85", "3000"]),
        (["params.alpha", "params.lr", "params.C", "tags.stage", "tags.sym", "status", "run_name"],
         ["=", "!=", "LIKE", "ilike"], ["'0.1'", "'1.0'", "'dev'", "'D%'", "'%a_'", '"prod"', "'😀'", "'_'", "'FINISHED'"]),
        (["tags.stage", "params.solver", "run_id"], ["IN", "NOT IN", "not in"], ["('dev', 'Dev')", "('r1', 'lbfgs')"]),
        (["metrics.f1", "params.C"], ["IN", "NOT IN"], ["(0.5, 0.6)", "(10, 0.85)"]),
    ]

    def comparison():
        if rng.random() < 0.7:
            names, operators, operands = rng.choice(typed)
            return f"{rng.choice(names)} {rng.choice(operators)} {rng.choice(operands)}"
        return f"{rng.choice(fields)} {rng.choice(ops)} {rng.choice(values)}"

    texts = []
    for _ in range(count):
        parts = [comparison()]
        for _ in range(rng.randrange(3)):
            parts.append(rng.choice(joins))
            parts.append(("(" if rng.random() < 0.3 else "") + comparison() + (")" if rng.random() < 0.3 else ""))
        texts.append("".join(parts))
    return texts


FUZZ = fuzz_filters()


def sample_floats(count: int = 3000) -> list[float]:
    """Floats of every shape: short decimals, random bits, near the exponent-form thresholds."""
    rng = random.Random(20261127)
    values = [0.1, 0.2 + 0.1, 1e-4, 1e-5, 9.999e-5, 1.5e16, 1e16, 1e22, 5e-324, 1.7976931348623157e308, -2.5, 123.456]
    while len(values) < count:
        shape = rng.randrange(4)
        if shape == 0:
            x = round(rng.uniform(-1000, 1000), rng.randrange(0, 8))
        elif shape == 1:
            x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        elif shape == 2:
            x = rng.random() * 10.0 ** rng.randrange(-8, 20)
        else:
            x = float(rng.randrange(1, 10**6)) * 10.0 ** rng.choice([-6, -5, -4, 14, 15, 16, 17])
        if math.isfinite(x) and not x.is_integer():  # integral floats cannot survive JSON as floats in JS
            values.append(x)
    return values


@pytest.fixture(scope="module")
def node_results(tmp_path_factory):
    work = tmp_path_factory.mktemp("filter_js")
    script = work / "run_filter.js"
    script.write_text(NODE_SCRIPT, encoding="utf-8")
    numbers = sample_floats()
    filters = [case["filter"] for case in DATA["cases"]] + EXTRA_ERRORS + FUZZ
    orders = [case["order_by"] for case in DATA["order_cases"]] + BAD_ORDER_BY
    payload = {"runs": DATA["runs"], "filters": filters, "orders": orders, "numbers": numbers, "values": VALUES}
    (work / "input.json").write_text(json.dumps(payload), encoding="utf-8")
    done = subprocess.run([NODE, str(script), str(FILTER_JS), str(work / "input.json")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    results["numbers"] = numbers
    return results


def python_runs():
    runs = json.loads(json.dumps(DATA["runs"]))
    for row in runs:
        row["metrics"] = {k: SPECIAL.get(v, v) if isinstance(v, str) else v for k, v in row["metrics"].items()}
    return runs


@pytest.mark.parametrize("index", range(len(DATA["cases"])), ids=[f"{i:03d}" for i in range(len(DATA["cases"]))])
def test_shared_case_in_js(node_results, index):
    case, got = DATA["cases"][index], node_results["filters"][index]
    if "error" in case:
        assert "error" in got, f"{case['filter']!r} should fail, matched {got.get('ok')}"
        assert got["isError"]
        assert case["error"] in got["error"]
    else:
        assert "ok" in got, got.get("error")
        assert sorted(got["ok"]) == sorted(case["expect"])


@pytest.mark.parametrize("index", range(len(DATA["order_cases"])), ids=[f"order-{i:02d}" for i in range(len(DATA["order_cases"]))])
def test_shared_order_case_in_js(node_results, index):
    got = node_results["orders"][index]
    assert got.get("ok") == DATA["order_cases"][index]["expect"], got.get("error")


def test_js_and_python_agree_on_every_filter_and_message(node_results):
    runs = python_runs()
    filters = [case["filter"] for case in DATA["cases"]] + EXTRA_ERRORS + FUZZ
    outcomes = {"match": 0, "error": 0}
    for text, got in zip(filters, node_results["filters"], strict=True):
        try:
            compiled = parse_filter(text)
        except ValueError as error:
            assert got.get("error") == str(error), text
            outcomes["error"] += 1
        else:
            assert got.get("ok") == [r["attributes"]["run_id"] for r in runs if compiled.matches(r)], text
            outcomes["match"] += 1
    assert min(outcomes.values()) > 300, outcomes  # the fuzz exercises both valid and invalid filters


def test_js_and_python_agree_on_order_by_errors(node_results):
    runs = python_runs()
    orders = [case["order_by"] for case in DATA["order_cases"]] + BAD_ORDER_BY
    for items, got in zip(orders, node_results["orders"], strict=True):
        try:
            expected = [r["attributes"]["run_id"] for r in sort_rows(runs, items)]
        except ValueError as error:
            assert got.get("error") == str(error), items
            with pytest.raises(ValueError):
                parse_order_by(items)
        else:
            assert got.get("ok") == expected, items


def test_js_writes_floats_as_python_repr(node_results):
    mismatches = [(x, js) for x, js in zip(node_results["numbers"], node_results["texts"], strict=True) if js != repr(x)]
    assert not mismatches[:10]


def test_js_param_text_of_other_values(node_results):
    # JSON gives JS no int/float distinction: 1e16 arrives as an integral number and is written as
    # Python writes the float; an integral number below 1e16 is written as an int.
    expected = [param_text(v) for v in VALUES[:8]] + ["1e+16", "1.2345678901234567e+19"]
    assert node_results["value_texts"] == expected


def test_filter_js_loads_as_a_browser_script(node_results):
    assert node_results["browserGlobal"] is True


def test_js_filters_ten_thousand_runs(node_results):
    """How fast is `make bench` (bench_table, in Chromium); here only that it answers over many rows."""
    assert node_results["speed"]["hits"] > 0
