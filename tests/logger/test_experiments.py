import pytest
from ondisk import lines_of

import logger


def test_create_experiment_returns_id_and_writes_one_line(log_dir):
    experiment_id = logger.create_experiment("houses", tags={"team": "pricing"})
    assert experiment_id.startswith("houses-")
    [first, tag] = lines_of(log_dir / experiment_id / "experiment.jsonl")
    assert first["kind"] == "experiment" and first["name"] == "houses" and first["v"] == 1
    assert tag == {**tag, "kind": "experiment_tag", "key": "team", "value": "pricing"}


def test_create_experiment_twice_raises(log_dir):
    logger.create_experiment("houses")
    with pytest.raises(ValueError, match="already exists"):
        logger.create_experiment("houses")


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_experiment_name_must_be_text(log_dir, bad):
    with pytest.raises(ValueError, match="experiment name"):
        logger.create_experiment(bad)


def test_set_experiment_gets_or_creates_and_becomes_default(log_dir):
    made = logger.set_experiment("houses")
    again = logger.set_experiment("houses")
    assert made.experiment_id == again.experiment_id
    assert (made.name, made.tags) == ("houses", {})
    with logger.start_run() as run:
        pass
    assert run.info.experiment_id == made.experiment_id


def test_set_experiment_by_id_and_unknown_id(log_dir):
    experiment_id = logger.create_experiment("a")
    assert logger.set_experiment(experiment_id=experiment_id).name == "a"
    with pytest.raises(ValueError, match="no experiment with id"):
        logger.set_experiment(experiment_id="nope")


def test_get_experiment_by_name(log_dir):
    assert logger.get_experiment_by_name("x") is None
    experiment_id = logger.create_experiment("x")  # an artifact_location is refused: test_artifact_location.py
    found = logger.get_experiment_by_name("x")
    assert (found.experiment_id, found.artifact_location) == (experiment_id, None)


def test_names_that_slug_alike_stay_apart(log_dir):
    assert logger.create_experiment("My Exp") != logger.create_experiment("my-exp")
    assert logger.get_experiment_by_name("my-exp").name == "my-exp"


def test_runs_without_experiment_go_to_default(log_dir):
    with logger.start_run() as run:
        pass
    assert logger.get_experiment(run.info.experiment_id).name == "Default"


@pytest.mark.parametrize("prefix", ["FLOWSHEET", "MLFLOW"])
def test_experiment_name_from_environment(log_dir, monkeypatch, prefix):
    monkeypatch.setenv(f"{prefix}_EXPERIMENT_NAME", "from-env")
    with logger.start_run() as run:
        pass
    assert logger.get_experiment(run.info.experiment_id).name == "from-env"


@pytest.mark.parametrize("prefix", ["FLOWSHEET", "MLFLOW"])
def test_experiment_id_from_environment(log_dir, monkeypatch, prefix):
    experiment_id = logger.create_experiment("by-id")
    monkeypatch.setenv(f"{prefix}_EXPERIMENT_ID", experiment_id)
    with logger.start_run() as run:
        pass
    assert run.info.experiment_id == experiment_id


def test_flowsheet_variables_win_over_mlflow_ones(log_dir, monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "mlflow-one")
    monkeypatch.setenv("FLOWSHEET_EXPERIMENT_NAME", "ours")
    with logger.start_run() as run:
        pass
    assert logger.get_experiment(run.info.experiment_id).name == "ours"


def test_set_experiment_tag(log_dir):
    logger.set_experiment("tagged")
    logger.set_experiment_tag("mlflow.note.content", "# Notes")
    assert logger.get_experiment_by_name("tagged").tags == {"mlflow.note.content": "# Notes"}


def test_log_dir_from_environment_and_file_uri(tmp_path, monkeypatch):
    logger.set_log_dir(None)
    monkeypatch.setenv("FLOWSHEET_DIR", str(tmp_path / "env-dir"))
    assert logger.get_log_dir() == tmp_path / "env-dir"
    logger.set_tracking_uri((tmp_path / "uri dir").as_uri())
    assert logger.get_log_dir() == tmp_path / "uri dir"
    assert logger.get_tracking_uri() == (tmp_path / "uri dir").as_uri()
    with pytest.raises(ValueError, match="tracking URI"):
        logger.set_tracking_uri("http://localhost:5000")
    logger.set_log_dir(None)


def test_default_log_dir_is_runs_in_the_working_directory(tmp_path, monkeypatch):
    logger.set_log_dir(None)
    monkeypatch.delenv("FLOWSHEET_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert logger.get_log_dir() == tmp_path / "runs"


def test_racing_processes_create_one_experiment(tmp_path):
    code = """
        import os, sys, time, logger
        while time.time() < float(sys.argv[1]): pass
        print(logger.set_experiment("race").experiment_id)
    """
    import subprocess
    import sys
    import textwrap
    import time

    from helpers import clean_env

    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(start)], cwd=tmp_path,
                              env=clean_env(), stdout=subprocess.PIPE, text=True) for _ in range(8)]
    ids = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(ids) == 1
    folders = [p for p in (tmp_path / "runs").iterdir()]
    assert len(folders) == 1
    assert [e["kind"] for e in lines_of(folders[0] / "experiment.jsonl")] == ["experiment"]
