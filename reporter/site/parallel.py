"""Run pages made in a process pool (standard library): the cold build spread over the machine's cores.

The pool is forked after the logs are read, so each worker already holds the published data, the
templates and the planners (nothing is pickled but small results). A task is a chunk of run units; the
worker plans and writes each through its own SiteWriter on the same site folder (the same rules: no
links followed, atomic writes, unchanged files skipped) and sends back, per unit, the files it wrote
with their size and time, and its problems. The parent merges them into its writer (the manifest and
cleanup stay the parent's) while it renders the home and experiment pages itself.

Where fork is not available (Windows, macOS's default spawn) or there is one core, the build is serial;
the site is the same byte for byte either way.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator
from typing import Any

from reporter.site.writer import SiteWriter, WriteStats

MIN_PARALLEL_UNITS = 64  # below this a pool costs more than it saves
# Fewer cores than this build serially unless --jobs says otherwise: measured on 2 cores (bench_build), the
# pool made a 10,000-run build no faster (53 s against 56 s) and its workers' copies of the model took
# 700 MB against 475 MB (3.4 GB at 100,000 runs).
MIN_POOL_CORES = 4
CHUNK = 32  # run units per task: few enough messages, small enough to balance the cores

UnitResult = tuple[str, list[tuple[str, int, int]], list[tuple[str, int | None, str]]]  # name, files, problems

# The work of the current pool, set before the fork so workers inherit it (never pickled).
_work: dict[str, Any] = {}


def workers_for(count: int, jobs: int | None) -> int:
    """How many worker processes a build of `count` run units uses: 0 means serial, in this process."""
    if jobs is not None and jobs <= 1:
        return 0
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = jobs if jobs is not None else (cores if cores >= MIN_POOL_CORES else 1)
    if wanted <= 1 or count < (MIN_PARALLEL_UNITS if jobs is None else 2):
        return 0
    return min(wanted, max(1, count // CHUNK) if jobs is None else wanted)


def run_in_pool(units: list, writer: SiteWriter, make: Callable[[Any, SiteWriter], UnitResult], workers: int,
                meanwhile: Callable[[], None]) -> Iterator[tuple[list[UnitResult], WriteStats]]:
    """`make(unit, writer)` for every unit in `workers` forked processes; `meanwhile` runs here as they work.
    Yields each chunk's results with the write stats of its worker's writer."""
    writer.changing()  # the workers' writers change the site without telling this one
    _work.update(units=units, writer=writer, make=make)
    chunks = [(start, min(start + CHUNK, len(units))) for start in range(0, len(units), CHUNK)]
    # The inherited objects go to the collector's permanent generation while the workers fork, so a worker's
    # collections do not visit (and copy) the whole model; the parent collects as before once they exist.
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            gc.unfreeze()
            pending = pool.imap_unordered(_make_chunk, chunks)
            meanwhile()
            yield from pending
    finally:
        gc.unfreeze()
        _work.clear()


def _make_chunk(bounds: tuple[int, int]) -> tuple[list[UnitResult], WriteStats]:
    start, stop = bounds
    writer = _work["writer"].for_worker()
    results = [_work["make"](unit, writer) for unit in _work["units"][start:stop]]
    return results, writer.stats
