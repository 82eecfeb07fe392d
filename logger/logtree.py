"""One walk of a log directory per refresh, in which every source claims what it reads.

The reader lists each folder once (`Listing`) and asks the sources, in their `order`, whether they
read anything there (`Source.claim`). A claim names the source's units (this folder, or files in it)
and says how far the walk goes on below it:

- `owns=True`: the folder is the source's whole unit (an MLflow store, a Hugging Face output folder, a
  Ray Tune trial): no later source is asked about it and the walk does not go below it, so the event
  files Ray writes beside `result.json`, or a run's logged artifacts, are not read as runs of their own.
- `skip`: subfolders the walk leaves out (a flowsheet run's `artifacts/`).

A folder that has not changed since the last walk is not listed again (`Listings`); the sources are
still asked about it, as their claims may depend on what lies below it.

Symlinked folders are never walked into and names starting with "." are left out (the logger's and
MLflow's half-written files, `.trash/`, `.git/`).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Listing:
    """One folder of the tree: its subfolders (links excluded) and its other entries (regular files among them).

    `where` is the folder as a string; `path`, the same as a `Path`, is made only when a source asks (the
    walk itself joins strings: making a Path for each of thousands of run folders was half a refresh)."""

    where: str
    dirs: frozenset[str]
    files: frozenset[str]  # every entry that is not a folder: regular files, links, FIFOs...
    regular: frozenset[str]  # the regular files among `files` (a link is not one)

    @cached_property
    def path(self) -> Path:
        return Path(self.where)

    def has_dir_file(self, folder: str, name: str) -> bool:
        """Whether `folder/name` is a regular file (one stat; only asked when the names already look right)."""
        if folder not in self.dirs:
            return False
        try:
            return stat.S_ISREG(os.lstat(os.path.join(self.where, folder, name)).st_mode)
        except OSError:
            return False


@dataclass
class Claim:
    units: list[Path]  # what the source reads here: the folder itself, or files in it
    owns: bool = False  # the folder is one unit: nobody else is asked about it or anything under it
    skip: frozenset[str] = field(default_factory=frozenset)  # subfolders not walked into


def list_folder(path: str | os.PathLike, only: str | None = None) -> Listing | None:
    """The listing of `path`, or None when it cannot be listed. `only`: keep that one entry alone."""
    where = os.fspath(path)
    try:
        with os.scandir(where) as entries:
            listed = list(entries)
    except OSError:
        return None
    dirs, files, regular = set(), set(), set()
    for entry in listed:
        name = entry.name
        if name.startswith(".") or (only is not None and name != only):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                dirs.add(name)
                continue
            files.add(name)
            if entry.is_file(follow_symlinks=False):
                regular.add(name)
        except OSError:
            continue
    return Listing(where, frozenset(dirs), frozenset(files), frozenset(regular))


class Listings:
    """The listings of the last walk, kept to spare listing again a folder that has not changed since.

    Adding, removing or renaming an entry (a link or file replaced by something else included) sets the
    folder's mtime, so a folder with the same mtime, ctime, inode, link count and size still lists the
    same. Unless the change fell in the same tick of the file system's clock as the mtime we saw: a
    listing is therefore kept only when the folder's mtime was already `SETTLED_NS` old when it was
    made (what git does against "racily clean" files). Files that grow do not touch their folder, and
    are followed by their sources, not here."""

    SETTLED_NS = 3_000_000_000  # longer than the coarsest mtime tick of common file systems (FAT: 2 s)

    def __init__(self) -> None:
        self._kept: dict[str, tuple[tuple, Listing]] = {}
        self._seen: dict[str, tuple[tuple, Listing]] = {}

    def list(self, where: str) -> Listing | None:
        started = time.time_ns()
        try:
            info = os.stat(where)
        except OSError:
            return None
        stamp = (info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev, info.st_nlink, info.st_size)
        kept = self._kept.get(where)
        if kept is not None and kept[0] == stamp:
            self._seen[where] = kept
            return kept[1]
        listing = list_folder(where)
        if listing is not None and info.st_mtime_ns < started - self.SETTLED_NS and \
                info.st_ctime_ns < started - self.SETTLED_NS:
            self._seen[where] = (stamp, listing)
        return listing

    def walked(self) -> None:
        """The walk is over: keep what it saw (folders it did not reach are dropped)."""
        self._kept, self._seen = self._seen, {}


def find_units(root: Path, sources: Iterable[Any], only: Path | None = None,
               listings: Listings | None = None) -> dict[Any, list[Path]]:
    """Walk `root` once and ask each source (in the order given) what it reads: source -> its units.

    `only`: a file directly under `root`; the walk then sees that file alone (`reporter build mlflow.db`).
    `listings`: those of the last walk, reused where a folder has not changed (`Listings`)."""
    sources = list(sources)
    units: dict[Any, list[Path]] = {}
    only_name = only.name if only is not None else None
    stack = [os.fspath(root)]
    while stack:
        folder = stack.pop()
        if listings is not None and only_name is None:
            listing = listings.list(folder)
        else:
            listing = list_folder(folder, only_name)
        if listing is None:
            continue
        skip: set[str] = set()
        owned = False
        for source in sources:
            claim = source.claim(listing)
            if claim is None:
                continue
            units.setdefault(source, []).extend(claim.units)
            skip |= claim.skip
            if claim.owns:
                owned = True
                break
        if not owned:
            stack.extend(os.path.join(folder, name) for name in sorted(listing.dirs - skip, reverse=True))
    if listings is not None:
        listings.walked()
    return units
