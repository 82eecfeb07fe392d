"""The one place that writes the site: folders, atomic writes, skipping unchanged files, cleanup.

OUT_DIR gets a marker file `.flowsheet-site`, a JSON document listing every file this writer put
there. A folder without the marker is someone else's and is refused unless forced; cleanup removes
only files the previous build listed and this build did not write, so nothing of the user's is ever
deleted. Others may be able to write in OUT_DIR too (a shared folder, a checked-out branch), so:

- OUT_DIR itself may be a symlink the user chose: it is resolved once, at open(). Below it the writer
  never goes through a symlink. A symlink (or a file) where the site needs a folder is a SiteError
  naming it, and is left as it is: the writer never makes links, so such a link is someone else's.
  A symlink where a file of the site goes is replaced by the file (a rename replaces the link, never
  what it points to).
- Cleanup unlinks only regular files in real folders, never a hidden name (`.git`, `.nojekyll`):
  the reader never lists hidden artifacts, so no build writes one.
- A manifest that cannot be read (damaged, another version, a link) lists nothing: nothing is deleted.
  The last release wrote one path a line; a name holding a line break split into lines there that
  could name any file. Such a manifest is still read (so its stale files go), but only its paths
  inside the site's own folders count.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MARKER = ".flowsheet-site"
MANIFEST_FORMAT, MANIFEST_VERSION = "flowsheet-site", 2
_MANIFEST_NOTE = "written by `reporter build`; the files below are removed when they are no longer built"
_OLD_HEADER = "# written by `reporter build`"
_OLD_TRUSTED_FOLDERS = ("runs", "experiments", "static")  # where the last release put all but its fixed pages


class SiteError(Exception):
    """The site cannot be written; the message is one line for the user."""


@dataclass
class WriteStats:
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    pages_written: int = 0
    pages_rendered: int = 0  # pages handed to write(), changed or not
    kept: int = 0  # files a build cache vouched for, not made again (see keep)


@dataclass
class SiteWriter:
    out_dir: Path
    force: bool = False
    stats: WriteStats = field(default_factory=WriteStats)
    _done: set[str] = field(default_factory=set)
    _previous: set[str] = field(default_factory=set)
    _root: Path | None = None  # out_dir with links resolved, set by open()
    _checked: set[Path] = field(default_factory=set)  # folders made or found real during this build
    _real_folders: dict[str, bool] = field(default_factory=dict)  # `keep`'s answers, by folder (relative)
    journal: list[str] = field(default_factory=list)  # every path written or copied, in order (a unit's files)
    # called once, before the first file of the site is written, replaced or removed (the build cache goes)
    before_change: Callable[[], None] | None = None

    def open(self) -> None:
        """Check that OUT_DIR is ours (or empty, or forced) and read what the last build wrote."""
        out = self.out_dir
        if out.exists():
            if not out.is_dir():
                raise SiteError(f"output {out} exists and is not a directory")
            marker = out / MARKER
            if _is_regular_file(marker):
                self._previous = _read_manifest(marker)
            elif any(out.iterdir()) and not self.force:
                raise SiteError(f"output {out} is not empty and was not made by `reporter build`; "
                                "choose another -o or pass --force")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SiteError(f"cannot create output {out}: {exc.strerror or exc}") from None
        self._root = out.resolve()

    def write(self, relpath: str, content: str | bytes | Iterable[bytes], *, page: bool = False) -> bool:
        """Write one file atomically unless it already has this content; True when written.

        Content given as chunks (any iterable of bytes, e.g. a generator) is streamed to disk and compared
        with the file there chunk by chunk: a download of millions of rows is never whole in memory."""
        target = self._target(relpath)
        self._make_folders(target)
        self._done.add(relpath)
        self.journal.append(relpath)
        if page:
            self.stats.pages_rendered += 1
        if isinstance(content, (str, bytes)):
            data = content.encode("utf-8") if isinstance(content, str) else content
            if _same_bytes(target, data):
                self.stats.unchanged += 1
                return False
            self.changing()
            _replace(target, lambda tmp: Path(tmp).write_bytes(data))
        else:
            self.changing()  # a stream is compared while written: the site may change
            if not _stream_into_place(target, content):
                self.stats.unchanged += 1
                return False
        self.stats.written += 1
        if page:
            self.stats.pages_written += 1
        return True

    def copy(self, relpath: str, source: Path) -> bool:
        """Copy a file (an artifact); skipped when size and modification time already match."""
        target = self._target(relpath)
        self._make_folders(target)
        self._done.add(relpath)
        self.journal.append(relpath)
        src = source.stat()
        try:
            dst = os.lstat(target)  # a link there is not our copy, whatever it points to
            if stat.S_ISREG(dst.st_mode) and dst.st_size == src.st_size and dst.st_mtime_ns == src.st_mtime_ns:
                self.stats.unchanged += 1
                return False
        except OSError:
            pass
        def fill(tmp: str) -> None:
            shutil.copyfile(source, tmp)
            os.utime(tmp, ns=(src.st_atime_ns, src.st_mtime_ns))  # the next build's "unchanged" test

        self.changing()
        _replace(target, fill)
        self.stats.written += 1
        return True

    def keep(self, files: list[tuple[str, int, int]] | tuple[tuple[str, int, int], ...]) -> bool:
        """Count files the last build wrote as written by this one, without making them again: only when
        each is listed in the last manifest and is still a regular file (in real folders) of that size and
        modification time. False (and nothing counted) otherwise: the caller makes them again."""
        for relpath, size, mtime_ns in files:
            if relpath not in self._previous or not self._in_real_folders(relpath):
                return False
            try:
                info = os.lstat(self._target(relpath))
            except (OSError, SiteError):
                return False
            if not stat.S_ISREG(info.st_mode) or info.st_size != size or info.st_mtime_ns != mtime_ns:
                return False
        self._done.update(relpath for relpath, _, _ in files)
        self.stats.unchanged += len(files)
        self.stats.kept += len(files)
        return True

    def _in_real_folders(self, relpath: str) -> bool:
        """Whether each folder on the way to `relpath` is a real folder (no link), none hidden; answered once
        per folder (a second build keeps some 30,000 files of 10,000 folders)."""
        folder = relpath.rpartition("/")[0]
        if not folder:
            return not relpath.startswith(".")
        known = self._real_folders.get(folder)
        if known is None:
            known = (not folder.rpartition("/")[2].startswith(".") and self._in_real_folders(folder)
                     and _is_real_folder(self.root / folder))
            self._real_folders[folder] = known
        return known and not relpath.rpartition("/")[2].startswith(".")

    def file_state(self, relpath: str) -> tuple[str, int, int] | None:
        """(path, size, modification time) of a file of the site, as `keep` checks them; None when absent."""
        try:
            info = os.lstat(self._target(relpath))
        except OSError:
            return None
        return (relpath, info.st_size, info.st_mtime_ns)

    def changing(self) -> None:
        """Call `before_change` once, before the site's first change."""
        if self.before_change is not None:
            before, self.before_change = self.before_change, None
            before()

    def for_worker(self) -> SiteWriter:
        """A writer for another process writing part of this site (reporter/site/parallel.py): the same
        folder, already checked by open(); its own stats and journal, handed back with `adopt`."""
        return SiteWriter(self.out_dir, self.force, _root=self.root)

    def adopt(self, relpaths: list[str], stats: WriteStats) -> None:
        """Count files a worker's writer wrote as written by this one (for the manifest and cleanup)."""
        self._done.update(relpaths)
        for name in ("written", "unchanged", "pages_written", "pages_rendered"):
            setattr(self.stats, name, getattr(self.stats, name) + getattr(stats, name))

    @property
    def previous(self) -> set[str]:
        """The files the last build's manifest lists."""
        return self._previous

    def close(self, prune: bool = True) -> None:
        """Remove files the last build wrote and this one did not, then record this build's files.

        A partial rebuild (only some pages) passes prune=False: nothing is removed and the manifest
        keeps the files of the last full build as well.
        """
        if not prune:
            self._done |= self._previous
        for relpath in sorted(self._previous - self._done, reverse=True):
            target = self._removable(relpath)
            if target is not None:
                self.changing()
                _unlink_quietly(target)
                self.stats.removed += 1
                _prune_empty_parents(target.parent, self.root)
        manifest = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "note": _MANIFEST_NOTE,
                    "files": sorted(self._done)}
        data = (json.dumps(manifest, indent=1) + "\n").encode("ascii")  # escaped: one path a line, whatever it holds
        marker = self.root / MARKER
        if not _same_bytes(marker, data):
            self.changing()
            _replace(marker, lambda tmp: Path(tmp).write_bytes(data))

    @property
    def root(self) -> Path:
        """OUT_DIR with its links resolved; only known once open() has checked the folder."""
        if self._root is None:
            raise SiteError("the site writer was used before open()")
        return self._root

    def _target(self, relpath: str) -> Path:
        pure = PurePosixPath(relpath)
        if pure.is_absolute() or not pure.parts or any(part in ("", ".", "..") for part in pure.parts) \
                or relpath == MARKER:
            raise SiteError(f"refusing to write outside the site: {relpath!r}")
        return self.root.joinpath(*pure.parts)

    def _make_folders(self, target: Path) -> None:
        """Make the folders down to target's, refusing to pass through a link or a file on the way."""
        for folder in self._folders_to(target):
            if folder not in self._checked:
                _make_real_folder(folder)
                self._checked.add(folder)

    def _removable(self, relpath: str) -> Path | None:
        """The file to remove for a stale manifest entry: only a regular file in real folders, never hidden."""
        try:
            target = self._target(relpath)
        except SiteError:
            return None  # a tampered manifest line; never follow it out of OUT_DIR
        if any(part.startswith(".") for part in PurePosixPath(relpath).parts):
            return None
        if not all(_is_real_folder(folder) for folder in self._folders_to(target)):
            return None
        return target if _is_regular_file(target) else None

    def _folders_to(self, target: Path):
        """Each folder below OUT_DIR on the way to target, outermost first."""
        folder = self.root
        for part in target.relative_to(folder).parts[:-1]:
            folder = folder / part
            yield folder


