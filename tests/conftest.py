"""Shared fixtures: every test logs into its own folder, with no run or experiment left over."""

from __future__ import annotations

import signal

import pytest
from helpers import ENV_NAMES

import logger
from logger import fluent, paths

# A shell starting the suite in the background (`make test &`, a CI runner without a terminal) leaves SIGINT
# ignored, and children inherit that: a training script under test would then never see its Ctrl-C, and a
# `reporter serve` stopped by SIGINT would run until killed. Give the suite, and so its children, the
# interactive default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def _a_cache_folder_of_the_suite(tmp_path_factory):
    """The suite's builds keep what they read in a cache folder of its own, not in the user's
    (~/.cache/flowsheet/builds would gain a file per test site); the Vega bundle made there before is
    copied in, so it is not made again (2-3 s)."""
    import os
    import shutil

    from logger.mirror import cache_home

    if "FLOWSHEET_CACHE_DIR" in os.environ:
        yield
        return
    user, ours = cache_home(), tmp_path_factory.mktemp("flowsheet-cache")
    for bundle in user.glob("vega-bundle-*.js") if user.is_dir() else []:
        shutil.copy(bundle, ours / bundle.name)
    os.environ["FLOWSHEET_CACHE_DIR"] = str(ours)
    yield
    os.environ.pop("FLOWSHEET_CACHE_DIR", None)


@pytest.fixture
def log_dir(tmp_path, monkeypatch):
    """A fresh log directory chosen with set_log_dir, and a clean slate of fluent state around the test."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "runs"
    logger.set_log_dir(folder)
    fluent._chosen_experiment = None
    yield folder
    while logger.active_run() is not None:
        logger.end_run()
    for run in list(fluent._open_runs.values()):
        run.end()
    fluent._chosen_experiment = None
    paths.set_log_dir(None)


@pytest.fixture(autouse=True)
def _environment_left_as_found():
    """The variables that choose where and into what runs log are as before every test: MLflow's
    set_experiment exports MLFLOW_EXPERIMENT_ID itself, and flowsheet reads it, so a test that calls it
    would otherwise send later tests' runs into its experiment."""
    import os

    before = {name: os.environ.get(name) for name in ENV_NAMES}
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
