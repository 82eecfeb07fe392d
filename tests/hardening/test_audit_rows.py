"""One row per run for every table, one number format: the site's filter box, `search_runs` and the
browser agree on what a run holds and on how its numbers read.

The site's rows (runs-data.js) are filtered here with filter.js under Node, as table.js filters them;
tests/browser/test_rows_browser.py checks the table's sort order and cells in Chromium.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from site_logs import SORTING, write_sorting_logs

from logger.events import encode_non_finite
from logger.search import search_runs
from logger.values import format_number

from reporter.config import BuildConfig
from reporter.site.build import build

ROOT = Path(__file__).resolve().parents[2]
FILTER_JS = ROOT / "reporter" / "static" / "filter.js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed: cannot run reporter/static/filter.js")

SITE_FILTERS = [
    "tags.mlflow.runName = 'x'", "tags.`mlflow.runName` ILIKE 'Z'", "tags.mlflow.user = 'bo'",
    "tags.mlflow.source.git.commit LIKE '0123%'", "tags.mlflow.user IN ('ana', 'cy')", "run_name != 'x'",
    "user = 'ana'", "params.q = '1e-05'", "params.p = '10.0'", "params.q > 2", "metrics.m > 0.4", "metrics.m != 0.5",
    "tags.t IN ('a', 'B')", "status = 'FAILED' OR tags.mlflow.runName LIKE '%'",
]

# JSON has no NaN or Infinity: numbers travel as text when they are not finite (see runs-data.js).
NUMBERS = [1e-05, 0.00001, 1e-4, 9.999e-5, 1e16, 9999999999999998.0, 1.2345678901234567e+19, -0.0, 0.0, math.nan,
           math.inf, -math.inf, 0.1 + 0.2, 3.0, -7.0, 2.5, 123456789.0, 1e22, 5e-324, 1.7976931348623157e308,
           3, -42, 2**53, 12345678901234567890, 10**400]


def node(script: str, *args: str, stdin: str = "") -> object:
    done = subprocess.run([NODE, "-e", script, *args], input=stdin, capture_output=True, text=True, timeout=120,
                          check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def sorting_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("rows")
    logs = write_sorting_logs(root / "logs")
    build(BuildConfig.from_options(logs, root / "site", environ={}))
    return logs, root / "site"


def site_rows_file(site: Path) -> Path:
    [found] = [p for p in (site / "experiments").glob("*/runs-data.js")]
    return found


SITE_FILTER_SCRIPT = r"""
const fs = require("fs"), vm = require("vm");
const [filterPath, dataPath, filtersJson] = process.argv.slice(1);
const sandbox = { window: {} };
vm.runInNewContext(fs.readFileSync(dataPath, "utf8"), sandbox);
vm.runInNewContext(fs.readFileSync(filterPath, "utf8"), sandbox);
const F = sandbox.window.FlowsheetFilter, rows = sandbox.window.FLOWSHEET_RUNS.rows.map((r) => F.reviveRow(r));
process.stdout.write(JSON.stringify(JSON.parse(filtersJson).map((text) => {
  const f = F.parse(text);
  return rows.filter((r) => f.matches(r)).map((r) => r.attributes.run_id).sort();
})));
"""


@needs_node
def test_site_filter_box_matches_what_search_runs_matches(sorting_site):
    """`tags.mlflow.runName = 'x'` finds the same runs in the site's filter box as in search_runs."""
    logs, site = sorting_site
    got = node(SITE_FILTER_SCRIPT, str(FILTER_JS), str(site_rows_file(site)), json.dumps(SITE_FILTERS))
    for text, ids in zip(SITE_FILTERS, got):
        expected = sorted(search_runs(experiment_ids=[SORTING], filter_string=text, log_dir=logs)["run_id"])
        assert ids == expected, text
    assert got[0] == ["1" * 32, "4" * 32]


def test_site_rows_carry_no_local_path(sorting_site):
    """The one thing search_runs' rows have that the site's leave out: the artifact folder on this machine."""
    logs, site = sorting_site
    text = site_rows_file(site).read_text(encoding="utf-8")
    assert str(logs) not in text and "file:" not in text
    assert '"artifact_uri":null' in text


def sample_numbers(count: int = 2000) -> list[float]:
    rng = random.Random(20250611)
    values = []
    while len(values) < count:
        value = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        values.append(value if math.isfinite(value) else rng.random())
        values.append(round(rng.uniform(-1e3, 1e3), rng.randrange(8)))
    return values


FORMAT_SCRIPT = r"""
const F = require(process.argv[1]);
const special = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
const values = JSON.parse(require("fs").readFileSync(0, "utf8")).map((v) => (typeof v === "string" ? special[v] : v));
process.stdout.write(JSON.stringify(values.map((v) => F.formatNumber(v))));
"""


@needs_node
def test_numbers_read_the_same_in_python_and_javascript():
    values = NUMBERS + sample_numbers()
    # Ints go as JSON numbers (JavaScript reads a huge one as the nearest double, or Infinity).
    sent = [encode_non_finite(v) if isinstance(v, float) else v for v in values]
    got = node(FORMAT_SCRIPT, str(FILTER_JS), stdin=json.dumps(sent))
    assert got == [format_number(v) for v in values]


def test_the_number_display_rule():
    """Python's repr form (so a value reads as params and tags compare it), integral values without ".0"
    (JSON cannot keep 1.0 apart from 1), non-finite values by the names the site's data uses."""
    assert [format_number(v) for v in (1e-05, 0.00001, 1e-4, 1e16, 9999999999999998.0, 1.2345678901234567e+19)] == [
        "1e-05", "1e-05", "0.0001", "1e+16", "9999999999999998", "1.2345678901234567e+19"]
    assert [format_number(v) for v in (-0.0, math.nan, math.inf, -math.inf, 0.1 + 0.2, 3.0, 3, 2.5)] == [
        "0", "NaN", "Infinity", "-Infinity", "0.30000000000000004", "3", "3", "2.5"]
    assert format_number(12345678901234567890) == "1.2345678901234567e+19"  # the double the browser sees
    assert format_number(10**400) == "Infinity"


def test_runs_csv_holds_the_table_rows(sorting_site):
    """runs.csv has the columns of the runs table (MLflow's system tags too) and writes numbers by the one rule;
    a negative number is no spreadsheet formula and gets no apostrophe."""
    import csv

    _, site = sorting_site
    [path] = (site / "experiments").glob("*/runs.csv.gz")
    rows = {row["run_id"]: row for row in csv.DictReader(gzip.decompress(path.read_bytes()).decode("utf-8").splitlines())}
    assert rows["1" * 32]["tags.mlflow.runName"] == "x" and rows["2" * 32]["tags.mlflow.user"] == "bo"
    assert rows["5" * 32]["metrics.m"] == "1e-05" and rows["8" * 32]["metrics.m"] == "1e+16"
    assert rows["3" * 32]["metrics.m"] == "NaN" and rows["2" * 32]["metrics.m"] == ""
    assert rows["4" * 32]["params.q"] == "-0.0" and rows["4" * 32]["params.p"] == "10.0"