def _read_manifest(marker: Path) -> set[str]:
    """The files a previous build listed; nothing when the manifest cannot be read for sure."""
    try:
        text = marker.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return set()
    if text.startswith(_OLD_HEADER):
        return _read_old_manifest(text)
    try:
        manifest = json.loads(text)
    except ValueError:
        return set()
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT \
            or manifest.get("version") != MANIFEST_VERSION:
        return set()
    files = manifest.get("files")
    if not isinstance(files, list) or not all(isinstance(path, str) for path in files):
        return set()
    return set(files)


def _read_old_manifest(text: str) -> set[str]:
    """The last release's manifest: one path a line, split at newlines only (U+2028 and the other
    breaks str.splitlines knows stay inside their path, as that writer wrote them).

    A newline in a name made two lines of it, the second naming anything; the last release's only files
    outside its own folders were the fixed top pages, which every build rewrites, so nothing is lost by
    trusting only paths inside those folders."""
    lines = text.split("\n")[1:]
    return {line for line in lines if line.partition("/")[0] in _OLD_TRUSTED_FOLDERS and "/" in line}


def _make_real_folder(folder: Path) -> None:
    try:
        folder.mkdir()
        return
    except FileExistsError:
        pass  # other errors (a name too long, no room) stay OSErrors: the caller may skip that one file
    mode = os.lstat(folder).st_mode
    if stat.S_ISLNK(mode):
        raise SiteError(f"{folder} is a link; the site is never written through links. "
                        "Remove it, or choose another -o")
    if not stat.S_ISDIR(mode):
        raise SiteError(f"{folder} is in the way: the site needs a folder there")


