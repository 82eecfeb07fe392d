"""`reporter import`: convert logs of any format flowsheet reads into flowsheet's own log format.

    result = import_logs("lightning_logs", "runs")
    print(result.summary())

What is read is what `logger.reader.LogReader(SOURCE)` reads: a folder holding any mix of formats, or
one file (an `mlflow.db`, an event file). Every experiment and run of that `LogData` is converted,
whichever source brought it; `reporter import-mlflow` is the case of an MLflow file store read with
folders outside it allowed (reporter/importers/mlflow.py). docs/FORMAT.md is the target format.

- An experiment becomes the flowsheet experiment of the same *name*: its folder is
  `experiment_id_for(name)` (or an existing folder that already holds that name), so `Default` or
  `houses` merge with native experiments of that name. Source experiments of one name are one (their
  tags merged in id order). Its tags become `experiment_tag` lines; its notes (notes.md) are written
  when the target folder has none, and an existing notes.md that differs is kept and reported.
  A run whose source put it in no experiment it read goes to the experiment its id names, or `Default`.
- A run keeps its id, or takes a derived one with tags naming its origin (reporter/importers/ids.py);
  a child of a renamed run points to the new id. Its `run.jsonl` is a `start` line (name, parent, note,
  system info), then params and tags (at the run's start time), metric points and `artifact` lines, in
  time order, then an `end` line for FINISHED, FAILED and KILLED runs (reporter/importers/lines.py).
  Values keep their types; NaN and infinities travel as the format's strings.
- Artifacts are hard-linked, copied, or written from the bytes a log file holds
  (reporter/importers/copying.py).

Idempotent and append-only: every line is built from the source's data alone, and a run already in
the target gets only what its reader does not show yet (see lines.py), never a second `start` line.
Importing twice writes nothing the second time; importing after the source grew appends just the new
points, tags and the `end` line (after a `resume` line when the target's run had ended otherwise).
Nothing is ever rewritten or removed.

Lines flowsheet's reader would reject (keys over 250 characters or with control characters, values
over 6,000 characters) are left out and reported as problems, as are the source's own bad files.

Nothing is written inside the source: a log directory inside the source (or a source inside the log
directory) is refused, and nothing is written through a folder of the log directory that links out of it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from logger import events
from logger.experiments import DEFAULT_EXPERIMENT, check_name, experiment_id_for, find_by_name
from logger.format import ARTIFACTS_DIR, EXPERIMENT_FILE, MAX_KEY_LENGTH, NOTES_FILE, PARENT_TAG, RUN_FILE
from logger.model import Experiment, LogData, Problem, Run
from logger.reader import LogReader, read_logs
from logger.safepath import LEADS_OUTSIDE, RefusedPath, is_inside, open_regular

from reporter.importers.copying import ArtifactCopier
from reporter.importers.ids import RunIds, origin_tags
from reporter.importers.lines import check_event, experiment_events, holds, new_events, run_events

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class LogImportError(Exception):
    """The import could not start; the message is one line for the user, `problems` what the reader met."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass
class ImportResult:
    experiments: int = 0
    experiments_created: int = 0
    runs_created: int = 0
    runs_updated: int = 0
    runs_unchanged: int = 0
    runs_renamed: int = 0  # imported under a derived id (reporter/importers/ids.py)
    lines_written: int = 0
    artifacts_linked: int = 0
    artifacts_copied: int = 0
    artifacts_unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    log_dir: Path | None = None
    runs_by_source: dict[str, int] = field(default_factory=dict)  # what the reader found, by format

    def summary(self) -> str:
        renamed = f" ({self.runs_renamed} under a new id)" if self.runs_renamed else ""
        return (f"{self.experiments} experiment(s) ({self.experiments_created} new), "
                f"{self.runs_created + self.runs_updated + self.runs_unchanged} run(s){renamed}: "
                f"{self.runs_created} new, {self.runs_updated} updated, {self.runs_unchanged} unchanged; "
                f"{self.lines_written} line(s) written; artifacts: {self.artifacts_linked} linked, "
                f"{self.artifacts_copied} copied, {self.artifacts_unchanged} unchanged; "
                f"{len(self.problems)} problem(s)")


def import_logs(source: str | os.PathLike, log_dir: str | os.PathLike, *, link: bool = True,
                now: float | None = None) -> ImportResult:
    """Import every experiment and run the reader finds at `source` (a folder or one file) into `log_dir`.

    `now` (seconds since the epoch) decides, as for the reader, whether a run with no recorded end still runs.
    Raises LogImportError (one-line message) when there is nothing to read or the two paths overlap."""
    path = Path(source).expanduser().absolute()
    if not path.exists():
        raise LogImportError(f"{source}: no such file or directory")
    target = Path(log_dir).expanduser().absolute()
    refuse_overlap(path, target, source, log_dir)
    reader = LogReader(path)
    reader.refresh(now)
    if not reader.data.runs and not reader.data.experiments:
        raise LogImportError(f"{source}: no logs in a format flowsheet reads", reader.data.problems)
    result = import_data(reader.data, target, [reader.root], link=link)
    result.runs_by_source = {label: count for label, count in reader.runs_by_source().items() if count}
    return result


