"""Many writers at once, and a reader following them: exact counts, whole lines, one experiment per name.

tests/logger/test_concurrency.py covers many writers into one run; here each thread of each process
has runs of its own, every process races to create the same experiment, and a LogReader refreshes in
a loop the whole time.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

from hardening.knobs import EVENTS_PER_WRITER, WRITERS
from helpers import clean_env
from ondisk import lines_of

import logger
from logger import experiments
from logger.reader import LogReader, read_logs

SHARED = "shared \u2713 experiment"
THREADS = 3

WORKER = """
    import sys, threading, time, logger
    worker, threads, events, start_at = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    time.sleep(max(0.0, start_at - time.time()))  # all processes race from the same moment
    logger.set_experiment(sys.argv[5])

    def work(thread):
        run = logger.create_run(run_name=f"w{worker}t{thread}")
        key = f"w{worker}t{thread}"
        for step in range(events):
            run.log_metric(key, step + 0.5, step=step)
            if step % 997 == 0:
                run.log_metrics({"shared": float(step), "other": 1.0}, step=step)
        run.end()

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
"""


def check_snapshot(data, previous: dict) -> dict:
    """Every point the reader shows is one a writer wrote, in order; nothing shrinks between refreshes."""
    assert data.problems == []
    counts = {}
    for run in data.runs.values():
        for key, history in run.metrics.items():
            steps, values = list(history.steps), list(history.values)
            if key.startswith("w"):
                assert steps == list(range(len(steps)))
                assert values == [step + 0.5 for step in steps]
            counts[(run.run_id, key)] = len(steps)
    for where, count in previous.items():
        assert counts.get(where, 0) >= count, f"{where} went from {count} to {counts.get(where)} points"
    return counts


def test_processes_and_threads_into_many_runs_with_a_reader_following(log_dir):
    log_dir.mkdir(parents=True)
    start_at = time.time() + 1.0
    processes = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(WORKER), str(worker), str(THREADS),
                                   str(EVENTS_PER_WRITER), str(start_at), SHARED],
                                  env=clean_env(FLOWSHEET_DIR=str(log_dir)), stderr=subprocess.PIPE, text=True)
                 for worker in range(WRITERS)]
    reader = LogReader(log_dir)
    counts: dict = {}
    refreshes = 0
    while any(p.poll() is None for p in processes):
        changes = reader.refresh()
        assert changes.problems == []
        counts = check_snapshot(reader.data, counts)
        refreshes += 1
    assert [p.wait() for p in processes] == [0] * WRITERS, [p.stderr.read() for p in processes]
    reader.refresh()
    counts = check_snapshot(reader.data, counts)
    assert refreshes > 1
    # One experiment, created once, holds every run; every line of every file is strict JSON.
    [folder] = [p for p in log_dir.iterdir() if p.is_dir()]
    assert folder.name == experiments.experiment_id_for(SHARED)
    assert [e["kind"] for e in lines_of(folder / "experiment.jsonl")] == ["experiment"]
    data = read_logs(log_dir)
    assert [e.name for e in data.experiments.values()] == [SHARED]
    assert len(data.runs) == WRITERS * THREADS
    for run in data.runs.values():
        assert run.status == "FINISHED"
        [key] = [k for k in run.metrics if k.startswith("w")]
        assert key == run.name and len(run.metrics[key]) == EVENTS_PER_WRITER
        assert len(run.metrics["shared"]) == len(range(0, EVENTS_PER_WRITER, 997))
        events = lines_of(folder / run.run_id / "run.jsonl")
        kinds = [e["kind"] for e in events]  # log_metric: a line a point; log_metrics: a line a call
        assert kinds.count("metric") == EVENTS_PER_WRITER
        assert kinds.count("metrics") == len(range(0, EVENTS_PER_WRITER, 997))


def test_threads_racing_set_experiment_get_one_experiment(log_dir):
    barrier = threading.Barrier(8)
    found, errors = [], []

    def race(name):
        try:
            barrier.wait()
            found.append(logger.set_experiment(name).experiment_id)
        except Exception as error:  # collected: an exception in a thread would otherwise vanish
            errors.append(error)

    names = ["race"] * 6 + ["other", "other"]
    threads = [threading.Thread(target=race, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(set(found)) == sorted({experiments.experiment_id_for("race"), experiments.experiment_id_for("other")})
    for name in ("race", "other"):
        assert lines_of(log_dir / experiments.experiment_id_for(name) / "experiment.jsonl")[0]["name"] == name
        assert [e["kind"] for e in lines_of(log_dir / experiments.experiment_id_for(name) / "experiment.jsonl")] \
            == ["experiment"]


def test_threads_each_with_an_active_run_log_to_their_own(log_dir):
    barrier = threading.Barrier(6)
    ids, errors = {}, []

    def work(index):
        try:
            barrier.wait()
            with logger.start_run(run_name=f"thread-{index}") as run:
                ids[index] = run.info.run_id
                for step in range(2_000):
                    logger.log_metric("loss", index + step / 10_000, step=step)
                    if step % 500 == 0:
                        logger.set_tag("progress", step)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    data = read_logs(log_dir)
    assert data.problems == []
    for index, run_id in ids.items():
        run = data.runs[run_id]
        assert run.name == f"thread-{index}" and run.status == "FINISHED"
        assert list(run.metrics["loss"].values) == [index + step / 10_000 for step in range(2_000)]
        assert run.tags["progress"] == 1500
