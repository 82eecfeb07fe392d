"""The flowsheet log tree: `experiment.jsonl`, `<run id>/run.jsonl`, notes.md, artifacts/, and plain JSONL logs.

A `Source` (logger/sources/__init__.py) that claims its files wherever they lie in the walk, and reads
only the new bytes of the files that grew (see logger/reader.py for the promises).
Plain metric logs (any other `*.jsonl` whose first line is a flat object) are read here too: a plain
log lying in an experiment folder joins that experiment, which needs the same walk.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from ..format import ARTIFACTS_DIR, EXPERIMENT_FILE, LOG_SUFFIX, NOTES_FILE, RUN_FILE
from ..model import Artifact, Experiment, LogData, Problem, Run
from ..parsing_plain import plain_experiment_id
from ..safepath import RefusedPath, file_kind, open_inside, resolve_inside
from ..segment_merge import Folding, merge_experiment
from ..segments import is_experiment_segment, is_segment
from . import Changes, Claim, Listing, Source, register
from .known import KnownParser, export_run, file_state, restore_run
from .tracked import TrackedFile

PLAIN_EXPERIMENT = "plain"


# ---------------------------------------------------------------- artifacts


def _list_artifacts(folder: Path, log_dir: Path, rel_folder: str) -> tuple[list[Artifact], list[Problem]]:
    """Files under a run's artifacts/ folder, and what was skipped: links leading out of the log
    directory (the folder itself included) and files that are not regular files."""
    found: list[Artifact] = []
    problems: list[Problem] = []
    visited: set[Path] = set()  # real paths of symlinked folders followed, against loops
    stack = []
    try:
        if os.path.islink(folder):
            visited.add(resolve_inside(folder, log_dir))
        stack.append((str(folder), ""))
    except RefusedPath as error:
        problems.append(Problem(rel_folder, None, f"skipped: {error.strerror}"))
    except OSError:
        pass  # a dangling link or a loop: nothing to list
    while stack:
        directory, prefix = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue  # the logger's half-written `.name.tmp` files
            rel = prefix + entry.name
            try:
                if entry.is_symlink():
                    # Only links can lead out: what lies in a folder already inside stays inside.
                    target = resolve_inside(entry.path, log_dir)
                    if target in visited:
                        continue
                    if entry.is_dir():
                        visited.add(target)
                if entry.is_dir():
                    stack.append((entry.path, rel + "/"))
                elif entry.is_file():
                    found.append(Artifact(rel, entry.stat().st_size))
                else:
                    problems.append(Problem(f"{rel_folder}/{rel}", None,
                                            f"skipped: not a regular file ({file_kind(entry.stat().st_mode)})"))
            except RefusedPath as error:
                problems.append(Problem(f"{rel_folder}/{rel}", None, f"skipped: {error.strerror}"))
            except OSError:
                continue
    found.sort(key=lambda artifact: artifact.path)
    return found, problems


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


# ---------------------------------------------------------------- the source


@register
class FlowsheetSource(Source):
    """flowsheet's own logs and plain JSONL logs, wherever they lie under the log directory."""

    name = "flowsheet"
    label = "flowsheet"
    order = 10

    @classmethod
    def claim(cls, listing: Listing) -> Claim | None:
        # Every regular *.jsonl and any notes.md; a run's run.jsonl or segments whatever they are (their
        # folder is a run folder even when a file is refused), and nothing under a run's artifacts/. A run's
        # artifacts/ (folder, link or anything so named) is a unit too: a run without one is not looked at
        # again for it, which saved a failing scandir per run on every refresh.
        names = [name for name in listing.regular if name.endswith(LOG_SUFFIX)]
        run_files = [name for name in listing.files if name == RUN_FILE or is_segment(name)]
        is_run = bool(run_files)
        names += [name for name in run_files if name not in listing.regular]
        if NOTES_FILE in listing.files:
            names.append(NOTES_FILE)
        if not names:
            return None
        if is_run and (ARTIFACTS_DIR in listing.dirs or ARTIFACTS_DIR in listing.files):
            names.append(ARTIFACTS_DIR)
        skip = frozenset({ARTIFACTS_DIR}) if is_run else frozenset()
        return Claim([Path(os.path.join(listing.where, name)) for name in names], skip=skip)  # one Path a unit

    def __init__(self, root: Path, running_window: float):
        super().__init__(root, running_window)
        self._files: dict[str, TrackedFile] = {}
        self._notes: dict[str, tuple[int, int, str | None]] = {}  # experiment folder -> (mtime, size, text)
        self._artifacts: dict[str, list[Artifact]] = {}  # what the last refresh saw, to tell changes
        self._statuses: dict[str, str] = {}
        self._folding = Folding()  # run folders with segment files: their files read as one run
        self._skipped: list[Problem] = []  # segments that are links or special files, found by the last refresh
        self._with_artifacts: set[str] = set()  # run folders (rel) where the last walk saw an artifacts/
        self._artifacts_dirs: dict[str, str] = {}  # rel -> absolute path of the runs' artifacts/ seen so far

    def adopt(self, known: dict[str, Any]) -> None:
        # An entry only stands for a file this source's walk finds (refresh drops the others) and names its folder.
        for rel, entry in known.items():
            state = file_state(entry)
            if state is None or rel.rpartition("/")[2] != RUN_FILE or rel in self._files:
                continue
            parser = restore_run(entry, str((self.root / rel).parent))
            if parser is None:
                continue
            tracked = TrackedFile(self.root / rel, rel, "run", self.root)
            tracked.seen_size = tracked.offset = state[0]
            tracked.mtime_ns, tracked.identity = state[1], (state[2], state[3])
            tracked.parser = parser
            self._files[rel] = tracked

    def export(self) -> dict[str, Any]:
        segmented = {rel.rpartition("/")[0] for rel, tracked in self._files.items() if tracked.role == "segment"}
        known = {}
        for rel, tracked in self._files.items():
            if (tracked.role != "run" or tracked.error is not None or tracked.parser is None
                    or tracked.identity is None or rel.rpartition("/")[0] in segmented
                    or tracked.offset != tracked.seen_size):  # a last line still being written
                continue
            entry = export_run(tracked.parser, (tracked.offset, tracked.mtime_ns, *tracked.identity))
            if entry is not None:
                known[rel] = entry
        return known

    def read_points(self, paths: set[str]) -> dict[str, dict[str, Any]]:
        found = {}
        root_real = os.path.realpath(self.root)
        for rel, tracked in list(self._files.items()):
            if isinstance(tracked.parser, KnownParser) and tracked.parser.run.path in paths:
                fresh = self._files[rel] = TrackedFile(self.root / rel, rel, "run", self.root)
                fresh.update(root_real)
                if fresh.parser is not None and fresh.error is None:
                    found[tracked.parser.run.path] = fresh.parser.run.metrics
        return found

    def forget(self, paths: set[str]) -> None:
        for rel, tracked in list(self._files.items()):
            if isinstance(tracked.parser, KnownParser) and tracked.parser.run.path in paths:
                del self._files[rel]

    def refresh(self, now: float, units: list[Path]) -> Changes:
        self._skipped = []
        found, notes, run_folders = self._sort_units(units)
        # a run folder that has segment files now is read and merged from its files (logger/segment_merge.py)
        segmented = {rel.rpartition("/")[0] for rel, role in found.items() if role == "segment"}
        for rel, member in list(self._files.items()):
            known = isinstance(member.parser, KnownParser)
            if rel not in found or known and (found[rel] != "run" or rel.rpartition("/")[0] in segmented):
                del self._files[rel]
        changed_files = set()
        root_real = os.path.realpath(self.root)
        for rel, role in found.items():
            tracked = self._files.get(rel)
            if tracked is None:
                tracked = self._files[rel] = TrackedFile(self.root / rel, rel, role, self.root)
            if tracked.update(root_real):
                changed_files.add(rel)
        return self._assemble(now, changed_files, notes, run_folders)

    # --- finding the files ---------------------------------------------------------------------

    def _sort_units(self, units: list[Path]) -> tuple[dict[str, str], dict[str, str], set[str]]:
        """The claimed files: log files (rel path -> role), notes (experiment folder -> rel path), run folders.
        Also keeps the run folders that hold an artifacts/ (`_with_artifacts`)."""
        found: dict[str, str] = {}
        notes: dict[str, str] = {}
        run_folders: set[str] = set()
        self._with_artifacts = set()
        prefix = len(str(self.root).rstrip(os.sep)) + 1  # units lie under the root: cut, not relative_to (slow)
        for path in units:
            rel = str(path)[prefix:].replace(os.sep, "/")
            folder, _, name = rel.rpartition("/")
            if name == NOTES_FILE:
                notes[folder] = rel  # whatever it is: reading it checks and reports
                continue
            if name == ARTIFACTS_DIR:  # claimed in run folders only
                self._with_artifacts.add(folder)
                continue
            segment = is_segment(name)
            if name == RUN_FILE or segment:
                run_folders.add(folder)
                if not _is_regular(path):
                    if segment:  # never read through a link; said, as for a file that cannot be read
                        self._skipped.append(Problem(rel, None, "skipped: not a regular file (a link or special file)"))
                    continue
            found[rel] = ("run" if name == RUN_FILE else "segment" if segment
                          else "experiment" if name == EXPERIMENT_FILE or is_experiment_segment(name) else "jsonl")
        return found, notes, run_folders

    # --- putting the model together ------------------------------------------------------------

    def _assemble(self, now: float, changed_files: set[str], notes: dict[str, str], run_folders: set[str]) -> Changes:
        old = self.data
        problems: list[Problem] = []
        experiments: dict[str, Experiment] = {}
        folder_ids: dict[str, str] = {}  # experiment folder (rel) -> experiment id
        changed_experiments: set[str] = set()

        def parent_of(rel: str) -> str:
            return rel.rpartition("/")[0]

        # Experiment folders: those with an experiment.jsonl, and those holding runs.
        exp_files: dict[str, list[TrackedFile]] = {}  # experiment.jsonl, and pieces uploaded from it
        for rel, member in sorted(self._files.items()):
            if member.role == "experiment":
                exp_files.setdefault(parent_of(rel), []).append(member)
        folders = sorted(set(exp_files) | {parent_of(rel) for rel in run_folders})
        for folder in folders:
            group = exp_files.get(folder, [])
            parsers = [member.parser for member in group if member.parser is not None]
            path = self.root / folder if folder else self.root
            if len(parsers) > 1:
                experiment = merge_experiment(path, parsers)
            elif parsers:
                experiment = parsers[0].experiment
            else:
                experiment = Experiment(experiment_id=path.name, name=path.name, path=str(path))
            if experiment.experiment_id in experiments:
                problems.append(Problem(group[0].rel if group else folder, None,
                                        f"experiment id {experiment.experiment_id!r} is used by another folder "
                                        f"({experiments[experiment.experiment_id].path}); skipped"))
                continue
            experiments[experiment.experiment_id] = experiment
            folder_ids[folder] = experiment.experiment_id
            if any(member.rel in changed_files for member in group):
                changed_experiments.add(experiment.experiment_id)
            self._read_notes(folder, notes.get(folder), experiment, changed_experiments, problems)

        # Runs, logger's and plain, in path order so that the first of two same ids wins.
        runs: dict[str, Run] = {}
        changed_runs: set[str] = set()
        now_ms = now * 1000.0
        window_ms = self.running_window * 1000.0
        files, unread = self._folding.fold(self._files, changed_files)
        problems.extend(unread + self._skipped)
        for rel in sorted(files):
            tracked = files[rel]
            if tracked.error is not None:
                problems.append(tracked.error)
            parser = tracked.parser
            if parser is None:
                continue
            problems.extend(parser.problems)
            if tracked.role == "experiment":
                continue
            run: Run = parser.run
            folder = parent_of(rel)
            if tracked.role == "run":
                experiment_folder = parent_of(folder) if folder else ""
                experiment_id = folder_ids.get(experiment_folder)
                if experiment_id is None:
                    continue  # its experiment folder lost a same-id contest, already reported
                run.experiment_id = experiment_id
                if parser.start_experiment_id and parser.start_experiment_id != experiment_id:
                    problems.append(Problem(rel, None, f"start line names experiment {parser.start_experiment_id!r} "
                                                       f"but the run lies in experiment {experiment_id!r}'s folder"))
                if parser.end_status is not None:
                    run.status = parser.end_status
                else:
                    last = run.last_time if run.last_time is not None else tracked.mtime_ns // 1_000_000
                    run.status = "RUNNING" if last >= now_ms - window_ms else "UNFINISHED"
                rel_artifacts = f"{folder}/{ARTIFACTS_DIR}" if folder else ARTIFACTS_DIR
                if folder in self._with_artifacts:
                    artifacts, skipped = _list_artifacts(self.root / rel_artifacts, self.root, rel_artifacts)
                    problems.extend(skipped)
                else:
                    artifacts = []  # the walk saw no artifacts/ in the run folder
            else:
                experiment_id = folder_ids.get(folder)
                if experiment_id is None:
                    experiment_id = plain_experiment_id(folder)
                    if experiment_id not in experiments:
                        path = self.root / folder if folder else self.root
                        experiments[experiment_id] = Experiment(
                            experiment_id, path.name if folder else PLAIN_EXPERIMENT, str(path))
                run.experiment_id = experiment_id
                # A copied or freshly cloned file is new on disk: trust the log's own times when it has them.
                run.last_time = parser.last_point_time or tracked.mtime_ns // 1_000_000
                run.status = "RUNNING" if run.last_time >= now_ms - window_ms else "FINISHED"
                run.start_time = parser.first_time
                run.end_time = None if run.status == "RUNNING" else parser.last_point_time
                artifacts = []
            if run.run_id in runs:
                problems.append(Problem(rel, None, f"run id {run.run_id!r} is used by another run "
                                                   f"({runs[run.run_id].path}); skipped"))
                continue
            previous = old.runs.get(run.run_id)
            if (rel in changed_files or previous is not run or self._statuses.get(run.run_id) != run.status
                    or self._artifacts.get(run.run_id) != artifacts):
                changed_runs.add(run.run_id)
            run.artifacts = artifacts
            run.artifacts_dir = self._artifacts_dir(rel_artifacts) if tracked.role == "run" else None
            self._artifacts[run.run_id] = artifacts
            self._statuses[run.run_id] = run.status
            runs[run.run_id] = run

        for run_id in list(self._artifacts):
            if run_id not in runs:
                del self._artifacts[run_id], self._statuses[run_id]
        changed_experiments |= {runs[r].experiment_id for r in changed_runs}
        problems.sort(key=lambda p: (p.file, -1 if p.line is None else p.line, p.reason))
        self.data = LogData(experiments=experiments, runs=runs, problems=problems)
        return Changes(experiments=changed_experiments, runs=changed_runs)  # the reader works out removals

    def _artifacts_dir(self, rel: str) -> str:
        """The absolute path of a run's artifacts/ folder, made once: a Path join per run was a tenth of a refresh."""
        path = self._artifacts_dirs.get(rel)
        if path is None:
            path = self._artifacts_dirs[rel] = str(self.root / rel)
        return path

    def _read_notes(self, folder: str, rel: str | None, experiment: Experiment, changed: set[str],
                    problems: list[Problem]) -> None:
        if rel is None:
            if self._notes.pop(folder, None) is not None:
                changed.add(experiment.experiment_id)
            experiment.notes = None
            return
        path = self.root / rel
        try:
            info = os.stat(path)
            cached = self._notes.get(folder)
            if cached is None or cached[:2] != (info.st_mtime_ns, info.st_size):
                with open_inside(path, self.root) as file:
                    text = file.read().decode("utf-8", errors="replace")
                self._notes[folder] = (info.st_mtime_ns, info.st_size, text)
                changed.add(experiment.experiment_id)
            experiment.notes = self._notes[folder][2]
        except OSError as error:
            if self._notes.pop(folder, None) is not None:
                changed.add(experiment.experiment_id)
            experiment.notes = None
            problems.append(Problem(rel, None, f"not read: {error.strerror or error}"))
