"""Keys are listed in natural order (m2 before m10), the same in Python (logger.values.natural_key) and in
the browser (filter.js naturalCompare), and wherever a page or file lists them."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from logger.values import natural_sorted

from reporter.charts.common import group_metric_keys, pick_primary_metric

FILTER_JS = Path(__file__).resolve().parents[2] / "reporter" / "static" / "filter.js"
NODE = shutil.which("node")


def test_numbers_inside_keys_count_as_numbers():
    assert natural_sorted(["m11", "m2", "m10", "m1", "loss"]) == ["loss", "m1", "m2", "m10", "m11"]
    assert natural_sorted(["layer_10/w", "layer_9/w", "Layer_9/b"]) == ["Layer_9/b", "layer_9/w", "layer_10/w"]
    assert natural_sorted(["m1", "m01", "m001", "M1"]) == ["M1", "m001", "m01", "m1"]  # ties: the text itself
    assert natural_sorted(["a", "a0", "a1b", "a1", ""]) == ["", "a", "a0", "a1", "a1b"]


def test_a_key_with_thousands_of_digits_sorts_without_converting_them():
    huge = "9" * 5000  # int() refuses this many digits
    assert natural_sorted([f"k{huge}", "k10", f"k1{huge}"]) == ["k10", f"k{huge}", f"k1{huge}"]


def test_chart_sections_and_the_primary_metric_follow_natural_order():
    assert group_metric_keys(["m10", "m2", "train/m10", "train/m2", "layer10/x", "layer9/x"]) == [
        ("", ["m2", "m10"]), ("layer9", ["layer9/x"]), ("layer10", ["layer10/x"]), ("train", ["train/m2", "train/m10"])]
    assert pick_primary_metric(["m10", "m2"]) == "m2"


@pytest.mark.skipif(NODE is None, reason="node is not installed: cannot run reporter/static/filter.js")
def test_the_browser_lists_keys_in_the_same_order():
    generator = random.Random(19)
    pieces = ["m", "M", "loss", "0", "00", "1", "2", "9", "10", "007", "/", "_", "é", "ß", "𝔸", "Σ", "İ", "x", ""]
    keys = sorted({"".join(generator.choice(pieces) for _ in range(generator.randint(0, 5))) for _ in range(3000)})
    script = ("const F = require(process.argv[1]); const keys = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify(keys.slice().sort(F.naturalCompare)));")
    done = subprocess.run([NODE, "-e", script, str(FILTER_JS)], input=json.dumps(keys), capture_output=True,
                          text=True, check=True)
    assert json.loads(done.stdout) == natural_sorted(keys)
