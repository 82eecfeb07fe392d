"""Reading the logs for a build into a site folder: runs whose files did not change since the last build
are not read again.

The last build's cache (reporter/site/cache.py) keeps what the reader knew of each run file
(logger/sources/known.py): its size, time and identity, the run's fields and a summary of each metric.
A new reader starts from that, so a second build of a 10,000-run site after one appended line reads one
file. Such runs hold summaries, not every point: a part of the site that needs every point of a run (its
page, an overlay chart) asks for it (`PointsNotRead`), and `fetch_points` reads those runs whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from logger.model import LogData, SummaryHistory

from reporter.config import BuildConfig
from reporter.errors import BuildError
from reporter.site import cache as C

if TYPE_CHECKING:
    from logger.reader import LogReader


@dataclass
class Reading:
    """A build's reader, with the cache document it started from and this build's fingerprint."""

    reader: LogReader
    fingerprint: str
    static: dict[str, Path]
    document: object = None  # the last build's cache, read once for the reader and the units

    @property
    def data(self) -> LogData:
        return self.reader.data

    def fetch_points(self, run_ids: set[str], published: LogData, publish) -> None:
        """Read `run_ids` whole and put their full histories into the `published` runs in place (every
        page planned from them sees the points). `publish(data)` masks data as the build did."""
        self.reader.forget(run_ids)
        self.reader.refresh()
        fresh = LogData(self.reader.data.experiments,
                        {run_id: run for run_id, run in self.reader.data.runs.items() if run_id in run_ids})
        masked = publish(fresh).runs
        for run_id in run_ids:
            run, full = published.runs.get(run_id), masked.get(run_id)
            if run is None or full is None or summarised(full):
                raise BuildError(f"run {run_id} changed while the site was being built; build again")
            run.metrics = full.metrics


def start_reading(config: BuildConfig, static: dict[str, Path]) -> Reading:
    """Read config.log_dir, starting from the runs the cache in config.out_dir knows (when it is one of
    this flowsheet, templates, `static` files (reporter.site.build.static_sources) and options: the
    fingerprint)."""
    from logger.reader import LogReader

    from reporter.site.inputs import global_fingerprint

    fingerprint = global_fingerprint(config, static)
    try:
        document = C.read_document(config.out_dir) if config.out_dir.is_dir() else None
    except C.CacheRefused:
        document = None
    reader = LogReader(config.log_dir, known=C.known_runs(document, fingerprint))
    reader.refresh()
    return Reading(reader, fingerprint, static, document)


def summarised(run) -> bool:
    """Whether `run` holds summaries of its metrics (known from the cache, its file not read)."""
    return any(isinstance(history, SummaryHistory) for history in run.metrics.values())
