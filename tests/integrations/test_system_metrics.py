"""System metrics: MLflow's names, a sampling thread that lives as long as its run, and its switches."""

from __future__ import annotations

import json
import sys
import threading
import time
import types

import pytest
from ondisk import points_of

import logger
from logger.reader import read_logs

pytest.importorskip("psutil")

from logger.system_metrics import (  # noqa: E402
    ENABLE_ENV,
    INTERVAL_ENV,
    NODE_ID_ENV,
    Sampler,
    SystemMetricsMonitor,
)

CORE = {"cpu_utilization_percentage", "system_memory_usage_megabytes", "system_memory_usage_percentage",
        "disk_usage_percentage", "disk_usage_megabytes", "disk_available_megabytes",
        "network_receive_megabytes", "network_transmit_megabytes"}
THREAD = "flowsheet-system-metrics"


def logged_steps(run, key: str = "system/cpu_utilization_percentage") -> list[int]:
    """The steps of `key` in the run's file so far (the writer is flushed first)."""
    run.flush()
    lines = (json.loads(line) for line in (run.folder / "run.jsonl").read_bytes().splitlines())
    return [point["step"] for point in points_of(list(lines)) if point["key"] == key]


def wait_for_samples(run, count: int, key: str = "system/cpu_utilization_percentage") -> None:
    for _ in range(800):  # at most ~20 s on a loaded machine; a sample comes every 0.05 s
        if len(logged_steps(run, key)) >= count:
            return
        time.sleep(0.025)
    pytest.fail(f"fewer than {count} samples of {key} were logged")


def sampling_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == THREAD]


def test_a_sample_has_mlflows_names_and_no_gpu_without_nvidia_ml_py(monkeypatch, recwarn):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # as if nvidia-ml-py were not installed
    sample = Sampler().sample()
    assert set(sample) == CORE
    assert 0 <= sample["system_memory_usage_percentage"] <= 100 and sample["disk_available_megabytes"] > 0
    assert recwarn.list == []


def fake_nvml(fail_init: bool = False) -> types.ModuleType:
    nvml = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    def init():
        if fail_init:
            raise NVMLError("NVML Shared Library Not Found")

    nvml.NVMLError = NVMLError
    nvml.nvmlInit = init
    nvml.nvmlDeviceGetCount = lambda: 2
    nvml.nvmlDeviceGetHandleByIndex = lambda i: i
    nvml.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=2e9 * (h + 1), total=8e9)
    nvml.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=40 + h)
    nvml.nvmlDeviceGetPowerUsage = lambda h: 150_000
    nvml.nvmlDeviceGetEnforcedPowerLimit = lambda h: 300_000
    return nvml


def test_nvidia_gpus_are_read_with_mlflows_names(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml())
    sample = Sampler().sample()
    assert {key: value for key, value in sample.items() if key.startswith("gpu_1")} == {
        "gpu_1_memory_usage_percentage": 50.0, "gpu_1_memory_usage_megabytes": 4000.0,
        "gpu_1_utilization_percentage": 41.0, "gpu_1_power_usage_watts": 150.0, "gpu_1_power_usage_percentage": 50.0}
    assert "gpu_0_utilization_percentage" in sample and set(sample) >= CORE


def test_a_gpu_library_that_finds_no_gpu_is_quiet(monkeypatch, recwarn):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(fail_init=True))
    assert set(Sampler().sample()) == CORE
    assert recwarn.list == []


def test_start_run_samples_in_the_background_until_the_run_ends(log_dir, monkeypatch):
    monkeypatch.setenv(INTERVAL_ENV, "0.05")
    with logger.start_run(log_system_metrics=True) as run:
        wait_for_samples(run, 3)
    assert sampling_threads() == []  # stopped with the run
    [read] = read_logs(log_dir).runs.values()
    assert read.status == "FINISHED"
    assert {key.removeprefix("system/") for key in read.metrics} == CORE
    steps = list(read.metrics["system/cpu_utilization_percentage"].steps)
    assert steps == list(range(len(steps))) and len(steps) >= 3  # step = sample index
    kinds = [json.loads(line)["kind"] for line in (run.folder / "run.jsonl").read_bytes().splitlines()]
    assert kinds[-1] == "end"  # the last sample is written before the run's end


def test_a_resumed_run_goes_on_from_the_last_step(log_dir, monkeypatch):
    monkeypatch.setenv(INTERVAL_ENV, "0.05")
    with logger.start_run(log_system_metrics=True) as run:
        wait_for_samples(run, 2)
    first = len(logged_steps(run))
    with logger.start_run(run_id=run.info.run_id, log_system_metrics=True) as resumed:
        wait_for_samples(resumed, first + 2)
    [read] = read_logs(log_dir).runs.values()
    steps = list(read.metrics["system/disk_usage_percentage"].steps)
    assert steps == list(range(len(steps))) and len(steps) >= first + 2


def test_the_environment_and_the_switches_choose_which_runs_sample(log_dir, monkeypatch):
    monkeypatch.setenv(ENABLE_ENV, "false")
    with logger.start_run() as run:
        assert run._before_end == []
    logger.enable_system_metrics_logging()
    with logger.start_run() as run:
        assert len(run._before_end) == 1  # the sampler's stop
    with logger.start_run(log_system_metrics=False) as run:
        assert run._before_end == []
    logger.disable_system_metrics_logging()
    with logger.start_run(log_system_metrics=True) as run:
        assert len(run._before_end) == 1
    assert sampling_threads() == []


def test_without_psutil_asking_raises_and_the_environment_only_warns(log_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "psutil", None)
    with pytest.raises(ImportError, match="psutil"):
        logger.start_run(log_system_metrics=True)
    assert logger.active_run() is None  # refused before a run was made
    monkeypatch.setenv(ENABLE_ENV, "true")
    with pytest.warns(UserWarning, match="psutil"), logger.start_run() as run:
        assert run._before_end == []


def test_a_node_id_goes_into_the_names(log_dir, monkeypatch):
    monkeypatch.setenv(NODE_ID_ENV, "node-a")

    class Fixed:
        def sample(self):
            return {"cpu_utilization_percentage": 12.5}

    with logger.start_run() as run:
        monitor = SystemMetricsMonitor(run, 0.01, sampler=Fixed())
        monitor.start()
        wait_for_samples(run, 2, key="system/node-a/cpu_utilization_percentage")
        monitor.stop()
        assert not monitor._thread.is_alive()
