"""How big a built site is, and whether it fits where it is published (GitHub Pages by default).

Measures only the files the writer listed in the site's manifest (writer.site_files), each with lstat:
it never walks the output folder, never follows a link, and never looks outside it. A path that is not
a regular file in real folders (someone replaced it with a link) is not counted.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from logger.format import ARTIFACTS_DIR

from reporter.charts.chunks import ZOOM_DIR
from reporter.site.downloads import METRICS_DOWNLOAD
from reporter.site.writer import MARKER, site_files

MB = 1_000_000


@dataclass(frozen=True)
class SizeLimits:
    """Where a warning starts. GitHub Pages publishes sites up to 1 GB, and GitHub warns about a file of
    50 MiB and refuses 100 MiB; decimal units here are a little stricter than both."""

    site_bytes: int = 1000 * MB
    file_bytes: int = 50 * MB


GITHUB_PAGES = SizeLimits()


@dataclass(frozen=True)
class Kind:
    name: str
    slimmer: str  # what makes this part of the site smaller, for the warning


ARTIFACTS = Kind(ARTIFACTS_DIR, "--max-artifact-mb N copies only artifacts below N MB; the pages still list the rest")
DOWNLOADS = Kind("full-history downloads", "--no-history-downloads leaves them out; the pages still chart every metric")
ZOOM = Kind("zoom levels of long series", "--no-history-downloads leaves them out; charts then keep their "
            "first 1,000 buckets a series when zoomed")
RUN_PAGES = Kind("run pages", "no option yet: build a site from fewer runs, or log fewer points")
SUMMARIES = Kind("home, experiment and compare pages", "with their runs data; no option yet: build a site "
                 "from fewer runs")
VEGA = Kind("Vega bundle", "needed by every chart; the same ~1 MB in every site")
STATIC = Kind("static scripts and styles", "needed by every page")
MANIFEST = Kind("site manifest", "lists every file of the site; it follows the file count")


def kind_of(relpath: str) -> Kind:
    parts = PurePosixPath(relpath).parts
    if relpath == MARKER:
        return MANIFEST
    if parts[0] == "static":
        return VEGA if relpath == "static/vega-bundle.js" else STATIC
    if parts[0] == "runs" and len(parts) > 2:
        if parts[2] == ARTIFACTS_DIR and len(parts) > 3:
            return ARTIFACTS
        if parts[2] == ZOOM_DIR and len(parts) > 3:
            return ZOOM
        return DOWNLOADS if parts[2:] == (METRICS_DOWNLOAD,) else RUN_PAGES
    return SUMMARIES


@dataclass(frozen=True)
class SiteSize:
    files: dict[str, int]  # relative path -> bytes, of every regular file the manifest lists (and the manifest)

    @property
    def total(self) -> int:
        return sum(self.files.values())

    def largest(self, count: int) -> list[tuple[str, int]]:
        return sorted(self.files.items(), key=lambda item: (-item[1], item[0]))[:count]

    def by_kind(self) -> list[tuple[Kind, int, int]]:
        """(kind, bytes, files) for each kind the site has, biggest first."""
        sizes: Counter[Kind] = Counter()
        counts: Counter[Kind] = Counter()
        for relpath, size in self.files.items():
            kind = kind_of(relpath)
            sizes[kind] += size
            counts[kind] += 1
        return sorted(((kind, sizes[kind], counts[kind]) for kind in sizes), key=lambda row: (-row[1], row[0].name))


def measure_site(out_dir: Path) -> SiteSize:
    """The size of each file the last build listed in out_dir's manifest, and of the manifest."""
    root = Path(out_dir).resolve()
    real_folders: dict[Path, bool] = {root: True}

    def is_real_folder(folder: Path) -> bool:
        if folder not in real_folders:
            real_folders[folder] = is_real_folder(folder.parent) and _mode_is(folder, stat.S_ISDIR)
        return real_folders[folder]

    files = {}
    for relpath in sorted(site_files(root)) + [MARKER]:
        pure = PurePosixPath(relpath)
        if pure.is_absolute() or any(part in ("", ".", "..") for part in pure.parts):
            continue  # a tampered manifest line: nothing outside the site is looked at
        path = root.joinpath(*pure.parts)
        if is_real_folder(path.parent):
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                files[relpath] = info.st_size
    return SiteSize(files)


def _mode_is(path: Path, test) -> bool:
    try:
        return bool(test(os.lstat(path).st_mode))
    except OSError:
        return False


def size_text(size: int) -> str:
    """Bytes in decimal units, as the limits are spelled (1 GB, 50 MB)."""
    for unit, scale in (("GB", 1000 * MB), ("MB", MB), ("KB", 1000)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} B"


def size_summary(size: SiteSize, parts: int = 3) -> str:
    """One line for the end of a build: total, file count, the biggest kinds and the largest file."""
    kinds = ", ".join(f"{kind.name} {size_text(total)}" for kind, total, _ in size.by_kind()[:parts])
    line = f"Site: {size_text(size.total)} in {len(size.files):,} file(s)"
    if size.files:
        name, largest = size.largest(1)[0]
        line += f" ({kinds}); largest file: {name} ({size_text(largest)})"
    return line


def size_warnings(size: SiteSize, limits: SizeLimits = GITHUB_PAGES, parts: int = 3) -> list[str]:
    """What to warn about, each a named warning (`site-too-big`, `file-too-big`) that names the biggest
    contributors, one an indented line, and what slims each; nothing when the site fits the limits."""
    warnings = []
    if size.total > limits.site_bytes:
        biggest = [f"{kind.name}: {size_text(total)} in {count:,} file(s) ({kind.slimmer})"
                   for kind, total, count in size.by_kind()[:parts]]
        warnings.append("\n  ".join([f"site-too-big: the site is {size_text(size.total)} in {len(size.files):,} "
                                     f"files, over the {size_text(limits.site_bytes)} a GitHub Pages site may "
                                     "have. Its biggest parts:", *biggest]))
    over = [(name, bytes_) for name, bytes_ in size.largest(len(size.files)) if bytes_ > limits.file_bytes]
    if over:
        named = [f"{name}: {size_text(bytes_)} ({_file_slimmer(name, limits)})" for name, bytes_ in over[:parts]]
        named += [f"and {len(over) - parts} more"] if len(over) > parts else []
        warnings.append("\n  ".join([f"file-too-big: {len(over)} file(s) over {size_text(limits.file_bytes)}, "
                                     "where GitHub warns (it refuses a file over 100 MiB):", *named]))
    return warnings


def _file_slimmer(relpath: str, limits: SizeLimits) -> str:
    kind = kind_of(relpath)
    if kind is ARTIFACTS:  # --max-artifact-mb counts MiB
        return f"an artifact; --max-artifact-mb {limits.file_bytes // (1 << 20)} leaves it out"
    return f"{kind.name}; {kind.slimmer}"
