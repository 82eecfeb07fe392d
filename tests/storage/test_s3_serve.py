"""`reporter serve s3://...`: serves the copy and keeps syncing it, so a run uploaded later shows up."""

from __future__ import annotations

import fsspec
import orjson
from serving import Server, wait_for


def _lines(*records: dict) -> bytes:
    return b"".join(orjson.dumps({"v": 1, **record}) + b"\n" for record in records)


def test_serve_from_s3_shows_a_run_uploaded_while_it_serves(s3, tmp_path):
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.pipe(f"{s3}/runs/e1/experiment.jsonl", _lines({"kind": "experiment", "t": 1, "experiment_id": "e1",
                                                      "name": "remote-exp"}))
    fs.pipe(f"{s3}/runs/e1/r1/run@a.000000000000.jsonl", _lines(
        {"kind": "start", "t": 10, "run_id": "r1", "experiment_id": "e1", "name": "first-run", "system": {}},
        {"kind": "end", "t": 20, "status": "FINISHED"}))
    server = Server(tmp_path, f"s3://{s3}/runs")
    try:
        server.wait_ready()
        assert "first-run" in server.get("")
        fs.pipe(f"{s3}/runs/e1/r2/run@b.000000000000.jsonl", _lines(
            {"kind": "start", "t": 30, "run_id": "r2", "experiment_id": "e1", "name": "later-run", "system": {}}))
        wait_for(lambda: "later-run" in server.get(""), "the uploaded run on the served home page")
    finally:
        server.stop()
    assert fs.find(f"{s3}/runs") == [f"{s3}/runs/e1/experiment.jsonl", f"{s3}/runs/e1/r1/run@a.000000000000.jsonl",
                                     f"{s3}/runs/e1/r2/run@b.000000000000.jsonl"]  # nothing written there