def refuse_overlap(source: Path, log_dir: Path, source_text, log_dir_text) -> None:
    """LogImportError when the log directory is (or lies inside) the source, or the source lies inside it."""
    real_source, real_target = source.resolve(), log_dir.resolve()
    if real_target == real_source or real_source in real_target.parents:
        raise LogImportError(f"{log_dir_text}: the log directory must not be inside the source {source_text}")
    if real_target in real_source.parents:
        raise LogImportError(f"{source_text}: the source must not be inside the log directory {log_dir_text}")


def import_data(data: LogData, log_dir: Path, roots: list[Path], *, link: bool = True) -> ImportResult:
    """Write `data` into `log_dir`. `roots`: the folders its files may be read in, the first naming problems."""
    log_dir.mkdir(parents=True, exist_ok=True)
    importer = _Importer(log_dir, roots, link, read_logs(log_dir))
    importer.result.problems.extend(data.problems)
    importer.import_all(data)
    return importer.result


class _Importer:
    def __init__(self, log_dir: Path, roots: list[Path], link: bool, target: LogData):
        self.log_dir = log_dir
        self.log_dir_real = os.path.realpath(log_dir)
        self.root = roots[0]
        self.result = ImportResult(log_dir=log_dir)
        self.copier = ArtifactCopier([os.path.realpath(root) for root in roots], self.log_dir_real, link, self.problem)
        self.target = target
        self.ids = RunIds(target)

    def problem(self, file: str, reason: str) -> None:
        # Named relative to the source folder, like the reader's own problems.
        self.result.problems.append(Problem(Path(os.path.relpath(file, self.root)).as_posix(), None, reason))

    def import_all(self, data: LogData) -> None:
        placed: list[_Placed] = []
        for experiment, runs in self.experiment_groups(data):
            experiment_id, folder = self.experiment(experiment)
            for run in sorted(runs, key=lambda run: run.run_id):
                run_id, derived = self.ids.place(run, experiment.name, folder)
                if run_id is None:
                    self.problem(run.path, f"run {run.run_id!r} not imported: its id and the one it would be "
                                           "renamed to are both used by other runs in the log directory")
                    continue
                self.result.runs_renamed += derived
                tags = {**run.tags, **origin_tags(run)} if derived else run.tags
                placed.append(_Placed(replace(run, run_id=run_id, tags=tags), run.run_id, experiment_id, folder))
        renamed = {one.source_id: one.run.run_id for one in placed if one.source_id != one.run.run_id}
        for one in placed:
            self.run(_parent_renamed(one.run, renamed), one.experiment_id, one.folder)
        copier = self.copier
        self.result.artifacts_linked, self.result.artifacts_copied = copier.linked, copier.copied
        self.result.artifacts_unchanged = copier.unchanged

    # --- experiments -----------------------------------------------------------------------------

    def experiment_groups(self, data: LogData) -> list[tuple[Experiment, list[Run]]]:
        """One experiment per name (the source's of that name merged, in id order) and its runs, by name."""
        names: dict[str, str] = {}  # source experiment id -> the name it imports under
        merged: dict[str, Experiment] = {}
        for experiment in sorted(data.experiments.values(), key=lambda e: e.experiment_id):
            name = names[experiment.experiment_id] = self.usable_name(experiment.name, experiment.path)
            into = merged.setdefault(name, Experiment(experiment.experiment_id, name, experiment.path))
            into.tags.update(experiment.tags)
            into.notes = into.notes or experiment.notes
            if experiment.created is not None:
                into.created = min(into.created or experiment.created, experiment.created)
        runs: dict[str, list[Run]] = {}
        for run in data.runs.values():
            group = names.get(run.experiment_id)
            if group is None:  # a run in no experiment its source read: the one its experiment id names
                group = names[run.experiment_id] = self.usable_name(run.experiment_id or DEFAULT_EXPERIMENT, run.path)
            if group not in merged:
                merged[group] = Experiment(run.experiment_id, group, str(Path(run.path).parent))
            runs.setdefault(group, []).append(run)
        for name, experiment in merged.items():
            if experiment.created is None:  # dated by its first run, not 1970
                starts = [run.start_time for run in runs.get(name, []) if run.start_time is not None]
                experiment.created = min(starts, default=None)
        return [(merged[name], runs.get(name, [])) for name in sorted(merged)]

    def usable_name(self, name, where: str) -> str:
        text = name if isinstance(name, str) else str(name)
        try:
            return check_name(text)
        except ValueError as error:
            usable = _CONTROL.sub("?", text).strip()[:MAX_KEY_LENGTH] or DEFAULT_EXPERIMENT
            self.problem(where, f"{error}; imported as experiment {usable!r}")
            return usable

    def experiment(self, experiment: Experiment) -> tuple[str, Path]:
        """Make (or find) the flowsheet experiment of that name; returns its id and folder."""
        found = find_by_name(self.log_dir, experiment.name)
        experiment_id = found.experiment_id if found else experiment_id_for(experiment.name)
        folder = Path(found.path) if found else self.log_dir / experiment_id  # a hand-made folder keeps its name
        first, tags = experiment_events(experiment, experiment_id)
        if found:  # merge: only the tags it does not hold with that value yet
            new = [tag for tag in tags if not holds(found.tags, tag["key"], tag["value"])]
            lines = self.encode_checked(experiment.path, new)
        else:
            self.result.experiments_created += 1
            lines = self.encode_checked(experiment.path, [first, *tags])
        self.result.experiments += 1
        if lines:
            self.append(folder / EXPERIMENT_FILE, lines)
        if experiment.notes and self.inside(folder):
            reason = copy_notes(experiment.notes, folder)
            if reason:
                self.problem(experiment.path, reason)
        return experiment_id, folder

    # --- runs ------------------------------------------------------------------------------------

    def run(self, run: Run, experiment_id: str, experiment_folder: Path) -> None:
        """Write what the target's run of that id (as its reader read it; none when new) does not hold yet."""
        folder = experiment_folder / run.run_id
        path = folder / RUN_FILE
        if not self.inside(folder):
            return
        held = self.target.runs.get(run.run_id)
        placed = self.copier.copy(run, folder / ARTIFACTS_DIR)
        start, body = run_events(replace(run, artifacts=placed), experiment_id,
                                 held.start_time if held is not None else None)
        wanted, conflicts = new_events(body, held)
        for reason in conflicts:
            self.problem(run.path, reason)
        lines = self.encode_checked(run.path, wanted)
        fresh = _size(path) == 0
        if fresh:
            lines.insert(0, events.encode(start))
        if not lines:
            self.result.runs_unchanged += 1
            return
        if self.append(path, lines):
            self.result.runs_created += fresh
            self.result.runs_updated += not fresh

    def encode_checked(self, where: str, items: list[dict]) -> list[bytes]:
        lines = []
        for item in items:
            reason = check_event(item)
            if reason:
                self.problem(where, f"not imported: {reason}")
            else:
                lines.append(events.encode(item))
        return lines

    def inside(self, folder: Path) -> bool:
        """Whether `folder` is in the log directory, links followed (then it is made); reported when not."""
        reason = LEADS_OUTSIDE
        if is_inside(self.log_dir_real, folder):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                return True
            except (FileExistsError, NotADirectoryError):
                reason = "a file is in the way"
        self.result.problems.append(Problem(str(folder), None, f"not written: {reason}"))
        return False

    def append(self, path: Path, lines: list[bytes]) -> bool:
        """Append whole lines under the writer's lock; a torn last line is closed first, as writers do."""
        if not self.inside(path.parent):
            return False
        try:
            _append(path, lines)
        except (RefusedPath, IsADirectoryError) as error:
            self.result.problems.append(Problem(str(path), None, f"not written: {error.strerror}"))
            return False
        self.result.lines_written += len(lines)
        return True


