"""Artifact paths: relative, inside the run, refused before anything is written."""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from pathlib import Path, PurePosixPath

_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_relative(path: str | os.PathLike | None, what: str = "artifact path") -> str:
    """Check a user-given artifact path and return it "/"-separated; "" for none."""
    if path is None:
        return ""
    text = os.fspath(path)
    if not isinstance(text, str):
        raise ValueError(f"{what} must be text, got {path!r}")
    if text.startswith(("/", "\\")) or _DRIVE.match(text):
        raise ValueError(f"{what} {text!r} is absolute; give a path relative to the run's artifacts")
    parts = [part for part in re.split(r"[/\\]", text) if part not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"{what} {text!r} leaves the run's artifacts folder ('..' is not allowed)")
    return str(PurePosixPath(*parts)) if parts else ""


def safe_file(path: str | os.PathLike, what: str = "artifact_file") -> str:
    """Like `safe_relative`, for an argument that names a file: it must name one, not the folder itself."""
    relative = safe_relative(path, what)
    if not relative:
        raise ValueError(f"{what} {os.fspath(path)!r} names no file; give a file name such as 'notes.txt'")
    return relative


def refuse_unprintable(text: str, what: str = "artifact path") -> None:
    """Refuse control characters and line breaks (all those `str.splitlines` breaks at) in a name.

    Such a name cannot be typed or shown, and it splits into several lines in anything that lists
    names one per line (the site's manifest once did, and deleted files it never wrote)."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            name = unicodedata.name(char, "control character")
            raise ValueError(f"{what} {text!r} contains U+{ord(char):04X} ({name}); "
                             "names may not hold control characters or line breaks")


def destination(root: Path, relative: str) -> Path:
    """The file `relative` under `root`, refusing anything that resolves outside (e.g. through a symlink).

    Every artifact written goes through here first, so this is where unprintable names are refused."""
    refuse_unprintable(relative)
    target = root.joinpath(*relative.split("/")) if relative else root
    # The artifacts folder itself must be where it seems: if it was replaced by a symlink, files would land
    # wherever that points.
    resolved_root = root.parent.resolve() / root.name
    if root.resolve() != resolved_root:
        raise ValueError(f"the run's artifacts folder {root} is a link to {root.resolve()}; refusing to write there")
    resolved = target.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise ValueError(f"artifact path {relative!r} resolves outside the run's artifacts folder")
    return target


def place(target: Path, fill) -> int:
    """Write an artifact so that readers never see half of it: `fill` writes a hidden file beside it,
    which is then renamed into place. The hidden name keeps the extension, for writers that go by it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{uuid.uuid4().hex[:8]}.{target.name}")
    try:
        fill(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target.stat().st_size


def copy_into(source: Path, target: Path) -> int:
    import shutil

    return place(target, lambda temporary: shutil.copyfile(source, temporary))


def write_into(data: bytes, target: Path) -> int:
    return place(target, lambda temporary: temporary.write_bytes(data))
