"""What the readers of other trackers' folders share: bounded reads, complete lines, flattened values, file lists.

Other tools' files are read as untrusted input: a file read whole is refused past `MAX_WHOLE_FILE`
bytes, a line past `MAX_LINE` is skipped, a nested value flattens to at most `MAX_LEAVES` entries (a
YAML alias can make a tree that refers to itself, or one exponentially larger than its text), and a
run folder lists at most `MAX_LISTED` files. Every file is opened through logger/safepath.py.

One set of rules makes params (and tags, and metric names) of every source's nested files (`flatten`):
a value too long to keep is left out and named, never cut, as the reader does with flowsheet's own
logs, so a value shown is always the whole value; an empty mapping adds nothing, as the tools' own
flattening does (Lightning's, Ray Tune's); the separator is the caller's, the one its tool names keys with.
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
MAX_LEAVES = 10_000  # values kept of one flattened tree
MAX_VISITS = 4 * MAX_LEAVES  # entries looked at, values or not: aliases may repeat one empty mapping many times
MAX_JSON_TEXT = 1_000_000  # characters of JSON text written for the lists of one tree
MAX_DEPTH = 32  # nested mappings (or lists) within one tree
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
    """A list or mapping as compact JSON text: no spaces, keys as text, a set as a sorted list, a date and
    other YAML types as their text. Written piece by piece, so a value that aliases make enormous (or that
    holds itself) costs no more than the limit.

    Raises ValueError, saying why, when the text would be longer than MAX_VALUE_LENGTH characters or the
    value nests deeper than MAX_DEPTH levels."""
    pieces: list[str] = []
    size = 0

    def put(text: str) -> None:
        nonlocal size
        size += len(text)
        if size > MAX_VALUE_LENGTH:
            raise ValueError(f"is longer than {MAX_VALUE_LENGTH} characters")
        pieces.append(text)

    def text(item: str) -> None:
        if len(item) > MAX_VALUE_LENGTH:  # before encoding it: a huge string is refused at once
            raise ValueError(f"is longer than {MAX_VALUE_LENGTH} characters")
        put(json.dumps(item, ensure_ascii=False))

    def write(item: Any, depth: int) -> None:
        if isinstance(item, (dict, list, tuple, set, frozenset)) and depth >= MAX_DEPTH:
            raise ValueError(f"nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            put("{")
            for index, (key, inner) in enumerate(item.items()):
                put("," if index else "")
                text(json.dumps(key) if key is None or isinstance(key, bool) else str(key))  # as json names them
                put(":")
                write(inner, depth + 1)
            put("}")
        elif isinstance(item, (list, tuple, set, frozenset)):
            put("[")
            for index, inner in enumerate(sorted(item, key=repr) if isinstance(item, (set, frozenset)) else item):
                put("," if index else "")
                write(inner, depth + 1)
            put("]")
        elif isinstance(item, str):
            text(item)
        elif item is None or isinstance(item, (bool, int, float)):
            put(json.dumps(item))  # NaN and infinities as Python's json writes them
        else:  # a YAML date or timestamp, bytes from !!binary
            text(str(item))

    write(value, 0)
    return "".join(pieces)


def scalar(value: Any) -> Scalar:
    """A value as the model keeps params and tags: scalars as they are, lists and mappings as compact JSON
    text, other values (a YAML date) as their text. Raises ValueError, saying why, for one too long to keep."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return compact_json(value)
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise ValueError(f"is longer than {MAX_VALUE_LENGTH} characters")
    return text


class _Notes:
    """What one flattening left out: the first MAX_NOTES named, the rest counted, and why it stopped."""

    def __init__(self) -> None:
        self.named: list[str] = []
        self.more = 0
        self.stopped = ""

    def add(self, note: str) -> None:
        if len(self.named) < MAX_NOTES:
            self.named.append(note)
        else:
            self.more += 1

    def all(self) -> list[str]:
        extra = [f"{self.more} more left out as well"] if self.more else []
        return self.named + extra + ([self.stopped] if self.stopped else [])


def flatten(tree: dict, separator: str, prefix: str = "", numbers_only: bool = False
            ) -> tuple[dict[str, Scalar], list[str]]:
    """A nested mapping as one level, and what was left out (for the problems list).

    Keys start with `prefix` and are joined with `separator`; a mapping adds its entries (an empty one adds
    nothing); any other value is kept as `scalar` makes it, or only numbers (booleans not) when
    `numbers_only`. The first of two equal names wins. Left out, each named: a key longer than
    MAX_KEY_LENGTH, a value longer than MAX_VALUE_LENGTH (as the reader does with flowsheet's own logs), a
    mapping deeper than MAX_DEPTH or holding itself. Stops after MAX_LEAVES values, MAX_VISITS entries
    looked at, or MAX_JSON_TEXT characters of JSON text written: YAML aliases can make a small file stand
    for an enormous tree, and every list in it be written out up to the limit before it is left out."""
    flat: dict[str, Scalar] = {}
    notes = _Notes()
    visits = written = 0
    stack: list[tuple[str, Iterator, tuple[int, ...]]] = [(prefix, iter(tree.items()), (id(tree),))]
    while stack:
        head, items, path = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            continue
        visits += 1
        if visits > MAX_VISITS:
            notes.stopped = f"more than {MAX_VISITS} entries: the rest left out"
            break
        key, value = f"{head}{item[0]}", item[1]
        if len(key) > MAX_KEY_LENGTH:
            notes.add(f"key {key[:40]!r}... is longer than {MAX_KEY_LENGTH} characters: left out")
        elif isinstance(value, dict):
            if id(value) in path:
                notes.add(f"{key!r} holds itself: left out")
            elif len(path) >= MAX_DEPTH and value:
                notes.add(f"{key!r} nests deeper than {MAX_DEPTH} levels: left out")
            else:
                stack.append((f"{key}{separator}", iter(value.items()), (*path, id(value))))
        elif numbers_only and type(value) not in (int, float):
            continue
        elif key in flat:
            notes.add(f"{key!r} is named twice: the first value kept")
        elif len(flat) >= MAX_LEAVES:
            notes.stopped = f"more than {MAX_LEAVES} values: the rest left out"
            break
        elif written > MAX_JSON_TEXT:
            notes.stopped = f"more than {MAX_JSON_TEXT} characters of lists as JSON text: the rest left out"
            break
        else:
            try:
                flat[key] = scalar(value)
            except ValueError as error:
                notes.add(f"{key!r} {error}: left out")
            if not isinstance(value, (str, bool, int, float, type(None))):  # text was written: count it,
                made = flat.get(key)  # and a value given up on as the most it could have cost
                written += len(made) if isinstance(made, str) else MAX_VALUE_LENGTH
    return flat, notes.all()


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
