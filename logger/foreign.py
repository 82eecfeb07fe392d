"""What the readers of other trackers' folders share: bounded reads, complete lines, flattened values, file lists.

Other tools' files are read as untrusted input: a file read whole is refused past `MAX_WHOLE_FILE`
bytes, a line past `MAX_LINE` is skipped, a nested value flattens to at most `MAX_LEAVES` entries (a
YAML alias can make a tree that refers to itself, or one exponentially larger than its text), and a
run folder lists at most `MAX_LISTED` files. Every file is opened through logger/safepath.py.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .format import MAX_KEY_LENGTH, MAX_VALUE_LENGTH
from .model import Artifact, Problem
from .safepath import file_kind, open_inside

CHUNK = 1 << 20
MAX_LINE = 16 << 20  # bytes: a longer line is skipped, not held
MAX_WHOLE_FILE = 16 << 20  # bytes: a params or summary file larger than this is not read
MAX_LEAVES = 10_000  # flattened entries of one nested value
MAX_DEPTH = 64
MAX_LISTED = 10_000  # files listed as one run's artifacts
MAX_NOTES = 20  # things left out of one value, named
Scalar = str | int | float | bool | None


class Unreadable(Exception):
    """A file that is not read, and why, in words for the problems list."""


def read_whole(path: Path, root: Path, root_real: str) -> bytes:
    """The bytes of a small file of the log directory (links out and special files refused).

    Raises OSError when it cannot be opened, Unreadable when it is too large."""
    with open_inside(path, root, root_real) as file:
        data = file.read(MAX_WHOLE_FILE + 1)
    if len(data) > MAX_WHOLE_FILE:
        raise Unreadable(f"larger than {MAX_WHOLE_FILE >> 20} MiB: not read")
    return data


class Lines:
    """The complete lines of a binary file from where it stands; a last line without its newline is left.

    `lineno` counts on from the number given; `offset` is where the last complete line ended, the place
    to read on from once more has been appended. A line longer than `max_line` comes as None."""

    def __init__(self, file: BinaryIO, lineno: int = 0, max_line: int = MAX_LINE):
        self.file = file
        self.lineno = lineno
        self.offset = file.tell()
        self.max_line = max_line

    def __iter__(self) -> Iterator[tuple[int, bytes | None]]:
        pending: list[bytes] = []
        pending_size = 0
        too_long = False
        position = self.offset
        while chunk := self.file.read(CHUNK):
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                self.lineno += 1
                self.offset = position + end + 1
                if too_long or pending_size + end - start > self.max_line:
                    yield self.lineno, None
                else:
                    yield self.lineno, b"".join(pending) + chunk[start:end]
                pending, pending_size, too_long = [], 0, False
                start = end + 1
            if not too_long:
                pending.append(chunk[start:])
                pending_size += len(chunk) - start
                if pending_size > self.max_line:
                    pending, pending_size, too_long = [], 0, True
            position += len(chunk)


def compact_json(value: Any) -> str:
    """A list or dict as compact JSON text (dates and other YAML types as their text), cut at MAX_VALUE_LENGTH.

    Raises ValueError for a value that holds itself."""
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
    pieces: list[str] = []
    size = 0
    try:
        for piece in encoder.iterencode(value):
            pieces.append(piece)
            size += len(piece)
            if size > MAX_VALUE_LENGTH:
                return "".join(pieces)[:MAX_VALUE_LENGTH - 3] + "..."
    except RecursionError:
        raise ValueError("nested too deeply") from None
    return "".join(pieces)


def flatten(tree: dict, separator: str) -> tuple[dict[str, Scalar], list[str]]:
    """A nested mapping as one level: keys joined with `separator`, lists as compact JSON text, other
    values as scalars (a date as its text). Also says what was left out, for the problems list."""
    flat: dict[str, Scalar] = {}
    notes: list[str] = []
    visits = 0  # entries looked at, leaves or not: a tree of shared branches may have few leaves per visit
    stack: list[tuple[str, Iterator, tuple[int, ...]]] = [("", iter(tree.items()), (id(tree),))]
    while stack:
        prefix, items, path = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            continue
        visits += 1
        if len(flat) >= MAX_LEAVES or visits > 4 * MAX_LEAVES:
            notes.append(f"more than {MAX_LEAVES} values: the rest left out")
            break
        key = f"{prefix}{item[0]}"
        value = item[1]
        if len(key) > MAX_KEY_LENGTH:
            notes.append(f"key {key[:40]!r}... is longer than {MAX_KEY_LENGTH} characters: left out")
        elif not isinstance(value, dict) or not value:
            try:
                flat[key] = scalar(value)
            except ValueError as error:
                notes.append(f"{key!r}: {error}: left out")
        elif id(value) in path or len(path) >= MAX_DEPTH:
            notes.append(f"{key!r} holds itself or is nested too deeply: left out")
        else:
            stack.append((f"{key}{separator}", iter(value.items()), (*path, id(value))))
    return flat, notes[:MAX_NOTES]


def scalar(value: Any) -> Scalar:
    """A value as the model keeps params and tags: scalars as they are, lists and dicts as compact JSON."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple, dict)):
        return compact_json(value)
    return str(value)


def fits_int64(value: int) -> bool:
    """Whether a step or time fits the model's 64-bit columns."""
    return -(1 << 63) <= value < (1 << 63)


def number(value: Any) -> float | None:
    """A JSON or YAML number as a float (NaN and infinities included); None for anything else, booleans too."""
    if type(value) is float:
        return value
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            return None
    return None


def list_files(folder: Path, keep: Callable[[str], bool] = lambda rel: True
               ) -> tuple[list[Artifact], list[tuple[str, str]]]:
    """The regular files under `folder` (relative, "/"-separated, sorted) that `keep` accepts (it is asked
    about folders too), and what was passed over as (relative path, reason): links are not followed nor
    listed, hidden names are left out quietly, and at most MAX_LISTED files are listed."""
    found: list[Artifact] = []
    notes: list[tuple[str, str]] = []
    stack = [(folder, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            rel = prefix + entry.name
            if entry.name.startswith(".") or not keep(rel):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                stack.append((Path(entry.path), rel + "/"))
            elif stat.S_ISLNK(info.st_mode):
                notes.append((rel, "a link: not listed"))
            elif not stat.S_ISREG(info.st_mode):
                notes.append((rel, f"not a regular file ({file_kind(info.st_mode)}): not listed"))
            elif len(found) >= MAX_LISTED:
                notes.append(("", f"more than {MAX_LISTED} files: the rest not listed"))
                return sorted(found, key=lambda artifact: artifact.path), notes
            else:
                found.append(Artifact(rel, info.st_size))
    return sorted(found, key=lambda artifact: artifact.path), notes


class FileProblems:
    """The problems met in one file: the first MAX_NOTES named, the rest counted (a garbage file has many)."""

    def __init__(self, rel: str):
        self.rel = rel
        self.named: list[Problem] = []
        self.more = 0

    def add(self, line: int | None, reason: str) -> None:
        if len(self.named) < MAX_NOTES:
            self.named.append(Problem(self.rel, line, reason))
        else:
            self.more += 1

    def all(self) -> list[Problem]:
        extra = [Problem(self.rel, None, f"{self.more} more problems in this file")] if self.more else []
        return self.named + extra
