"""runs-data.js and its shards: script files a page loads with <script src> (and `reporter export` inlines the
first), so their JSON must not change how HTML parses; cut so the first rows of a huge table load first."""

from __future__ import annotations

import hashlib
import json
import re

from logger.order import sort_rows

from reporter.site.tables import runs_data_files, runs_data_js, script_safe, shard_order

HOSTILE = "<!--<script>x</script>--> \\<!-- </SCRIPT"
SHARD_CALL = re.compile(r"window\.FLOWSHEET_RUNS_SHARD\((\d+),(\"[0-9a-f]+\"),(.*)\);\n", re.DOTALL)


def row(i: int, parent: int | None = None, value: str = "v") -> dict:
    return {"attributes": {"run_id": f"r{i:04d}", "run_name": f"run-{i}", "start_time": 1000 + i,
                           "parent_run_id": None if parent is None else f"r{parent:04d}", "experiment_id": "e"},
            "params": {"p": value}, "metrics": {"m": i / 7}, "tags": {}, "view": {"url": f"runs/r{i}/index.html"}}


def first_file(text: str) -> dict:
    assert text.startswith("window.FLOWSHEET_RUNS = ") and text.endswith(";\n")
    return json.loads(text.removeprefix("window.FLOWSHEET_RUNS = ").removesuffix(";\n"))


def shard_file(text: str) -> tuple[int, str, list]:
    found = SHARD_CALL.fullmatch(text)
    assert found, text[:80]
    return int(found[1]), json.loads(found[2]), json.loads(found[3])


def test_comment_openers_and_script_ends_are_escaped_and_mean_the_same():
    text = runs_data_js([row(1, value=HOSTILE)], {})
    assert "<!--" not in text and "</" not in text
    assert first_file(text)["rows"][0]["params"]["p"] == HOSTILE
    assert json.loads(script_safe(json.dumps(HOSTILE))) == HOSTILE


def test_every_shard_is_escaped_and_holds_its_rows_as_json():
    rows = [row(i, value=HOSTILE + str(i)) for i in range(30)]
    files = runs_data_files(rows, {"e": "experiments/e/index.html"}, shard_rows=4, first_rows=4)
    assert len(files) == 8  # 30 rows in shards of 4: runs-data.js and seven more
    values = []
    for name, text in files.items():
        assert "<!--" not in text and "</" not in text, name
        shard = first_file(text)["rows"] if name == "runs-data.js" else shard_file(text)[2]
        values += [r["params"]["p"] for r in shard]
    assert sorted(values) == sorted(HOSTILE + str(i) for i in range(30))


def test_shards_follow_the_first_view_and_the_index_names_each_with_its_hash():
    # three top-level runs with children: the children come after every top-level run, each part newest first
    rows = [row(i, parent=None if i % 5 == 0 else i - i % 5) for i in range(15)]
    files = runs_data_files(rows, {}, shard_rows=4, first_rows=4)
    index = first_file(files["runs-data.js"])
    assert index["total"] == 15 and index["tops"] == 3 and index["several"] is False
    names = [r["attributes"]["run_name"] for r in index["rows"]]
    for shard in index["shards"]:
        number, version, shard_rows = shard_file(files[shard["src"]])
        assert shard["src"] == f"runs-data-{number}.js" and shard["rows"] == len(shard_rows)
        assert version == shard["v"] == hashlib.sha256(files[shard["src"]].split(",", 2)[2][:-3].encode()).hexdigest()[:12]
        names += [r["attributes"]["run_name"] for r in shard_rows]
    assert names[:3] == ["run-10", "run-5", "run-0"]
    assert names[3:] == [f"run-{i}" for i in (14, 13, 12, 11, 9, 8, 7, 6, 4, 3, 2, 1)]
    assert [r["attributes"]["run_name"] for r in shard_order(rows)[0]] == names
    assert [len(first_file(files["runs-data.js"])["rows"])] + [s["rows"] for s in index["shards"]] == [4, 4, 4, 3]


def test_the_first_file_holds_the_first_page_and_the_others_a_shard_each():
    files = runs_data_files([row(i) for i in range(2500)], {})
    index = first_file(files["runs-data.js"])
    assert len(index["rows"]) == 100 and [s["rows"] for s in index["shards"]] == [1000, 1000, 400]
    assert index["rows"][0]["attributes"]["run_name"] == "run-2499"  # newest first


def test_a_shard_is_cut_by_bytes_too_and_the_first_file_stays_small_for_a_huge_table():
    rows = [row(i, value="x" * 1000) for i in range(5000)]
    files = runs_data_files(rows, {}, shard_rows=1000, shard_bytes=100_000)
    first = files["runs-data.js"]
    assert len(first.encode()) < 120_000  # the first rows and an index of 50-odd shards
    assert all(len(text.encode()) < 110_000 for text in files.values())
    index = first_file(first)
    assert len(index["rows"]) + sum(s["rows"] for s in index["shards"]) == 5000


def test_a_row_larger_than_a_shard_gets_a_shard_of_its_own():
    rows = [row(0, value="y" * 5000), row(1), row(2)]
    files = runs_data_files(rows, {}, shard_rows=10, shard_bytes=1000)
    index = first_file(files["runs-data.js"])
    assert len(index["rows"]) + sum(s["rows"] for s in index["shards"]) == 3
    assert all(s["rows"] >= 1 for s in index["shards"])


def test_the_export_gets_every_row_in_one_script():
    rows = [row(i) for i in range(2500)]
    payload = first_file(runs_data_js(rows, {}))
    assert payload["shards"] == [] and len(payload["rows"]) == 2500


def test_each_row_carries_its_place_in_the_default_order():
    # the browser orders matching rows by it without sorting: children come later in the files, not by rank
    rows = [row(i, parent=None if i % 5 == 0 else i - i % 5) for i in range(15)]
    files = runs_data_files(rows, {}, shard_rows=4)
    index = first_file(files["runs-data.js"])
    loaded = index["rows"] + [r for s in index["shards"] for r in shard_file(files[s["src"]])[2]]
    by_rank = sorted(loaded, key=lambda r: r["view"]["rank"])
    assert [r["attributes"]["run_id"] for r in by_rank] == [r["attributes"]["run_id"] for r in sort_rows(rows)]
    assert {r["attributes"]["run_name"]: r["view"].get("children") for r in by_rank if r["view"].get("children")} == {
        "run-0": 4, "run-5": 4, "run-10": 4}  # a parent's toggle is drawn before its children's shard is in


def test_the_shards_are_made_without_holding_every_rows_text_twice():
    """Each shard's file is made as soon as its rows are cut: making the files needs little more memory
    than the files themselves (for 100,000 runs every row's JSON held beside them was ~100 MB more)."""
    import tracemalloc

    rows = [row(i, value="x" * 300) for i in range(20_000)]
    tracemalloc.start()
    try:
        files = runs_data_files(rows, {})
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(files) > 20 and sum(len(text) for text in files.values()) > 20_000 * 300
    assert peak - held < 0.8 * held  # one shard's texts, the order and ranks; every row's text again was 1.4x
