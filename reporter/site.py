"""The one place that writes the site: folders, atomic writes, skipping unchanged files, cleanup.

OUT_DIR gets a marker file `.flowsheet-site` listing every file this writer put there. A folder
without the marker is someone else's and is refused unless forced; cleanup removes only files the
previous build listed and this build did not write, so nothing of the user's is ever deleted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MARKER = ".flowsheet-site"
_MARKER_HEADER = "# written by `reporter build`; the files below are removed when they are no longer built\n"


class SiteError(Exception):
    """The site cannot be written; the message is one line for the user."""


@dataclass
class WriteStats:
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    pages_written: int = 0


@dataclass
class SiteWriter:
    out_dir: Path
    force: bool = False
    stats: WriteStats = field(default_factory=WriteStats)
    _done: set[str] = field(default_factory=set)
    _previous: set[str] = field(default_factory=set)

    def open(self) -> None:
        """Check that OUT_DIR is ours (or empty, or forced) and read what the last build wrote."""
        out = self.out_dir
        marker = out / MARKER
        if out.exists():
            if not out.is_dir():
                raise SiteError(f"output {out} exists and is not a directory")
            if marker.is_file():
                self._previous = _read_manifest(marker)
            elif any(out.iterdir()) and not self.force:
                raise SiteError(f"output {out} is not empty and was not made by `reporter build`; "
                                "choose another -o or pass --force")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SiteError(f"cannot create output {out}: {exc.strerror or exc}") from None

    def write(self, relpath: str, content: str | bytes, *, page: bool = False) -> bool:
        """Write one file atomically unless it already has this content; True when written."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        target = self._target(relpath)
        self._done.add(relpath)
        try:
            if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
                self.stats.unchanged += 1
                return False
        except OSError:
            pass
        _replace(target, lambda tmp: Path(tmp).write_bytes(data))
        self.stats.written += 1
        if page:
            self.stats.pages_written += 1
        return True

    def copy(self, relpath: str, source: Path) -> bool:
        """Copy a file (an artifact); skipped when size and modification time already match."""
        target = self._target(relpath)
        self._done.add(relpath)
        src = source.stat()
        try:
            dst = target.stat()
            if dst.st_size == src.st_size and dst.st_mtime_ns == src.st_mtime_ns:
                self.stats.unchanged += 1
                return False
        except OSError:
            pass
        def fill(tmp: str) -> None:
            shutil.copyfile(source, tmp)
            os.utime(tmp, ns=(src.st_atime_ns, src.st_mtime_ns))  # the next build's "unchanged" test

        _replace(target, fill)
        self.stats.written += 1
        return True

    def close(self, prune: bool = True) -> None:
        """Remove files the last build wrote and this one did not, then record this build's files.

        A partial rebuild (only some pages) passes prune=False: nothing is removed and the manifest
        keeps the files of the last full build as well.
        """
        if not prune:
            self._done |= self._previous
        for relpath in sorted(self._previous - self._done, reverse=True):
            try:
                target = self._target(relpath)
            except SiteError:
                continue  # a tampered manifest line; never follow it out of OUT_DIR
            if target.is_file() or target.is_symlink():
                _unlink_quietly(target)
                self.stats.removed += 1
                _prune_empty_parents(target.parent, self.out_dir)
        manifest = _MARKER_HEADER + "".join(f"{path}\n" for path in sorted(self._done))
        marker = self.out_dir / MARKER
        if not marker.is_file() or marker.read_text(encoding="utf-8") != manifest:
            tmp = marker.with_name(MARKER + ".tmp")
            tmp.write_text(manifest, encoding="utf-8")
            os.replace(tmp, marker)

    def _target(self, relpath: str) -> Path:
        pure = PurePosixPath(relpath)
        if pure.is_absolute() or not pure.parts or any(part in ("", ".", "..") for part in pure.parts) \
                or relpath == MARKER:
            raise SiteError(f"refusing to write outside the site: {relpath!r}")
        return self.out_dir.joinpath(*pure.parts)


def _read_manifest(marker: Path) -> set[str]:
    lines = marker.read_text(encoding="utf-8", errors="replace").splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def _replace(target: Path, fill) -> None:
    """Write a file so that no reader ever sees half of it: `fill` writes a temporary file beside it,
    which is then renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    os.close(fd)
    try:
        fill(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        _unlink_quietly(Path(tmp))
        raise


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _prune_empty_parents(folder: Path, root: Path) -> None:
    """Remove folders left empty by cleanup, up to (not including) the site root."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
