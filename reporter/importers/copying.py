"""A run's artifacts into its target folder: files hard-linked (or copied), bytes kept in a log file written out.

Every source file is opened through logger/safepath.py against the source folder it must lie in (or a
folder the user allowed, `import-mlflow --allow-artifacts-outside`), so no link leads the import out of
the source; nothing lying in the log directory being written is read. An artifact with a `blob`
(`(file, offset, length)`: an image inside a TensorBoard event file) is written from exactly those
bytes. An artifact already in place (the same inode, or the same bytes) is left alone; one whose bytes
changed in the source is replaced, as the logger replaces an artifact logged again.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from logger.artifacts import destination, place
from logger.model import Artifact, Run
from logger.safepath import RefusedPath, is_inside, open_inside

CHUNK = 1 << 20


class ArtifactCopier:
    """Places runs' artifacts and counts how: `linked`, `copied` (or written from a blob), `unchanged`."""

    def __init__(self, roots: list[str], log_dir_real: str, link: bool, problem: Callable[[str, str], None]):
        self.roots = roots  # real paths of the folders sources may be read in
        self.log_dir_real = log_dir_real
        self.link = link
        self.problem = problem  # (file, reason)
        self.linked = self.copied = self.unchanged = 0

    def copy(self, run: Run, target_root: Path) -> list[Artifact]:
        """Place every artifact of `run` under `target_root`; the ones this call placed (for `artifact` lines)."""
        placed = []
        for artifact in run.artifacts:
            folder = run.artifacts_dir or ""
            source = artifact.blob[0] if artifact.blob else os.path.join(folder, *artifact.path.split("/"))
            try:
                if artifact.blob is None and run.artifacts_dir is None:
                    raise RefusedPath(errno.ENOENT, "the run names no artifacts folder", artifact.path)
                with self._open(source) as file:
                    target_root.mkdir(parents=True, exist_ok=True)
                    target = destination(target_root, artifact.path)
                    if self._place(file, target, artifact.blob):
                        placed.append(artifact)
            except (OSError, ValueError) as error:
                reason = getattr(error, "strerror", None) or error
                where = source if artifact.blob else f"{run.path}/{artifact.path}"
                self.problem(where, f"artifact {artifact.path!r} not imported: {reason}")
        return placed

    def _open(self, path: str) -> BinaryIO:
        """The source file `path`, opened inside the source folder it lies in (links followed and checked)."""
        real = os.path.realpath(path)
        if is_inside(self.log_dir_real, real):
            raise RefusedPath(errno.EACCES, "lies in the log directory being written", path)
        root = next((root for root in self.roots if is_inside(root, real)), None)
        if root is None:
            raise RefusedPath(errno.EACCES, "lies outside the source", path)
        return open_inside(path, root, root)

    def _place(self, source: BinaryIO, target: Path, blob: tuple[str, int, int] | None) -> bool:
        """Put the file (or its slice) at `target`; False when it was there already."""
        if blob is not None:
            offset, length = _checked_slice(blob)
            if _same_bytes(_slice(source, offset, length), target, length):
                self.unchanged += 1
                return False
            place(target, lambda temporary: _write(_slice(source, offset, length), temporary))
            self.copied += 1
            return True
        if _same_file(source, target):
            self.unchanged += 1
            return False
        if self.link:
            try:
                place(target, lambda temporary: _hard_link(source, temporary))
                self.linked += 1
                return True
            except OSError:
                self.link = False  # another filesystem (or no hard links): copy from now on
        source.seek(0)
        place(target, lambda temporary: _write(iter(lambda: source.read(CHUNK), b""), temporary))
        self.copied += 1
        return True


def _checked_slice(blob: tuple) -> tuple[int, int]:
    offset, length = blob[1], blob[2]
    if type(offset) is not int or type(length) is not int or offset < 0 or length < 0:
        raise ValueError(f"its bytes are named by offset {offset!r} and length {length!r}")
    return offset, length


def _slice(source: BinaryIO, offset: int, length: int):
    """The `length` bytes at `offset`, in chunks; OSError when the file ends before them."""
    source.seek(offset)
    left = length
    while left:
        chunk = source.read(min(CHUNK, left))
        if not chunk:
            raise OSError(errno.EIO, f"the file ends {left} byte(s) before the artifact's bytes do")
        left -= len(chunk)
        yield chunk


def _write(chunks, temporary: Path) -> None:
    with open(temporary, "wb") as target:
        for chunk in chunks:
            target.write(chunk)


def _hard_link(source: BinaryIO, temporary: Path) -> None:
    """Hard-link the file `source` is open on. OSError (then it is copied) when the name now leads elsewhere."""
    os.link(source.name, temporary, follow_symlinks=False)
    if not os.path.samestat(os.stat(temporary), os.fstat(source.fileno())):
        raise OSError(f"{source.name} changed while it was imported")


def _same_file(source: BinaryIO, target: Path) -> bool:
    """Already imported: the same inode (hard link), or a copy of the same size and content."""
    try:
        a, b = os.fstat(source.fileno()), target.stat()
    except FileNotFoundError:
        return False
    if os.path.samestat(a, b):
        return True
    source.seek(0)
    return _same_bytes(iter(lambda: source.read(CHUNK), b""), target, a.st_size)


def _same_bytes(chunks, target: Path, size: int) -> bool:
    """Whether `target` is a regular file of `size` bytes holding what `chunks` yields."""
    try:
        if not target.is_file() or target.stat().st_size != size:
            return False
        with open(target, "rb") as held:
            for chunk in chunks:
                if held.read(len(chunk)) != chunk:
                    return False
    except OSError:
        return False
    return True
