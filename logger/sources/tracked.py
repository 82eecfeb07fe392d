"""Following one log file: where its last complete line ended, read in chunks, rewrites noticed.

The flowsheet source (logger/sources/flowsheet.py) keeps one `TrackedFile` per log file it claims.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..model import Problem
from ..parsing import ExperimentParser, Parser
from ..parsing_plain import PlainParser, is_plain_record, lenient_loads, plain_run_id
from ..safepath import open_inside
from ..segment_merge import parser_for
from .known import KnownParser

CHUNK = 1 << 20
TAIL = 64  # bytes before the offset remembered to notice a file rewritten in place


class TrackedFile:
    """One file being followed: where the last complete line ended, and the parser of its lines."""

    def __init__(self, path: Path, rel: str, role: str, log_dir: Path):
        self.path = path
        self.log_dir = log_dir
        self.rel = rel
        self.role = role  # "run", "segment", "experiment" or "jsonl" (plain if its first line says so)
        # a SegmentParser (a RunParser), ExperimentParser or PlainParser: which one follows from the role
        self.parser: Any = None
        self.identity: tuple[int, int] | None = None
        self.offset = 0
        self.tail = b""
        self.seen_size = -1
        self.mtime_ns = 0
        self.plain = False  # for "jsonl": decided plain
        self.error: Problem | None = None  # the file could not be read at all

    def _new_parser(self, first_line: bytes | None) -> Parser | None:
        if self.role in ("run", "segment"):
            return parser_for(self.rel, self.path.parent)
        if self.role == "experiment":
            return ExperimentParser(self.rel, self.path.parent)
        try:
            record = lenient_loads(first_line) if first_line is not None else None
        except ValueError:
            record = None
        self.plain = is_plain_record(record)
        return PlainParser(self.rel, self.path, plain_run_id(self.rel)) if self.plain else None

    def update(self, root_real: str) -> bool:
        """Read what was appended since last time (or all of it again). True when anything changed.

        `root_real`: the log directory resolved once for the whole pass, not once per file."""
        try:
            info = os.stat(self.path)
        except OSError:
            return False  # gone: the tree scan drops it
        if (info.st_size == self.seen_size and info.st_mtime_ns == self.mtime_ns
                and (info.st_dev, info.st_ino) == self.identity):
            return False
        try:
            with open_inside(self.path, self.log_dir, root_real) as file:
                return self._read(file)
        except OSError as error:
            problem = Problem(self.rel, None, f"cannot read: {error.strerror or error}")
            changed = problem != self.error
            self.error = problem
            return changed

    def _read(self, file) -> bool:
        info = os.fstat(file.fileno())
        whole = ((info.st_dev, info.st_ino) != self.identity or info.st_size < self.offset
                 or (self.role != "jsonl" or self.plain) and self.parser is None
                 or isinstance(self.parser, KnownParser))  # known from a cache: it takes no new lines
        if not whole and self.tail:
            file.seek(self.offset - len(self.tail))
            whole = file.read(len(self.tail)) != self.tail  # rewritten in place
        if whole:
            self.offset, self.tail, self.plain = 0, b"", False
            self.parser = self._new_parser(None) if self.role != "jsonl" else None
            file.seek(0)
        self.identity = (info.st_dev, info.st_ino)
        self.mtime_ns = info.st_mtime_ns
        self.error = None
        start_offset = self.offset
        pending: list[bytes] = []  # the start of a line not finished yet, maybe over several chunks
        decided = self.parser is not None or (self.role == "jsonl" and self.offset > 0)
        while True:
            chunk = file.read(CHUNK)
            if not chunk:
                break
            end = chunk.rfind(b"\n")
            if end < 0:
                pending.append(chunk)
                continue
            if pending:
                end += sum(map(len, pending))
                chunk = b"".join(pending) + chunk
            lines = chunk[:end].split(b"\n")
            pending = [chunk[end + 1:]]
            if not decided:
                decided = True  # a plain log is told by its first non-blank line
                self.parser = self._new_parser(next((line for line in lines if line.strip()), None))
            if self.parser is not None:
                self.parser.feed(lines)
            self.offset += end + 1
            self.tail = (self.tail + chunk[max(0, end + 1 - TAIL): end + 1])[-TAIL:]
        self.seen_size = self.offset + sum(map(len, pending))
        return whole or self.offset != start_offset
