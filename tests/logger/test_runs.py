import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from helpers import clean_env, run_python
from ondisk import events_of, lines_of, run_folders

import logger


def statuses(log_dir, run_id):
    return [e["status"] for e in events_of(log_dir, run_id, "end")]


def test_with_block_records_start_and_finished(log_dir):
    with logger.start_run(run_name="first", description="the *first* run") as run:
        assert logger.active_run() is run
        assert run.info.status == "RUNNING"
    assert logger.active_run() is None
    assert run.info.status == "FINISHED" and run.info.end_time >= run.info.start_time
    start, end = events_of(log_dir, run.info.run_id)
    assert start["kind"] == "start" and start["name"] == "first" and start["description"] == "the *first* run"
    assert end == {**end, "kind": "end", "status": "FINISHED"}
    assert len(run.info.run_id) == 32


def test_exception_in_with_block_records_failed(log_dir):
    with pytest.raises(ZeroDivisionError), logger.start_run() as run:
        raise ZeroDivisionError
    assert statuses(log_dir, run.info.run_id) == ["FAILED"]


def test_keyboard_interrupt_records_killed(log_dir):
    with pytest.raises(KeyboardInterrupt), logger.start_run() as run:
        raise KeyboardInterrupt
    assert statuses(log_dir, run.info.run_id) == ["KILLED"]


def test_end_run_with_status(log_dir):
    run = logger.start_run()
    logger.end_run("FAILED")
    assert logger.active_run() is None
    assert statuses(log_dir, run.info.run_id) == ["FAILED"]
    with pytest.raises(ValueError, match="status"):
        logger.start_run().end("DONE")


def test_second_run_without_nested_raises(log_dir):
    with logger.start_run() as outer:
        with pytest.raises(RuntimeError, match="already active"):
            logger.start_run()
        assert logger.active_run() is outer


def test_nesting_to_any_depth_records_parents(log_dir):
    with logger.start_run(run_name="a") as a, logger.start_run(run_name="b", nested=True) as b:
        with logger.start_run(run_name="c", nested=True) as c:
            logger.log_metric("depth", 3)
        assert logger.active_run() is b
    assert events_of(log_dir, b.info.run_id, "start")[0]["parent_run_id"] == a.info.run_id
    assert events_of(log_dir, c.info.run_id, "start")[0]["parent_run_id"] == b.info.run_id
    assert events_of(log_dir, c.info.run_id, "metric")[0]["value"] == 3
    assert events_of(log_dir, a.info.run_id, "metric") == []


def test_resume_by_id_appends_and_keeps_params_immutable(log_dir):
    with logger.start_run(run_name="resumable") as run:
        logger.log_param("lr", 0.1)
        logger.log_metric("loss", 1.0, step=0)
    with logger.start_run(run_id=run.info.run_id) as again:
        assert again.info.run_name == "resumable"
        logger.log_param("lr", 0.1)  # the same value is fine
        with pytest.raises(ValueError, match="immutable"):
            logger.log_param("lr", 0.2)
        logger.log_metric("loss", 0.5, step=1)
    kinds = [e["kind"] for e in events_of(log_dir, run.info.run_id)]
    assert kinds == ["start", "param", "metric", "end", "resume", "metric", "end"]


def test_resume_unknown_run_raises(log_dir):
    with pytest.raises(ValueError, match="no run with id"):
        logger.start_run(run_id="0" * 32)


@pytest.mark.parametrize("variable", ["FLOWSHEET_RUN_ID", "MLFLOW_RUN_ID"])
def test_run_id_from_environment_resumes(log_dir, monkeypatch, variable):
    with logger.start_run() as run:
        pass
    monkeypatch.setenv(variable, run.info.run_id)
    with logger.start_run() as again:
        logger.log_metric("x", 1)
    assert again.info.run_id == run.info.run_id
    assert [e["kind"] for e in events_of(log_dir, run.info.run_id)][-3:] == ["resume", "metric", "end"]


def test_logging_without_a_run_starts_one_like_mlflow(log_dir):
    logger.log_metric("x", 1.5)
    run = logger.active_run()
    assert run is not None
    logger.end_run()
    assert events_of(log_dir, run.info.run_id, "metric")[0]["value"] == 1.5


def test_run_objects_log_independently(log_dir):
    first, second = logger.create_run(run_name="one"), logger.create_run(run_name="two")
    for step in range(3):
        first.log_metric("loss", 1.0 / (step + 1), step=step)
        second.log_metric("loss", 2.0 / (step + 1), step=step)
        second.set_tag("step", step)
    first.end()
    second.end("FAILED")
    assert [e["value"] for e in events_of(log_dir, first.info.run_id, "metric")] == [1.0, 0.5, 1 / 3]
    assert statuses(log_dir, second.info.run_id) == ["FAILED"]
    assert logger.active_run() is None


def test_each_thread_has_its_own_active_run(log_dir):
    seen = {}

    def work(name):
        with logger.start_run(run_name=name) as run:
            for step in range(200):
                logger.log_metric("v", step, step=step)
            seen[name] = run

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({run.info.run_id for run in seen.values()}) == 4
    for run in seen.values():
        assert [e["value"] for e in events_of(log_dir, run.info.run_id, "metric")] == list(range(200))


def test_logging_to_an_ended_run_object_raises(log_dir):
    run = logger.create_run()
    run.end()
    with pytest.raises(RuntimeError, match="has ended"):
        run.log_metric("x", 1)


def test_system_information_is_recorded(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for command in (["git", "init", "-q"], ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                                               "--allow-empty", "-m", "x"]):
        subprocess.run(command, cwd=repo, check=True)
    (repo / "train.py").write_text("import logger\nwith logger.start_run():\n    pass\n")
    subprocess.run(["git", "add", "train.py"], cwd=repo, check=True)
    subprocess.run([sys.executable, "train.py", "--lr", "0.1"], cwd=repo, env=clean_env(), check=True)
    [folder] = run_folders(repo / "runs")
    system = lines_of(folder / "run.jsonl")[0]["system"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert system["git_commit"] == head and system["git_dirty"] is True and system["git_branch"]
    assert system["command"] == "train.py --lr 0.1" and system["entry_point"] == "train.py"
    assert system["python"] == ".".join(map(str, sys.version_info[:3]))
    assert system["user"] and system["host"] and system["pid"] > 0


@pytest.mark.parametrize("ending, status", [
    ("pass", "FINISHED"),
    ("raise RuntimeError('boom')", "FAILED"),
    ("raise KeyboardInterrupt", "KILLED"),
])
def test_runs_left_open_are_ended_at_exit(tmp_path, ending, status):
    done = run_python(f"""
        import logger
        logger.start_run()
        logger.log_metric("x", 1)
        {ending}
    """, cwd=tmp_path, check=False)
    [folder] = run_folders(tmp_path / "runs")
    events = lines_of(folder / "run.jsonl")
    assert [e["kind"] for e in events] == ["start", "metric", "end"], done.stderr
    assert events[-1]["status"] == status


def test_sigterm_ends_the_run_as_killed_with_data_flushed(tmp_path):
    code = """
        import time, logger
        with logger.start_run():
            for step in range(100):
                logger.log_metric("x", step, step=step)
            print("ready", flush=True)
            time.sleep(60)
    """
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=clean_env(),
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    [folder] = run_folders(tmp_path / "runs")
    events = lines_of(folder / "run.jsonl")
    assert len([e for e in events if e["kind"] == "metric"]) == 100
    assert events[-1] == {**events[-1], "kind": "end", "status": "KILLED"}
