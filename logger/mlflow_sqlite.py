"""Opening MLflow's SQL tracking store in SQLite (`mlflow.db`) read-only, and telling it from other databases.

Used by logger/mlflow_sql_store.py (the reading) and logger/sources/mlflow_sql.py (the claim).

- A database is opened with the standard library's sqlite3 as `file:...?mode=ro`: no write, and no write
  lock, ever. A read takes SQLite's shared lock for the time of one transaction; MLflow's writer (which
  waits up to 20 s on a busy database) commits once the read is over. This side waits `BUSY_TIMEOUT` at
  most, and a database still locked after that is a problem of that refresh, not an error.
- One exception to `mode=ro`: a database in WAL mode with no `-wal` file beside it has no open
  connection, and SQLite would create the `-wal` and `-shm` files to read it even read-only. It is
  read as `immutable=1` instead (which creates nothing), and the read is kept only if the files
  looked the same afterwards (`database_stamp`), so a writer that started meanwhile is read next time.
- The schema of the MLflow version that wrote the file is read from the file (`Schema`): queries name
  only the columns that exist. The tables read have had the same columns from MLflow 2.0 to 3.x (Alembic
  heads 0584bdc529eb in 2.22, dc11669786a5 in 3.17); what 1.x added later (`metrics.step`,
  `metrics.is_nan`, `experiment_tags`, `experiments.creation_time`) is optional. What 3.x added is not
  read: `experiments.workspace` (ids stay unique across workspaces), logged models, `inputs.step`.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .format import MLFLOW_DATABASE
from .safepath import open_inside

SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database
DATABASE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
# Every MLflow SQL store since 1.x has these (alembic_version: MLflow migrates it with Alembic).
MLFLOW_TABLES = frozenset({"experiments", "runs", "metrics", "params", "tags", "alembic_version"})
BUSY_TIMEOUT = 0.5  # seconds a read waits for MLflow to finish a commit
WAL_MODE = 2  # header bytes 18 and 19: 1 = rollback journal, 2 = write-ahead log


def named_like_database(name: str) -> bool:
    return name == MLFLOW_DATABASE or name.lower().endswith(DATABASE_SUFFIXES)


def _stamp(path: str) -> tuple | None:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ino)


def database_stamp(path: Path) -> tuple:
    """What tells that a database changed: size, time and inode of the file and of its `-wal` file."""
    return (_stamp(str(path)), _stamp(f"{path}-wal"))


def read_header(path: Path, root_real: str) -> bytes | None:
    """The first 100 bytes (SQLite's database header) when the file starts like a SQLite database."""
    try:
        with open_inside(path, root_real, root_real) as file:
            header = file.read(100)
    except OSError:
        return None
    return header if header.startswith(SQLITE_HEADER) else None


class Unreadable(Exception):
    """The database could not be read; the message says why, in words for the problems list."""


def connect(path: Path, header: bytes) -> tuple[sqlite3.Connection, bool]:
    """A read-only connection, and whether it reads the file as immutable (see the module's docstring).

    Raises `Unreadable`."""
    immutable = len(header) > 19 and header[19] == WAL_MODE and not os.path.lexists(f"{path}-wal")
    uri = f"{path.as_uri()}?{'immutable=1' if immutable else 'mode=ro'}"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)
    except sqlite3.Error as error:
        raise Unreadable(why(error)) from None
    try:
        # Nothing in the file runs as code: no functions called from its views or triggers.
        connection.execute("PRAGMA trusted_schema = OFF")
        connection.execute("PRAGMA query_only = ON")
    except sqlite3.Error as error:
        connection.close()
        raise Unreadable(why(error)) from None
    return connection, immutable


def why(error: sqlite3.Error) -> str:
    """An sqlite3 error in words for the problems list."""
    text = str(error) or type(error).__name__
    if "locked" in text or "busy" in text:
        return f"{text} (MLflow is writing to it; read again on the next refresh)"
    return text


def tables(connection: sqlite3.Connection) -> set[str]:
    """The names of the database's tables (views, which could compute anything, are not tables)."""
    return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if isinstance(name, str)}


def is_mlflow_database(path: Path, root_real: str) -> bool | None:
    """True for a SQLite database holding MLflow's tables, False for any other file, None when it starts
    like a database but cannot be read (locked, damaged): the caller decides from its name."""
    header = read_header(path, root_real)
    if header is None:
        return False
    try:
        connection, _ = connect(path, header)
    except Unreadable:
        return None
    try:
        return MLFLOW_TABLES.issubset(tables(connection))
    except sqlite3.Error:
        return None
    finally:
        connection.close()


@dataclass(frozen=True)
class Schema:
    """The columns of the tables flowsheet reads, as the writing MLflow version made them."""

    runs: frozenset[str]
    experiments: frozenset[str]
    metrics: frozenset[str]
    has_experiment_tags: bool

    @classmethod
    def read(cls, connection: sqlite3.Connection) -> Schema:
        found = tables(connection)
        missing = MLFLOW_TABLES - found
        if missing:
            raise Unreadable(f"not an MLflow database any more: no {', '.join(sorted(missing))} table")

        def columns(table: str) -> frozenset[str]:
            return frozenset(row[1] for row in connection.execute(f"PRAGMA table_info('{table}')"))

        return cls(columns("runs"), columns("experiments"), columns("metrics"), "experiment_tags" in found)

    def column(self, table: str, name: str, default: str = "NULL") -> str:
        """`name` when the table has that column, else `default` (an SQL expression)."""
        return name if name in getattr(self, table) else default
