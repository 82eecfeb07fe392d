"""Writing the site unit by unit, keeping the units whose inputs did not change since the last build.

The units and their digests are described in reporter/site/cache.py and reporter/site/inputs.py. Each
unit's files come from the same planners as a full build (plan_home, plan_experiment, plan_run: whatever
they return), so a kept unit's files are the ones a cold build would write, byte for byte.

The logs are still read whole (every source, every file): what a second build saves is the rendering
and writing of pages whose inputs are unchanged, which is most of a cold build's time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from logger.model import PointsNotRead, Problem

from reporter.site.cache import BuildCache, Unit
from reporter.site.parallel import UnitResult, run_in_pool, workers_for
from reporter.site.writer import SiteWriter

HOME_UNIT = "home"


@dataclass
class PlannedUnit:
    """A unit of the site: its name in the cache, the digest of its inputs, how to plan its files."""

    name: str
    digest: str
    plan: Callable[[], object]  # -> SitePlan (typed loosely: reporter.site.build imports this module)
    runs: tuple[str, ...] = ()  # the paths (Run.path) of runs whose every point the unit needs (a run page's)


@dataclass
class UnitsWritten:
    cache: BuildCache
    problems: list[Problem] = field(default_factory=list)
    kept: int = 0  # units kept as the last build wrote them
    made: int = 0  # units planned and written


def write_units(units: Iterator[PlannedUnit], previous: BuildCache | None, fingerprint: str, writer: SiteWriter,
                write_plan: Callable[..., list[Problem]], progress: Callable[[int, int], None] | None = None,
                total: int = 0, jobs: int | None = None,
                fetch_points: Callable[[set[str]], None] | None = None) -> UnitsWritten:
    """Keep each unit the cache vouches for (same digest, files untouched since), plan and write the others
    (run units in a process pool when there are many: reporter/site/parallel.py); returns the new cache
    (every unit with the files it has now) and the problems of every unit, in unit order.

    Runs known from the last build's cache hold summaries, not every point (logger/sources/known.py):
    `fetch_points(paths)` reads such runs whole (by `Run.path`; it leaves runs that have every point). It is
    called once for the runs of the run units to make, and again whenever planning a home or experiment unit
    finds it needs a run's points (PointsNotRead)."""
    made: dict[str, Unit] = {}
    kept: dict[str, Unit] = {}
    order: list[str] = []
    aggregates: list[PlannedUnit] = []
    runs: list[PlannedUnit] = []
    for unit in units:
        order.append(unit.name)
        old = previous.units.get(unit.name) if previous else None
        if old is not None and old.digest == unit.digest and writer.keep(old.files):
            kept[unit.name] = old
        else:
            (runs if unit.name.startswith("run:") else aggregates).append(unit)
    digests = {unit.name: unit.digest for unit in aggregates + runs}
    done = len(kept)

    if fetch_points is not None:
        needed = {path for unit in runs for path in unit.runs}
        if needed:
            fetch_points(needed)

    def make(unit: PlannedUnit, into: SiteWriter) -> UnitResult:
        start = len(into.journal)
        while True:
            try:
                problems = write_plan(unit.plan(), into)
                break
            except PointsNotRead as need:  # the unit is planned and written again once they are read
                if fetch_points is None:
                    raise
                fetch_points(need.paths)
        written = dict.fromkeys(into.journal[start:])  # once each, though a retry wrote some twice
        files = [state for path in written if (state := into.file_state(path)) is not None]
        return unit.name, files, [(p.file, p.line, p.reason) for p in problems]

    def record(result: UnitResult) -> None:
        nonlocal done
        name, files, problems = result
        made[name] = Unit(digests[name], tuple(files), tuple(problems))
        done += 1
        if progress and (done % 50 == 0 or done == total):
            progress(done, total)

    def make_aggregates() -> None:
        for unit in aggregates:
            record(make(unit, writer))

    workers = workers_for(len(runs), jobs)
    if workers:
        for results, stats in run_in_pool(runs, writer, make, workers, make_aggregates):
            writer.adopt([path for _, files, _ in results for path, _, _ in files], stats)
            for result in results:
                record(result)
    else:
        make_aggregates()
        for unit in runs:
            record(make(unit, writer))
    out = UnitsWritten(BuildCache(fingerprint), kept=len(kept), made=len(made))
    for name in order:
        entry = kept.get(name) or made[name]
        out.cache.units[name] = entry
        out.problems += [Problem(*problem) for problem in entry.problems]
    return out
