"""TensorBoard event files (`events.out.tfevents.*`), as tensorboardX, torch.utils.tensorboard and tf.summary
write them: decoded by logger/tfevents.py, without TensorFlow.

A `Source` (logger/sources/__init__.py) that follows each event file by offset: a refresh reads only the
records appended since the last one (a record not all written yet waits for the next refresh), and a
file that shrank, was replaced (another inode) or was rewritten in place is read again from its start.

How the files become runs (the choices where the format leaves room):
- Every folder holding event files is one run, named after the folder; several event files in one
  folder (a resumed run starts a new file) are one run, their points merged in file-name order. A run
  joins the experiment of the folder holding its folder: `logs/train` and `logs/validation` are two
  runs of experiment `logs`; event files lying in the log directory itself make a run of the log
  directory's own experiment. Folders below a run folder are runs of their own (add_scalars writes one
  per line), with one exception:
- tensorboardX's `add_hparams` writes the hparams and its metric values into a new sub-folder of the
  run's folder (named by the time, unless given a name). When a run folder holds exactly one sub-folder
  with an hparams session, that sub-folder is folded into the run: its hparams become the run's params
  and its metrics join the run's. Its session end is not taken as the run's end (tensorboardX writes
  "success" whenever add_hparams is called). With several such sub-folders (the tensorboardX docs' way
  of logging a sweep from one writer), each is a run of its own, as TensorBoard's HParams tab shows them.
- Scalars: `simple_value`, tensors of the "scalars" plugin (TF2) and one-number tensors with no plugin
  are metrics, by tag, with the step and the event's wall time.
- HParams: a session's hparams are params (numbers, strings, bools; whole numbers as ints; lists and
  structs as compact JSON text). A session end in the run's own folder sets the status: success is
  FINISHED, failure FAILED; otherwise (and with no session end) a run is RUNNING or FINISHED by the time
  of its last event.
- Text summaries are run tags `text/<tag>` holding the last text written (strings joined by newlines,
  at most 64 KiB).
- Images (Summary.Image, TF2 "images" tensors) are artifacts `images/<tag>/step-<step>.<ext>` whose
  bytes stay in the event file (`Artifact.blob`); `artifacts_dir` is None.
- Not read: histograms, audio, graphs, PR curves, embeddings, SessionLog events; points are kept as
  written (TensorBoard's dropping of "orphaned" steps after a restart is not done).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..logtree import Claim, Listing
from ..model import Experiment, LogData, MetricHistory, Problem, Run
from ..safepath import open_inside
from ..tfevents import EVENT_FILE_PREFIX, EventFileContent
from ..tfevents_values import HPARAMS_STATUS
from . import Changes, Source, register
from .units import UNKNOWN_END, experiment_id_for_folder, run_id_for

CHUNK = 1 << 20
TAIL = 16  # bytes before the offset remembered to notice a file rewritten in place

RunFiles = tuple[tuple[str, ...], tuple[str, ...]]  # a run's event files: its own, and an hparams folder's folded in


class _EventFile:
    """One event file being followed: how far its complete records go, and what they held."""

    def __init__(self, path: Path, rel: str, log_dir: Path):
        self.path = path
        self.rel = rel
        self.log_dir = log_dir
        self.content = EventFileContent(str(path))
        self.identity: tuple[int, int] | None = None
        self.offset = 0
        self.tail = b""
        self.seen: tuple[int, int, int, int] | None = None  # size, mtime, device, inode at the last read
        self.error: Problem | None = None  # the file could not be opened

    @property
    def mtime_ms(self) -> int | None:
        return self.seen[1] // 1_000_000 if self.seen else None

    def update(self, root_real: str) -> bool:
        """Read what was appended since last time (or all of it again); True when anything changed."""
        try:
            info = os.stat(self.path)
        except OSError:
            return False  # gone: the next walk drops it
        if (info.st_size, info.st_mtime_ns, info.st_dev, info.st_ino) == self.seen:
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
        identity = (info.st_dev, info.st_ino)
        again = identity != self.identity or info.st_size < self.offset
        if not again and self.tail:
            file.seek(self.offset - len(self.tail))
            again = file.read(len(self.tail)) != self.tail  # rewritten in place
        if again:
            self.content = EventFileContent(str(self.path))
            self.offset, self.tail = 0, b""
        self.identity = identity
        self.seen = (info.st_size, info.st_mtime_ns, info.st_dev, info.st_ino)
        self.error = None
        content = self.content
        if content.stopped:
            return again
        start = self.offset
        file.seek(start)
        pending = b""  # the start of a record not complete in what was read so far
        while True:
            available = info.st_size - self.offset - len(pending)  # never read past the size seen: a
            if available <= 0 or content.need > len(pending) + available:  # damaged length allocates nothing
                break
            chunk = file.read(min(available, max(CHUNK, content.need - len(pending))))
            if not chunk:
                break
            buf = pending + chunk if pending else chunk
            used = content.feed(buf, self.offset)
            if used:
                self.tail = (self.tail + buf[max(0, used - TAIL):used])[-TAIL:]
                self.offset += used
            pending = buf[used:]
            if content.stopped:
                return True
        return again or self.offset != start


@register
class TensorBoardSource(Source):
    name = "tensorboard"
    label = "TensorBoard"
    order = 40

    @classmethod
    def claim(cls, listing: Listing) -> Claim | None:
        # The event files, not the folder: a log path naming one event file then reads that file alone.
        # Not owned: folders below hold runs of their own.
        names = sorted(name for name in listing.regular if name.startswith(EVENT_FILE_PREFIX))
        return Claim([listing.path / name for name in names]) if names else None

    def __init__(self, root: Path, running_window: float):
        super().__init__(root, running_window)
        self._files: dict[str, _EventFile] = {}
        # run id -> (its files, the run, its status as read or None when time decides)
        self._built: dict[str, tuple[RunFiles, Run, str | None]] = {}

    def refresh(self, now: float, units: list[Path]) -> Changes:
        root_real = os.path.realpath(self.root)
        files: dict[str, _EventFile] = {}
        changed: set[str] = set()
        for path in units:
            rel = path.relative_to(self.root).as_posix()
            tracked = files[rel] = self._files.get(rel) or _EventFile(path, rel, self.root)
            if tracked.update(root_real):
                changed.add(rel)
        self._files = files
        return self._assemble(now, self._group(), changed)

    def _group(self) -> dict[str, RunFiles]:
        """Run folder -> (its own event files, those of an hparams sub-folder folded into it), by name."""
        by_folder: dict[str, list[str]] = {}
        for rel in sorted(self._files):
            by_folder.setdefault(_parent(rel), []).append(rel)
        sessions: dict[str, list[str]] = {}  # run folder -> its sub-folders holding an hparams session
        for folder, rels in by_folder.items():
            if folder and _parent(folder) in by_folder and any(self._files[rel].content.hparams_session
                                                               for rel in rels):
                sessions.setdefault(_parent(folder), []).append(folder)
        folded = {children[0]: parent for parent, children in sessions.items() if len(children) == 1}
        runs: dict[str, RunFiles] = {folder: (tuple(rels), ()) for folder, rels in by_folder.items()
                                     if folder not in folded}
        for child, parent in folded.items():
            runs[parent] = (runs[parent][0], tuple(by_folder[child]))
        return runs

    def _assemble(self, now: float, runs: dict[str, RunFiles], changed: set[str]) -> Changes:
        old, data, changes = self.data, LogData(), Changes()
        built: dict[str, tuple[RunFiles, Run, str | None]] = {}
        since = now * 1000.0 - self.running_window * 1000.0
        for folder in sorted(runs):
            own, folded = runs[folder]
            run_id = run_id_for(self.name, folder)
            previous = self._built.get(run_id)
            if previous is None or previous[0] != runs[folder] or not changed.isdisjoint(own + folded):
                run, read_status = self._build(run_id, folder, own, folded)
                changes.runs.add(run_id)
            else:
                _, run, read_status = previous
            run.experiment_id = self._experiment(_parent(folder) if folder else "", data, old).experiment_id
            if read_status is None:  # decided by the time of the last event (or write)
                last = run.last_time or max((self._files[rel].mtime_ms or 0) for rel in own + folded)
                status = "RUNNING" if last >= since else "FINISHED"
                if status != run.status:
                    changes.runs.add(run_id)
                run.status, run.end_time = status, None if status == "RUNNING" else run.last_time
            data.runs[run_id] = run
            built[run_id] = (runs[folder], run, read_status)
        for rel in sorted(self._files):
            data.problems += _problems(self._files[rel])
        self._built = built
        changes.experiments = {data.runs[run_id].experiment_id for run_id in changes.runs}
        changes.experiments |= set(data.experiments) - set(old.experiments)
        self.data = data
        return changes

    def _build(self, run_id: str, folder: str, own: tuple[str, ...], folded: tuple[str, ...]) -> tuple[Run, str | None]:
        """The run of one folder from its files' contents; and its status as read (None: time decides)."""
        path = self.root / folder if folder else self.root
        run = Run(run_id=run_id, experiment_id="", name=path.name, path=str(path), status=UNKNOWN_END,
                  source=self.name)
        contents = [self._files[rel].content for rel in own + folded]
        histories: dict[str, list[MetricHistory]] = {}
        artifacts = {}
        for content in contents:
            for tag, history in content.metrics.items():
                histories.setdefault(tag, []).append(history)
            run.params.update(content.params)
            run.tags.update({f"text/{tag}": text for tag, text in content.texts.items()})
            artifacts.update({artifact.path: artifact for artifact in content.artifacts})
        run.metrics = {tag: parts[0] if len(parts) == 1 else _joined(tag, parts) for tag, parts in histories.items()}
        run.artifacts = sorted(artifacts.values(), key=lambda artifact: artifact.path)
        firsts = [content.first_time for content in contents if content.first_time is not None]
        lasts = [content.last_time for content in contents if content.last_time is not None]
        run.start_time = min(firsts) if firsts else None
        run.last_time = max(lasts) if lasts else None
        ended = [content for content in contents[:len(own)] if content.end_status is not None]  # not folded ones
        read_status = HPARAMS_STATUS.get(ended[-1].end_status or 0) if ended else None
        if read_status is not None:
            run.status = read_status
            run.end_time = ended[-1].end_time or run.last_time
        return run, read_status

    def _experiment(self, folder: str, data: LogData, old: LogData) -> Experiment:
        experiment_id = experiment_id_for_folder(folder)
        experiment = data.experiments.get(experiment_id)
        if experiment is None:
            path = self.root / folder if folder else self.root
            experiment = old.experiments.get(experiment_id) or Experiment(experiment_id, path.name, str(path))
            data.experiments[experiment_id] = experiment
        return experiment


def _parent(rel: str) -> str:
    return rel.rpartition("/")[0]


def _joined(tag: str, parts: list[MetricHistory]) -> MetricHistory:
    """One history of several files' points, in the files' order."""
    joined = MetricHistory(tag)
    for part in parts:
        joined.steps.extend(part.steps)
        joined.values.extend(part.values)
        joined.timestamps.extend(part.timestamps)
    return joined


def _problems(tracked: _EventFile) -> list[Problem]:
    found = [tracked.error] if tracked.error is not None else []
    content = tracked.content
    found += [Problem(tracked.rel, None, reason) for reason in content.problems]
    if content.unlisted_problems:
        found.append(Problem(tracked.rel, None, f"{content.unlisted_problems} more unreadable records skipped"))
    if content.stopped:
        found.append(Problem(tracked.rel, None, content.stopped))
    return found
