"""System metrics while a run is open: CPU, memory, disk, network and NVIDIA GPUs, with MLflow's names.

    with logger.start_run(log_system_metrics=True):
        ...
    # or for every run: logger.enable_system_metrics_logging(), or MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=true

A daemon thread samples every 10 s (MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL, or
`set_system_metrics_sampling_interval`) and logs each sample at step = its index (after the last one
when a run is resumed), until the run ends. The names are MLflow's (mlflow/system_metrics/metrics/):
`system/cpu_utilization_percentage`, `system/system_memory_usage_megabytes`,
`system/system_memory_usage_percentage`, `system/disk_usage_percentage`, `system/disk_usage_megabytes`,
`system/disk_available_megabytes`, `system/network_receive_megabytes`, `system/network_transmit_megabytes`
(since the run started), and per GPU `system/gpu_<i>_utilization_percentage`,
`system/gpu_<i>_memory_usage_percentage`, `system/gpu_<i>_memory_usage_megabytes`,
`system/gpu_<i>_power_usage_watts`, `system/gpu_<i>_power_usage_percentage`. MLFLOW_SYSTEM_METRICS_NODE_ID
adds a node name: `system/<node>/...`. Megabytes are 10^6 bytes, as in MLflow.

Needs psutil (`pip install flowsheet[system]`). GPU metrics need nvidia-ml-py (`pynvml`) and a GPU;
without them they are left out without a word.
"""

from __future__ import annotations

import os
import threading
import warnings

ENABLE_ENV = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"
INTERVAL_ENV = "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"
NODE_ID_ENV = "MLFLOW_SYSTEM_METRICS_NODE_ID"
DEFAULT_INTERVAL = 10.0
PREFIX = "system/"
_MEGA = 1e6


def enable_system_metrics_logging() -> None:
    """Log system metrics in every run started from now on (start_run(log_system_metrics=False) opts out)."""
    os.environ[ENABLE_ENV] = "true"


def disable_system_metrics_logging() -> None:
    os.environ[ENABLE_ENV] = "false"


def set_system_metrics_sampling_interval(interval: float | None) -> None:
    """Seconds between samples for runs started from now on; None for the default (10 s)."""
    if interval is None:
        os.environ.pop(INTERVAL_ENV, None)
    else:
        os.environ[INTERVAL_ENV] = str(float(interval))


def wanted(log_system_metrics: bool | None) -> bool:
    """Whether a run starting now logs system metrics: the argument, else the environment. Asked for
    explicitly without psutil, it raises; switched on by the environment, it warns and goes on."""
    if log_system_metrics is None:
        log_system_metrics = os.environ.get(ENABLE_ENV, "").strip().lower() in ("true", "1")
        explicit = False
    else:
        explicit = True
    if not log_system_metrics:
        return False
    try:
        import psutil  # noqa: F401
    except ImportError:
        message = "system metrics need psutil: pip install 'flowsheet[system]' (or psutil)"
        if explicit:
            raise ImportError(message) from None
        warnings.warn(f"{message}; this run logs none", stacklevel=3)
        return False
    return True


def sampling_interval() -> float:
    try:
        interval = float(os.environ.get(INTERVAL_ENV) or DEFAULT_INTERVAL)
    except ValueError:
        return DEFAULT_INTERVAL
    return interval if interval > 0 else DEFAULT_INTERVAL


def start(run, resumed: bool = False) -> SystemMetricsMonitor:
    """Sample for `run` until it ends (the run stops the thread before it writes its end)."""
    monitor = SystemMetricsMonitor(run, sampling_interval(), first_step=_next_step(run) if resumed else 0)
    run._before_end.append(monitor.stop)
    monitor.start()
    return monitor


class Sampler:
    """One reading of the machine, as {MLflow's metric name without "system/": value}."""

    def __init__(self) -> None:
        import psutil

        self.psutil = psutil
        psutil.cpu_percent()  # the first call only starts the count: the first sample measures one interval
        network = psutil.net_io_counters()
        self._network_start = (network.bytes_recv, network.bytes_sent) if network else (0, 0)
        self.gpus = _nvidia_gpus()

    def sample(self) -> dict[str, float]:
        psutil = self.psutil
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(os.sep)
        values = {
            "cpu_utilization_percentage": round(psutil.cpu_percent(), 1),
            "system_memory_usage_megabytes": round(memory.used / _MEGA, 1),
            "system_memory_usage_percentage": round(memory.used / memory.total * 100, 1),
            "disk_usage_percentage": round(disk.percent, 1),
            "disk_usage_megabytes": round(disk.used / _MEGA, 1),
            "disk_available_megabytes": round(disk.free / _MEGA, 1),
        }
        network = psutil.net_io_counters()
        if network:
            values["network_receive_megabytes"] = (network.bytes_recv - self._network_start[0]) / _MEGA
            values["network_transmit_megabytes"] = (network.bytes_sent - self._network_start[1]) / _MEGA
        if self.gpus is not None:
            values.update(_gpu_sample(*self.gpus))
        return values


def _nvidia_gpus():
    """(pynvml, device handles), or None without nvidia-ml-py, a driver or a GPU."""
    try:
        import pynvml

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception:  # ImportError, NVMLError (no driver, no device), anything a broken install raises
        return None
    return (pynvml, handles) if handles else None


def _gpu_sample(pynvml, handles) -> dict[str, float]:
    values: dict[str, float] = {}
    for i, handle in enumerate(handles):
        try:
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            values[f"gpu_{i}_memory_usage_percentage"] = round(memory.used / memory.total * 100, 1)
            values[f"gpu_{i}_memory_usage_megabytes"] = round(memory.used / _MEGA, 1)
        except Exception:
            pass
        try:
            values[f"gpu_{i}_utilization_percentage"] = float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        except Exception:
            pass
        try:
            milliwatts = pynvml.nvmlDeviceGetPowerUsage(handle)
            values[f"gpu_{i}_power_usage_watts"] = round(milliwatts / 1000, 1)
            values[f"gpu_{i}_power_usage_percentage"] = round(
                milliwatts / pynvml.nvmlDeviceGetEnforcedPowerLimit(handle) * 100, 1)
        except Exception:
            pass
    return values


class SystemMetricsMonitor:
    """A daemon thread that logs a sample every `interval` seconds, at steps first_step, first_step + 1, ..."""

    def __init__(self, run, interval: float, first_step: int = 0, sampler: Sampler | None = None) -> None:
        self.run, self.interval, self.step = run, interval, first_step
        self.sampler = sampler or Sampler()
        node = os.environ.get(NODE_ID_ENV)
        self.prefix = f"{PREFIX}{node}/" if node else PREFIX
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="flowsheet-system-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=max(self.interval, 5.0))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                values = self.sampler.sample()
            except Exception:  # a reading that fails (a disk gone) is skipped, not the run's problem
                continue
            try:
                self.run.log_metrics({self.prefix + key: value for key, value in values.items()}, step=self.step)
            except RuntimeError:  # the run has ended
                return
            except OSError:  # a full disk: the run's own logging calls report it
                continue
            self.step += 1


def _next_step(run) -> int:
    """After the last system-metrics step a resumed run holds (0 for none)."""
    from .segment_merge import read_run_folder

    merged = read_run_folder(run.folder)
    if merged is None:
        return 0
    metrics = merged.run.metrics
    steps = [max(history.steps) for key, history in metrics.items() if key.startswith(PREFIX) and len(history)]
    return max(steps) + 1 if steps else 0
