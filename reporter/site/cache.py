"""The build cache: what each group of site files was made from, so a second `reporter build` keeps them.

A site is made of units: the home unit (home page, compare page, all-runs data and CSV), one per
experiment (its page, table data and CSV) and one per run (its page, metrics CSV, copied artifacts).
Each unit has a digest of everything its files are made from (reporter/site/inputs.py). The cache lies
in OUT_DIR as CACHE_NAME (a hidden name: the writer's cleanup never touches it, `reporter publish`
leaves it out) and records, per unit, that digest and the files the unit wrote; plus `fingerprint`, a
digest of everything global (flowsheet's code, templates, static files, build options). (What the reader
knew of each run file is kept apart, outside the site folder: reporter/site/reading.py.)

It is JSON (nothing read back can run code) with a format tag and version, and it is checked field by
field: anything off, a unit naming a file the site's manifest does not list, or another fingerprint,
and the cache is ignored (a full build, with the reason in `BuildResult.cache`). The build removes it
before writing anything and saves the new one last, atomically, so a build stopped half-way leaves no
cache claiming pages it did not write.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import orjson

CACHE_NAME = ".flowsheet-build-cache.json"
CACHE_FORMAT, CACHE_VERSION = "flowsheet-build-cache", 2
MAX_CACHE_BYTES = 1 << 30  # a cache bigger than this is not ours (100,000 runs take some 40 MB)
_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Unit:
    """One unit as the last build left it: its inputs' digest, the site files it wrote (path, size and
    modification time: a file changed since is not trusted), the problems it had."""

    digest: str
    files: tuple[tuple[str, int, int], ...]
    problems: tuple[tuple[str, int | None, str], ...] = ()


@dataclass
class BuildCache:
    fingerprint: str
    units: dict[str, Unit] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        units = {name: {"digest": unit.digest, "files": [list(entry) for entry in unit.files],
                        "problems": [list(problem) for problem in unit.problems]}
                 for name, unit in sorted(self.units.items())}
        return orjson.dumps({"format": CACHE_FORMAT, "version": CACHE_VERSION,
                             "fingerprint": self.fingerprint, "units": units})


class CacheRefused(Exception):
    """Why a cache file is not used; one line for the build's summary."""


def load_cache(root: Path, fingerprint: str, manifest: set[str], document: object = None) -> BuildCache:
    """The cache in the site folder `root` (or its `document`, already read), checked against this build's
    `fingerprint` and the files the site's manifest lists; raises CacheRefused (with the reason) when there
    is none or it cannot be trusted."""
    return parse_cache(read_document(root) if document is None else document, fingerprint, manifest)


def read_document(root: Path) -> object:
    """The cache file's JSON, unchecked; raises CacheRefused when there is none or it cannot be read."""
    path = root / CACHE_NAME
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise CacheRefused("no build cache") from None
    except OSError as error:
        raise CacheRefused(f"build cache unreadable: {error.strerror or error}") from None
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CACHE_BYTES:
        raise CacheRefused("build cache is not a regular file of a sane size")
    try:
        with open(path, "rb") as file:
            document = orjson.loads(file.read(MAX_CACHE_BYTES + 1))
    except (OSError, ValueError) as error:
        raise CacheRefused(f"build cache unreadable: {error}") from None
    return document


def parse_cache(document: object, fingerprint: str, manifest: set[str]) -> BuildCache:
    if not isinstance(document, dict) or document.get("format") != CACHE_FORMAT:
        raise CacheRefused("not a flowsheet build cache")
    if document.get("version") != CACHE_VERSION:
        raise CacheRefused(f"build cache version {document.get('version')!r}, this build writes {CACHE_VERSION}")
    if document.get("fingerprint") != fingerprint:
        raise CacheRefused("flowsheet, its templates or the build options changed since the last build")
    units = document.get("units")
    if not isinstance(units, dict):
        raise CacheRefused("build cache has no units")
    cache = BuildCache(fingerprint)
    for name, entry in units.items():
        cache.units[name] = _unit(name, entry, manifest)
    return cache


def _unit(name: object, entry: object, manifest: set[str]) -> Unit:
    if not isinstance(name, str) or not isinstance(entry, dict):
        raise CacheRefused("build cache unit is not a named object")
    digest, files, problems = entry.get("digest"), entry.get("files"), entry.get("problems", [])
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise CacheRefused(f"build cache unit {name!r} has no digest")
    if not isinstance(files, list) or not all(_is_file_entry(entry) for entry in files):
        raise CacheRefused(f"build cache unit {name!r} has malformed files")
    if not all(entry[0] in manifest for entry in files):
        raise CacheRefused(f"build cache unit {name!r} names files the site's manifest does not list")
    if not isinstance(problems, list) or not all(_is_problem(problem) for problem in problems):
        raise CacheRefused(f"build cache unit {name!r} has malformed problems")
    return Unit(digest, tuple((f[0], f[1], f[2]) for f in files), tuple((p[0], p[1], p[2]) for p in problems))


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_file_entry(value: object) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and _is_count(value[1]) and _is_count(value[2]))


def _is_problem(value: object) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and (value[1] is None or _is_count(value[1]))
            and isinstance(value[2], str))


def forget_cache(root: Path) -> None:
    """Remove the cache before the site changes: a build stopped half-way must leave none behind."""
    try:
        os.unlink(root / CACHE_NAME)
    except FileNotFoundError:
        pass


def save_cache(root: Path, cache: BuildCache) -> None:
    """Write the cache atomically (a temporary file beside it, renamed into place), unless it holds this already."""
    data = cache.to_bytes()
    target = root / CACHE_NAME
    try:
        if stat.S_ISREG(os.lstat(target).st_mode) and target.read_bytes() == data:
            return
    except OSError:
        pass
    fd, temporary = tempfile.mkstemp(dir=root, prefix=".tmp-cache-")  # a new file, never through a link
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
