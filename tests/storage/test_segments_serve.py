"""`reporter serve` on a local log folder: a segment file that appears while it serves joins its run."""

from __future__ import annotations

import orjson
from serving import Server, append_from_another_process, wait_for


def test_serve_sees_a_new_segment_of_a_run(tmp_path):
    run_folder = tmp_path / "runs" / "e1" / "r1"
    run_folder.mkdir(parents=True)
    (run_folder.parent / "experiment.jsonl").write_bytes(orjson.dumps(
        {"v": 1, "kind": "experiment", "t": 1, "experiment_id": "e1", "name": "exp"}) + b"\n")
    (run_folder / "run.jsonl").write_bytes(orjson.dumps(
        {"v": 1, "kind": "start", "t": 10, "run_id": "r1", "experiment_id": "e1", "name": "the-run",
         "system": {}}) + b"\n")
    server = Server(tmp_path, tmp_path / "runs")
    try:
        server.wait_ready()
        assert "rank1_loss" not in server.get("")
        append_from_another_process(run_folder / "run@rank1-node2-9.jsonl",
                                    {"v": 1, "kind": "metric", "t": 20, "key": "rank1_loss", "value": 0.25,
                                     "step": 0})

        wait_for(lambda: "rank1_loss" in server.get("runs/r1/index.html"), "the new segment's metric on the run page")
        assert sorted(p.name for p in (tmp_path / "site" / "runs").iterdir()) == ["r1"]  # one run, not two
    finally:
        server.stop()
