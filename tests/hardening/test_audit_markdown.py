"""Markdown from the logs (notes.md, descriptions, .md artifacts): linear to render.

Work is counted, never timed: Python profiler events (the Python side of the renderer) and, where
valgrind is installed, the instructions executed (the C and Rust side too). Liveness runs in a child
process with a generous bound, which is a hang detector, not a performance target.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from benchmarks.bench_markdown import PATHOLOGICAL, hostile_markdown
from reporter.markdown_render import render_markdown

ROOT = Path(__file__).resolve().parents[2]
LINEAR_ENOUGH = 8  # 4x the input may cost at most 8x the work: linear is 4, quadratic 16


def profiler_events(text: str) -> int:
    count = 0

    def tally(frame, event, arg):
        nonlocal count
        count += 1

    sys.setprofile(tally)
    try:
        render_markdown(text)
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_hostile_markdown_python_work_grows_linearly(name):
    small, large = (profiler_events(hostile_markdown(name, size)) for size in (5_000, 20_000))
    assert large / small < LINEAR_ENOUGH, (name, small, large)


# Each render sits between os.getppid() and os.getpgrp(): callgrind zeroes its counters before the
# first and dumps them before the second, so every dump holds the instructions of exactly one render.
CALLGRIND_CHILD = """
import os, sys
from benchmarks.bench_markdown import PATHOLOGICAL, hostile_markdown
from reporter.markdown_render import render_markdown
render_markdown("warm *up*")
for name in PATHOLOGICAL:
    for size in (4000, 16000):
        text = hostile_markdown(name, size)
        os.getppid()
        render_markdown(text)
        os.getpgrp()
"""


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed: instruction counts unavailable")
def test_hostile_markdown_instructions_grow_linearly(tmp_path):
    out = tmp_path / "callgrind.out"
    subprocess.run(["valgrind", "--tool=callgrind", "--zero-before=getppid", "--dump-before=getpgrp",
                    f"--callgrind-out-file={out}", sys.executable, "-c", CALLGRIND_CHILD],
                   cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)},
                   check=True, capture_output=True, timeout=900)
    dumps = sorted(tmp_path.glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]))
    counts = [int(re.search(r"^summary: (\d+)", p.read_text(), re.M)[1]) for p in dumps]
    assert len(counts) == 2 * len(PATHOLOGICAL)
    ratios = {name: counts[2 * i + 1] / counts[2 * i] for i, name in enumerate(PATHOLOGICAL)}
    assert max(ratios.values()) < LINEAR_ENOUGH, ratios


LIVENESS_CHILD = """
import sys
from benchmarks.bench_markdown import hostile_markdown
from reporter.markdown_render import render_markdown
render_markdown(hostile_markdown(sys.argv[1], 1_000_000))
"""


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_a_megabyte_of_hostile_markdown_renders(name):
    subprocess.run([sys.executable, "-c", LIVENESS_CHILD, name], cwd=ROOT, check=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_deep_nesting_is_capped_but_the_text_stays():
    html = str(render_markdown("> " * 5000 + "deep\n\n" + "<div>" * 5000 + "deeper"))
    assert "deep" in html and "deeper" in html
    assert 0 < html.count("<blockquote>") < 200 and html.count("<div>") < 200


def test_ordinary_notes_render_as_before():
    html = str(render_markdown(
        "# Title\n\nSome *notes* with `code`, a [link](https://example.org) and ~~old~~ text.\n\n"
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n```python\nprint(1)\n```\n\n- one\n  1. nested\n\n"
        "<details><summary>More</summary>hidden <kbd>x</kbd></details>\n\n<!-- a comment -->\n", shift_headings=2))
    page = BeautifulSoup(html, "html.parser")
    assert page.h3.get_text() == "Title" and page.em.get_text() == "notes" and page.find("code").get_text() == "code"
    assert page.a["href"] == "https://example.org" and page.find("del").get_text() == "old"
    assert [td.get("align") for td in page.find_all("td")] == ["left", "right"]
    assert page.find("code", class_="language-python").get_text() == "print(1)\n"
    assert page.ul.li.ol.li.get_text() == "nested"
    assert page.details.summary.get_text() == "More" and page.kbd.get_text() == "x"
    assert "a comment" not in html


def test_lone_surrogates_do_not_break_rendering():
    assert "ok" in str(render_markdown("ok \ud800"))
