"""Reading the logs for a build into a site folder: runs whose files did not change since the last build
are not read again.

Each build keeps what its reader knew of each run file (logger/sources/known.py: the file's size, time
and identity, the run's fields and a summary of each metric) in a file of the user's cache folder
($FLOWSHEET_CACHE_DIR, else ~/.cache/flowsheet: `builds/<digest of the site folder>.json`), never in the
site folder: it holds the logs as they are, before any masking, and a site folder gets published. The next
build into the same folder, with the same flowsheet, templates and options (the build's fingerprint),
starts its reader from it: a second build of a 10,000-run site after one appended line reads one file.
Such runs hold summaries, not every point: a part of the site that needs every point of a run (its page,
an overlay chart) asks for it (`PointsNotRead`), and `fetch_points` reads those runs whole.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

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

    def fetch_points(self, paths: set[str], published: LogData, publish) -> None:
        """Read the runs of these paths (`Run.path`, which masking leaves alone, unlike an id) whole and put
        their full histories into the `published` runs in place (every page planned from them sees the
        points). Runs that hold every point already are left as they are. `publish(data)` masks as the build did."""
        by_path = {run.path: run for run in published.runs.values()}
        wanted = {path for path in paths if path in by_path and summarised(by_path[path])}
        if not wanted:
            return
        points = self.reader.read_points(wanted)
        raw = {run.path: run for run in self.reader.data.runs.values() if run.path in points}
        fresh = LogData(self.reader.data.experiments,
                        {run.run_id: dataclasses.replace(run, metrics=points[path]) for path, run in raw.items()})
        masked = {run.path: run for run in publish(fresh).runs.values()}
        for path in wanted:
            full = masked.get(path)
            if full is None or summarised(full):  # deleted or gone since this build read the logs
                raise BuildError(f"the run in {path} changed while the site was being built; build again")
            by_path[path].metrics = full.metrics


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
    reader = LogReader(config.log_dir, known=load_known(config.out_dir, fingerprint))
    reader.refresh()
    return Reading(reader, fingerprint, static, document)


KNOWN_FORMAT, KNOWN_VERSION = "flowsheet-known-runs", 1
MAX_KNOWN_BYTES = 1 << 30  # ~1.6 KB a run of 10 params and 5 metrics: 160 MB at 100,000 runs
KEEP_KNOWN_DAYS = 30  # the known runs of a site folder not built for this long are removed


def known_file(out_dir: Path) -> Path:
    """Where the known runs of builds into `out_dir` are kept (outside it: they are not masked)."""
    from logger.mirror import cache_home

    site = str(Path(out_dir).resolve())
    return cache_home() / "builds" / (hashlib.sha256(site.encode("utf-8", "surrogateescape")).hexdigest()[:24]
                                      + ".json")


def load_known(out_dir: Path, fingerprint: str) -> dict[str, Any]:
    """The known runs the last build into `out_dir` saved, when made with this `fingerprint`; else none."""
    path = known_file(out_dir)
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_KNOWN_BYTES:
            return {}
        document = orjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if (not isinstance(document, dict) or document.get("format") != KNOWN_FORMAT
            or document.get("version") != KNOWN_VERSION or document.get("fingerprint") != fingerprint
            or document.get("site") != str(Path(out_dir).resolve()) or not isinstance(document.get("known"), dict)):
        return {}
    return {name: entries for name, entries in document["known"].items()
            if isinstance(name, str) and isinstance(entries, dict)}


def save_known(out_dir: Path, fingerprint: str, known: dict[str, Any]) -> None:
    """Keep what the reader knew for the next build into `out_dir` (written whole, then renamed into place).
    A cache folder that cannot be written only costs the next build its reading."""
    path = known_file(out_dir)
    data = orjson.dumps({"format": KNOWN_FORMAT, "version": KNOWN_VERSION, "fingerprint": fingerprint,
                         "site": str(Path(out_dir).resolve()), "known": known})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(path.parent)
        if len(data) > MAX_KNOWN_BYTES:
            path.unlink(missing_ok=True)
            return
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-known-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)


def _remove_stale(folder: Path) -> None:
    """Forget the known runs of site folders not built for KEEP_KNOWN_DAYS (moved, deleted, or done with)."""
    import time

    oldest = time.time() - KEEP_KNOWN_DAYS * 86400
    for entry in os.scandir(folder):
        try:
            if entry.name.endswith(".json") and entry.is_file(follow_symlinks=False) \
                    and entry.stat(follow_symlinks=False).st_mtime < oldest:
                os.unlink(entry.path)
        except OSError:
            continue


def summarised(run) -> bool:
    """Whether `run` holds summaries of its metrics (known from the cache, its file not read)."""
    return any(isinstance(history, SummaryHistory) for history in run.metrics.values())