def _is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _is_real_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _same_bytes(target: Path, data: bytes) -> bool:
    """Whether target is a regular file (not a link to one) holding exactly data."""
    try:
        return _is_regular_file(target) and target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def _stream_into_place(target: Path, chunks: Iterable[bytes]) -> bool:
    """Write chunks to a temporary file beside target, then rename it into place unless target already
    holds the same bytes (the temporary file is removed then); True when replaced."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    try:
        with os.fdopen(fd, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
        if _same_files(target, Path(tmp)):
            _unlink_quietly(Path(tmp))
            return False
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        _unlink_quietly(Path(tmp))
        raise
    return True


def _same_files(target: Path, fresh: Path, block: int = 1 << 20) -> bool:
    """Whether target is a regular file (not a link to one) with the bytes of fresh; read a block at a time."""
    try:
        if not _is_regular_file(target) or target.stat().st_size != fresh.stat().st_size:
            return False
        with open(target, "rb") as old, open(fresh, "rb") as new:
            while True:
                piece = old.read(block)
                if piece != new.read(block):
                    return False
                if not piece:
                    return True
    except OSError:
        return False


def _replace(target: Path, fill) -> None:
    """Write a file so that no reader ever sees half of it: `fill` writes a temporary file beside it,
    which is then renamed into place (over a link too: the rename replaces the link itself)."""
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


def site_files(out_dir: Path) -> set[str]:
    """The files the last build listed in OUT_DIR's manifest (relative paths, the manifest itself not
    among them); none when there is no manifest or it cannot be read for sure."""
    marker = Path(out_dir) / MARKER
    return _read_manifest(marker) if _is_regular_file(marker) else set()
