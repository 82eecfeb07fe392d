"""Child processes for benchmarks that need a clean peak memory: wall time and peak RSS of one command.

A child's peak memory is its VmHWM from /proc, sampled while it runs: rusage's ru_maxrss (from
`os.wait4` or RUSAGE_CHILDREN) starts from the parent's own high-water mark on Linux.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ChildRun:
    seconds: float  # wall time, interpreter start-up and imports included
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


class ChildFailed(RuntimeError):
    """A benchmark child exited non-zero; the message carries the end of its stderr."""


class ChildTimeout(RuntimeError):
    def __init__(self, seconds: float):
        super().__init__(f"stopped after {seconds:.0f} s")
        self.seconds = seconds


def run_child(args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
              check: bool = True, timeout: float | None = None) -> ChildRun:
    """Run args (a command line) to completion; stdout and stderr are captured to temporary files.

    A child still running after `timeout` seconds is killed and ChildTimeout raised: a benchmark
    that blows its budget is reported as such instead of holding up the whole suite.
    """
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                   cwd=cwd or ROOT, env=env)
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _high_water_kb(process.pid))
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if timeout is not None and time.perf_counter() - started > timeout:
                process.kill()
                os.wait4(process.pid, 0)
                process.returncode = -9
                raise ChildTimeout(timeout)
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it is reaped
        out.seek(0)
        err.seek(0)
        # ru_maxrss is no good here: Linux carries the parent's high-water mark into a forked child
        # (a benchmark process holding 900 MB made every child "peak" at 900 MB). VmHWM, sampled
        # every 20 ms, belongs to the child's own memory since exec; ru_maxrss stays as a fallback.
        peak = peak_kb / 1024 if peak_kb else usage.ru_maxrss / 1024
        result = ChildRun(seconds, peak, process.returncode,
                          out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    if check and result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise ChildFailed(f"{' '.join(map(str, args))} exited with {result.returncode}:\n{tail}")
    return result


def _high_water_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def python_child(code_or_module: list[str], **kwargs) -> ChildRun:
    """The same interpreter as this process, e.g. python_child(["-m", "reporter", "build", ...])."""
    return run_child([sys.executable, *code_or_module], **kwargs)


def folder_bytes(folder: Path) -> tuple[int, int]:
    """(apparent size, bytes on disk as `du` counts them) of every file under folder."""
    apparent = disk = 0
    for root, _, files in os.walk(folder):
        for name in files:
            info = os.lstat(os.path.join(root, name))
            apparent += info.st_size
            disk += info.st_blocks * 512
    return apparent, disk


def megabytes(count: float) -> str:
    return f"{count / 1e6:,.1f} MB"
