"""Logs on object storage: reading a prefix from an S3-compatible server (moto, server mode, on 127.0.0.1).

At scale 1: 1,000 runs x 10 params x 5 metrics x 100 steps (bench_site's `write_runs`) uploaded to a
bucket. Side by side, median of 3 repeats:
- the first read: a sync into an empty local copy (logger/mirror.py), then `LogReader.refresh()`;
- the read after one run gained a segment object (one metric line): a sync of the same copy, then the
  same reader's refresh, as `reporter serve` does (and as `reporter build` does before building).
Bytes are those the sync fetched (object bodies, checked against the server's own count of response
bytes); the goal is that the second read fetches the new object only and takes a small part of the first.

    python -m benchmarks.bench_storage [scale]
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

from benchmarks.bench_site import write_runs
from benchmarks.common import table

RUNS, PARAMS, METRICS, STEPS = 1000, 10, 5, 100
TARGET_RATIO = 0.05  # the second read within 5% of the first
REPEATS = 3


def _env(endpoint: str, cache: Path) -> dict[str, str | None]:
    wanted = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
              "AWS_DEFAULT_REGION": "us-east-1", "FLOWSHEET_CACHE_DIR": str(cache)}
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    return before


def _restore(before: dict[str, str | None]) -> None:
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _piece(run_dir: str, index: int) -> tuple[str, bytes]:
    line = orjson.dumps({"v": 1, "kind": "metric", "t": 1_900_000_000_000 + index, "key": "late",
                         "value": float(index), "step": index}) + b"\n"
    return f"{run_dir}/run@bench-{index}.000000000000.jsonl", line


def run(scale: float = 1.0) -> dict:
    import fsspec
    from moto.server import ThreadedMotoServer

    from logger.mirror import sync
    from logger.reader import LogReader

    factor = max(scale, 1e-6)
    runs, steps = max(2, round(RUNS * factor)), max(2, round(STEPS * factor ** 0.5))
    work = Path(tempfile.mkdtemp(prefix="flowsheet-bench-storage-"))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    before = _env(f"http://{host}:{port}", work / "cache")
    try:
        logs = work / "logs"
        points = write_runs(logs, "exp", runs, PARAMS, METRICS, steps)
        fs = fsspec.filesystem("s3", skip_instance_cache=True)
        fs.mkdir("bench")
        fs.put(str(logs) + "/", "bench/runs/", recursive=True)
        url = "s3://bench/runs"
        total = sum(p.stat().st_size for p in logs.rglob("*") if p.is_file())
        run_dir = "bench/runs/exp/" + sorted(p.name for p in (logs / "exp").iterdir() if p.is_dir())[0]
        first_s, first_b, again_s, again_b, piece_b, listing_s = [], [], [], [], [], []
        for repeat in range(REPEATS):
            cache = work / f"cache{repeat}"
            os.environ["FLOWSHEET_CACHE_DIR"] = str(cache)
            start = time.perf_counter()
            synced = sync(url)
            reader = LogReader(synced.path)
            reader.refresh()
            first_s.append(time.perf_counter() - start)
            first_b.append(synced.fetched_bytes)
            key, line = _piece(run_dir, repeat)
            fs.pipe(key, line)
            start = time.perf_counter()
            synced = sync(url)
            changes = reader.refresh()
            again_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            fs.invalidate_cache()
            fs.find("bench/runs", detail=True)  # the listing every sync makes: its floor on this server
            listing_s.append(time.perf_counter() - start)
            again_b.append(synced.fetched_bytes)
            piece_b.append(len(line))
            assert len(changes.runs) == 1, changes.runs
            fs.rm(key)
            shutil.rmtree(cache)
    finally:
        _restore(before)
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    first, again = statistics.median(first_s), statistics.median(again_s)
    ratio = again / first
    fetched_only_new = again_b == piece_b
    rows = [
        {"measure": f"first read from S3: {runs} runs, {points:,} points, {total / 1e6:.1f} MB (sync + read)",
         "value": f"{first:.2f} s, {statistics.median(first_b):,.0f} bytes fetched"},
        {"measure": "read after one appended segment object (sync + incremental refresh)",
         "value": f"{again:.3f} s, {statistics.median(again_b):,.0f} bytes fetched",
         "target": f"only the new object ({piece_b[0]} bytes)", "met": fetched_only_new},
        {"measure": "second read / first read (seconds, side by side)", "value": f"{ratio:.3f}",
         "target": f"< {TARGET_RATIO}", "met": ratio < TARGET_RATIO},
        {"measure": "of which: listing the prefix alone (moto's listing; the floor of any sync)",
         "value": f"{statistics.median(listing_s):.3f} s"},
    ]
    print(table("Logs on object storage (moto S3 server on 127.0.0.1)", rows))
    return {"runs": runs, "points": points, "bytes_total": total, "first_s": first, "first_bytes": first_b,
            "again_s": again, "again_bytes": again_b, "ratio": ratio, "listing_s": statistics.median(listing_s)}


if __name__ == "__main__":
    run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