class _Placed(NamedTuple):
    run: Run  # with its id in the target
    source_id: str
    experiment_id: str
    folder: Path  # its experiment's


def _parent_renamed(run: Run, renamed: dict[str, str]) -> Run:
    """`run`, pointing to its parent's new id when the parent was renamed (its start line and its tag)."""
    tag = run.tags.get(PARENT_TAG)
    if run.parent_run_id not in renamed and tag not in renamed:
        return run
    tags = {**run.tags, PARENT_TAG: renamed[tag]} if tag in renamed else run.tags
    return replace(run, parent_run_id=renamed.get(run.parent_run_id or "", run.parent_run_id), tags=tags)


def copy_notes(text: str, folder: Path) -> str | None:
    """Write an experiment's notes.md unless the target has one; why not, when that one differs."""
    path = folder / NOTES_FILE
    try:
        with open_regular(path) as held:
            if held.read(len(text.encode("utf-8")) + 1).decode("utf-8", errors="replace") != text:
                return f"{NOTES_FILE} differs from the one in the log directory, which is kept"
            return None
    except FileNotFoundError:
        pass
    except OSError as error:  # a folder or a FIFO of that name
        return f"{NOTES_FILE} not written: the log directory's is {error.strerror}"
    temporary = folder / f".{NOTES_FILE}.import"
    temporary.write_text(text, encoding="utf-8")
    try:
        os.link(temporary, path)  # never over a notes.md made since the look above
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return None


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _append(path: Path, lines: list[bytes]) -> None:
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RefusedPath(errno.EINVAL, "not a regular file: not written", str(path))
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        data = b"".join(lines)
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
