"""The files of an MLflow store, read as foreign input: logger/mlflow_store.py reads a store through this.

- Nothing is read from outside the store: every file is opened, and every folder listed, through
  logger/safepath.py, which resolves links first. Experiment and run folders that are links are not
  followed at all, nor are links among artifacts. Only regular files are opened (a FIFO would block
  the reader forever). Each refusal is a `Problem`, and the rest is still read.
- Run and experiment ids become folder names (the importer's, the site's): `id_problem` says why one
  cannot (`..`, `/`, control characters, ...), and its run or experiment is skipped.
- An `artifact_uri` naming a local folder outside the store is only read when the caller allows that
  folder (`allow_artifacts_outside`; `reporter import-mlflow --allow-artifacts-outside PATH`).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from .format import ARTIFACTS_DIR, MLFLOW_META_FILE
from .model import Artifact, MetricHistory, Problem
from .safepath import LEADS_OUTSIDE, is_inside, open_inside

META = MLFLOW_META_FILE
MAX_ID_BYTES = 200  # MLflow's ids are 32 hex digits or up to 19 decimal ones; the site adds to the name
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
OUTSIDE_ARTIFACTS = ("artifact_uri names a folder outside the store: its artifacts are not read "
                     "(`reporter import-mlflow --allow-artifacts-outside PATH` imports them from there)")


class MlflowFiles:
    """The files of one store, read safely; collects problems as it goes."""

    def __init__(self, root: Path, allow_artifacts_outside=()):
        self.root = root
        self.real = os.path.realpath(root)
        self.outside_allowed = [os.path.realpath(Path(p).expanduser()) for p in allow_artifacts_outside]
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def problem(self, path: Path, line: int | None, reason: str) -> None:
        self.problems.append(Problem(self.rel(path), line, reason))

    def open(self, path: Path):
        """The one way a file of the store is opened: inside it, and a regular file (OSError otherwise)."""
        return open_inside(path, self.real)

    def folders(self, folder: Path, not_folders: set[str]) -> list[Path]:
        """The experiment (or run) folders in `folder`, sorted; hidden ones and `not_folders` left out.

        A link to a folder is reported, not followed: it could lead out of the store or to a run read already.
        """
        found = []
        for entry in sorted(entries(folder), key=lambda e: e.name):
            path = Path(entry.path)
            if entry.name.startswith(".") or entry.name in not_folders and not (path / META).exists():
                continue
            if entry.is_symlink():
                if entry.is_dir():
                    self.problem(path, None, "a link: experiment and run folders are not followed through links")
            elif entry.is_dir(follow_symlinks=False):
                found.append(path)
        return found

    def files_under(self, folder: Path, boundary: str | None = None) -> list[tuple[str, Path]]:
        """Entries under `folder` that are not folders, as (`a/b` key, path), sorted; sub-folders make the `/`.

        Links are listed, not followed; a folder that resolves outside `boundary` (the store) is not listed.
        """
        found: list[tuple[str, Path]] = []
        stack = [(folder, "")]
        while stack:
            directory, prefix = stack.pop()
            if not is_inside(boundary or self.real, directory):
                self.problem(directory, None, LEADS_OUTSIDE)
                continue
            try:
                with os.scandir(directory) as listing:
                    listed = list(listing)
            except FileNotFoundError:
                continue  # no params/, no tags/: nothing was logged
            except OSError as error:
                self.problem(directory, None, f"cannot list: {_why(error)}")
                continue
            for entry in listed:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), prefix + entry.name + "/"))
                else:
                    found.append((prefix + entry.name, Path(entry.path)))
        found.sort()
        return found

    def meta(self, folder: Path) -> dict | None:
        """A meta.yaml as a dict, or None (reported) when it is missing or unreadable."""
        path = folder / META
        try:
            with self.open(path) as file:
                text = file.read().decode("utf-8")
        except FileNotFoundError:
            self.problem(folder, None, f"no {META}: not an MLflow experiment or run folder")
            return None
        except (OSError, UnicodeDecodeError) as error:
            self.problem(path, None, f"cannot read: {_why(error)}")
            return None
        try:
            meta = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            reason = getattr(error, "problem", None) or str(error).splitlines()[0]
            self.problem(path, mark.line + 1 if mark else None, f"malformed YAML ({reason})")
            return None
        if not isinstance(meta, dict):
            self.problem(path, None, f"expected a YAML mapping, got {type(meta).__name__}")
            return None
        return meta

    def key_files(self, folder: Path, what: str) -> dict[str, str]:
        """`params/`, `tags/`: key -> file content; a key with `/` is a subfolder."""
        found: dict[str, str] = {}
        for key, path in self.files_under(folder):
            try:
                with self.open(path) as file:
                    found[key] = file.read().decode("utf-8")
            except (OSError, UnicodeDecodeError) as error:
                self.problem(path, None, f"cannot read {what} {key!r}: {_why(error)}")
        return found

    def metric(self, key: str, path: Path) -> MetricHistory:
        """One metric file, read line by line (they can hold millions of points)."""
        history = MetricHistory(key)
        try:
            with self.open(path) as file:
                for number, raw in enumerate(file, 1):
                    fields = raw.split()
                    if not fields:
                        continue
                    try:
                        history.append(*_metric_point(fields))
                    except ValueError as error:
                        self.problem(path, number, f"bad metric line {raw.strip()[:60]!r}: {error}")
        except OSError as error:
            self.problem(path, None, f"cannot read metric {key!r}: {_why(error)}")
        return history

    def artifacts(self, run_folder: Path, artifact_uri: Any) -> tuple[str | None, list[Artifact]]:
        """The real path of the run's artifact folder (see `artifact_folder`; checked: in the store or where
        the caller allowed) and the regular files under it, sorted."""
        folder = artifact_folder(run_folder, artifact_uri)
        boundary: str | None = self.real
        if folder != run_folder / ARTIFACTS_DIR:  # artifact_uri: in the store, or where the caller allowed
            boundary = next((b for b in [self.real, *self.outside_allowed] if is_inside(b, folder)), None)
            if boundary is None:
                self.problem(run_folder / META, None, OUTSIDE_ARTIFACTS)
                folder, boundary = run_folder / ARTIFACTS_DIR, self.real
        found = self.artifact_files(folder, boundary)
        real = os.path.realpath(folder)
        inside = boundary is not None and is_inside(boundary, real)
        return (real if inside else None), found  # a folder that links out is no place to read

    def artifact_files(self, folder: Path, boundary: str | None = None) -> list[Artifact]:
        """The regular files under `folder` (checked to lie inside `boundary`, the store by default), sorted;
        hidden names left out, links and FIFOs reported, not followed."""
        found: list[Artifact] = []
        for rel, path in self.files_under(folder, boundary):
            if any(part.startswith(".") for part in rel.split("/")):
                continue
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                self.problem(path, None, "a link: artifacts are not followed through links")
            elif not stat.S_ISREG(info.st_mode):
                self.problem(path, None, "not a regular file (a FIFO, device or socket): not an artifact")
            else:
                found.append(Artifact(rel, info.st_size))
        return found


def _metric_point(fields: list[bytes]) -> tuple[float, int, int]:
    """`timestamp value [step]` -> (value, step, timestamp); ValueError says what is wrong."""
    if len(fields) not in (2, 3):
        raise ValueError(f"expected `timestamp value [step]`, got {len(fields)} field(s)")
    try:
        timestamp = int(fields[0])
    except ValueError:
        raise ValueError("timestamp is not an integer") from None
    try:
        value = float(fields[1])  # Python's float() reads MLflow's `nan`, `inf` and `-inf`
    except ValueError:
        raise ValueError("value is not a number") from None
    try:
        step = int(fields[2]) if len(fields) == 3 else 0  # MLflow before 1.0 wrote no step
    except ValueError:
        raise ValueError("step is not an integer") from None
    return value, step, timestamp


def entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError:
        return []


def id_problem(text: str) -> str | None:
    """Why `text` (a run or experiment id from the store) cannot be a folder name, or None when it can."""
    if text in ("", ".", ".."):
        return "is empty, '.' or '..'"
    if text.startswith("."):
        return "starts with '.' (a hidden folder, which readers skip)"
    if "/" in text or "\\" in text:
        return "holds a path separator"
    if _CONTROL.search(text):
        return "holds a control character"
    if len(text.encode("utf-8", "surrogateescape")) > MAX_ID_BYTES:
        return f"is longer than {MAX_ID_BYTES} bytes"
    return None


def _why(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


def artifact_folder(run_folder: Path, artifact_uri: Any) -> Path:
    """Where the run's artifacts are: `artifact_uri` when it is a local folder that exists, else `<run>/artifacts`.

    After an `rsync` from another machine, the `file://` URI names a path that only existed there.
    """
    if isinstance(artifact_uri, str) and artifact_uri:
        parsed = urlparse(artifact_uri)
        if parsed.scheme in ("", "file") and not parsed.netloc:
            candidate = Path(unquote(parsed.path))
            if candidate.is_absolute() and candidate.is_dir():
                return candidate
    return run_folder / ARTIFACTS_DIR
