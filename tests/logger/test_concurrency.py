"""Several threads and processes writing one run: no line lost, none interleaved."""

import subprocess
import sys
import textwrap
import threading

from helpers import clean_env
from ondisk import lines_of, points_of

import logger


def test_eight_processes_into_one_run(log_dir):
    with logger.start_run() as run:
        pass
    code = """
        import sys, logger
        worker = sys.argv[1]
        with logger.start_run(run_id=sys.argv[2]):
            for step in range(10_000):
                logger.log_metric(f"worker{worker}", step * 0.5, step=step)
    """
    processes = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(i), run.info.run_id],
                                  env=clean_env(FLOWSHEET_DIR=str(log_dir))) for i in range(8)]
    assert [p.wait(timeout=120) for p in processes] == [0] * 8
    events = lines_of(run.folder / "run.jsonl")  # strict: any torn or interleaved line fails here
    metrics = [e for e in events if e["kind"] == "metric"]
    assert len(metrics) == 80_000
    for worker in range(8):
        steps = [e["step"] for e in metrics if e["key"] == f"worker{worker}"]
        assert steps == list(range(10_000))
    assert sum(e["kind"] == "end" for e in events) == 9


def test_threads_share_one_run_object(log_dir):
    run = logger.create_run()

    def work(worker):
        for step in range(5_000):
            run.log_metric(f"t{worker}", step, step=step)
            if step % 1000 == 0:
                run.set_tag(f"progress{worker}", step)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.end()
    metrics = [e for e in lines_of(run.folder / "run.jsonl") if e["kind"] == "metric"]
    assert len(metrics) == 40_000
    for worker in range(8):
        assert [e["value"] for e in metrics if e["key"] == f"t{worker}"] == list(range(5_000))


def test_lines_appended_while_drains_take_the_buffer_are_written_once(log_dir):
    """Threads append to the writer's buffer without a lock while flush() drains it; with the GIL handed
    over every microsecond, each event still lands exactly once and every line is whole."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        run = logger.create_run()
        done = threading.Event()

        def work(worker):
            for step in range(3_000):
                run.log_metric(f"t{worker}", step + 0.5, step=step)
                if step % 7 == 0:
                    run.log_metrics({f"b{worker}": float(step)}, step=step)

        def drain():
            while not done.is_set():
                run.flush()

        drainer = threading.Thread(target=drain)
        drainer.start()
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done.set()
        drainer.join()
        run.end()
    finally:
        sys.setswitchinterval(previous)
    points = points_of(lines_of(run.folder / "run.jsonl"))  # strict JSON: a torn or merged line fails here
    for worker in range(4):
        assert [p["step"] for p in points if p["key"] == f"t{worker}"] == list(range(3_000))
        assert [p["step"] for p in points if p["key"] == f"b{worker}"] == list(range(0, 3_000, 7))
