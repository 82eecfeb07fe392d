"""One run from its segment files, merged by time (docs/FORMAT.md "Segments" states the rules).

Every decision compares (t, file rank): the event with the later time wins, and of two with the same
time the one in the file that ranks later (run.jsonl first, then segments by name). Files are taken in
that rank whatever order they were listed in, so the result never depends on the listing.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path

from .format import NOTE_TAG, PARENT_TAG, RUN_FILE, RUN_NAME_TAG
from .line_checks import need
from .model import Experiment, MetricHistory, Problem, Run
from .parsing import NO_TIME, RunParser, parse_file
from .segments import order_key, run_file_names

# ---------------------------------------------------------------- reading one file of a run


class SegmentParser(RunParser):
    """A RunParser that also keeps when each tag, param, status and deletion was set: what the merge compares.

    `segment`: a segment file, which needs no start line of its own (another writer's file has it)."""

    def __init__(self, rel: str, folder: Path, segment: bool = False):
        super().__init__(rel, folder)
        self.segment = segment
        self.name = rel.rpartition("/")[2]
        self.tag_times: dict[str, int] = {}
        self.param_times: dict[str, int] = {}
        self.status_event: tuple[int, str | None] | None = None  # (t, end status, or None for a resume)
        self.deleted_event: tuple[int, bool] | None = None
        self.start_line_time: int | None = None

    def _first_lines(self, lines: list[bytes]) -> None:
        if self.segment:
            self.decided = True
        else:
            super()._first_lines(lines)

    def _on_start(self, record: dict) -> int:
        t = super()._on_start(record)
        self.start_line_time = t
        return t

    def _on_param(self, record: dict) -> int:
        t = super()._on_param(record)
        self.param_times.setdefault(record["key"], t)
        return t

    def _on_tag(self, record: dict) -> int:
        t = super()._on_tag(record)
        self.tag_times[record["key"]] = t
        return t

    def _on_end(self, record: dict) -> int:
        t = super()._on_end(record)
        self.status_event = (t, self.end_status)
        return t

    def _on_resume(self, record: dict) -> int:
        t = super()._on_resume(record)
        self.status_event = (t, None)
        return t

    def _on_deleted(self, record: dict) -> int:
        super()._on_deleted(record)
        self.deleted_event = (need(record, "t", int), self.run.deleted)
        return NO_TIME


def parser_for(rel: str, folder: Path) -> SegmentParser:
    name = rel.rpartition("/")[2]
    return SegmentParser(rel, folder, segment=name != RUN_FILE)


def read_run_folder(folder: Path, *copies: Path):
    """Every file of the run in `folder` (and in `copies`, other folders holding files of the same run),
    parsed and merged as the reader does: what resuming replays. Returns the merged parser (its `run`,
    `start_experiment_id`, `end_status`), or None for no file."""
    parsers = []
    for place in (folder, *copies):
        for name in run_file_names(place):
            try:
                with open(place / name, "rb") as file:
                    data = file.read()
            except OSError:
                continue
            parsers.append(parse_file(parser_for(name, folder), data))
    if not parsers:
        return None
    return parsers[0] if len(parsers) == 1 and not parsers[0].segment else merge(folder, parsers)


def replay_state(folder: Path) -> dict:
    """What a resumed run needs from its files (run.jsonl and every segment, merged; on object storage also
    the pieces other machines uploaded, fetched by logger/storage.py): identity, params and tags, read by the
    reader's own parser (logger/parsing.py), so that resuming sees exactly the run the reader shows; bad
    lines are skipped."""
    from .storage import run_copy

    copy = run_copy(folder)
    parser = read_run_folder(folder, *([copy] if copy is not None else []))
    if parser is None:
        raise FileNotFoundError(f"no run file in {folder}")
    run = parser.run
    return {"run_id": run.run_id, "experiment_id": parser.start_experiment_id, "name": run.name,
            "parent_run_id": run.parent_run_id, "start_time": run.start_time,
            "params": dict(run.params), "tags": dict(run.tags), "deleted": run.deleted}


def merge_experiment(folder: Path, parsers: list) -> Experiment:
    """An experiment from experiment.jsonl and its uploaded pieces (ExperimentParsers, in any order): the
    earliest `experiment` line (by t, then file rank) names it; a tag set in several files takes the
    latest value by t, then file rank (as a run's tags)."""
    parts = sorted(parsers, key=lambda parser: order_key(parser.rel.rpartition("/")[2]))
    named = [parser.experiment for parser in parts if parser.seen]
    first = min(named, key=lambda experiment: experiment.created or 0) if named else parts[0].experiment
    merged = Experiment(first.experiment_id, first.name, str(folder), first.artifact_location, first.created)
    latest: dict[str, tuple[int, int]] = {}
    for rank, parser in enumerate(parts):
        for key, value in parser.experiment.tags.items():
            when = (parser.tag_times.get(key, 0), rank)
            if key not in latest or when > latest[key]:
                latest[key], merged.tags[key] = when, value
    return merged


@dataclass
class MergedRun:
    """What the flowsheet source and `Run.resume` take from a parser, for a run of several files."""

    run: Run
    problems: list[Problem] = field(default_factory=list)
    end_status: str | None = None
    start_experiment_id: str | None = None


def merge(folder: Path, parsers: list[SegmentParser]) -> MergedRun:
    parts = sorted(parsers, key=lambda parser: order_key(parser.name))
    rank = {id(parser): index for index, parser in enumerate(parts)}
    run = Run(run_id=folder.name, experiment_id=folder.parent.name, name=folder.name, path=str(folder),
              status="UNFINISHED")
    merged = MergedRun(run, [problem for parser in parts for problem in parser.problems])
    _identity(merged, parts)
    _params(merged, parts)
    _tags(merged, parts, rank)
    status = max(((parser.status_event, rank[id(parser)]) for parser in parts if parser.status_event),
                 key=lambda found: (found[0][0], found[1]), default=None)
    if status is not None:
        (t, merged.end_status), _ = status
        run.end_time = t if merged.end_status is not None else None
    deleted = max(((parser.deleted_event, rank[id(parser)]) for parser in parts if parser.deleted_event),
                  key=lambda found: (found[0][0], found[1]), default=None)
    run.deleted = deleted is not None and deleted[0][1]
    for parser in parts:
        run.inputs.extend(found for found in parser.run.inputs if found not in run.inputs)
    keys = dict.fromkeys(key for parser in parts for key in parser.run.metrics)
    for key in keys:
        run.metrics[key] = merge_histories(key, [parser.run.metrics[key] for parser in parts
                                                 if key in parser.run.metrics])
    times = [parser.run.last_time for parser in parts if parser.run.last_time is not None]
    run.last_time = max(times) if times else None
    return merged


def _identity(merged: MergedRun, parts: list[SegmentParser]) -> None:
    """The earliest start line (by time, then file rank) gives the run its id, name, parent and system."""
    run = merged.run
    starters = [parser for parser in parts if parser.start_line_time is not None]
    if not starters:
        merged.problems.append(Problem(parts[0].rel, None, "no file of the run has a start line: its id and "
                                                           "experiment come from the folder names"))
        starts = [parser.run.start_time for parser in parts if parser.run.start_time is not None]
        run.start_time = min(starts) if starts else None
        return
    first = min(starters, key=lambda parser: parser.start_line_time or 0)  # in rank order: min keeps the first
    found = first.run
    run.run_id, run.name, run.parent_run_id = found.run_id, found.name, found.parent_run_id
    run.description, run.system, run.start_time = found.description, dict(found.system), first.start_line_time
    merged.start_experiment_id = first.start_experiment_id
    for other in starters:
        if other is not first and (other.run.run_id, other.start_experiment_id) != (found.run_id,
                                                                                    first.start_experiment_id):
            merged.problems.append(Problem(other.rel, None, f"start line names run {other.run.run_id!r} of experiment "
                                                            f"{other.start_experiment_id!r}, but {first.rel} started "
                                                            "it first: its identity is ignored, its events kept"))


def _params(merged: MergedRun, parts: list[SegmentParser]) -> None:
    """Params are immutable: the first logged (by time, then file rank) stays; another value is reported."""
    params = merged.run.params
    chosen: dict[str, tuple[int, SegmentParser]] = {}
    for parser in parts:
        for key, value in parser.run.params.items():
            t = parser.param_times.get(key, 0)
            kept = chosen.get(key)
            if kept is None or t < kept[0]:
                if kept is not None:
                    _param_clash(merged, kept[1], key, params[key], value)
                chosen[key], params[key] = (t, parser), value
            elif str(params[key]) != str(value):
                _param_clash(merged, parser, key, value, params[key])


def _param_clash(merged: MergedRun, loser: SegmentParser, key: str, dropped, kept) -> None:
    merged.problems.append(Problem(loser.rel, None, f"param {key!r} logged here as {str(dropped)[:80]!r}, "
                                                    f"elsewhere first as {str(kept)[:80]!r}; keeping the first"))


def _tags(merged: MergedRun, parts: list[SegmentParser], rank: dict[int, int]) -> None:
    """A tag set in several files takes its value from the latest setting (by time, then file rank)."""
    run = merged.run
    latest: dict[str, tuple[int, int]] = {}
    for parser in parts:
        for key, value in parser.run.tags.items():
            when = (parser.tag_times.get(key, 0), rank[id(parser)])
            if key not in latest or when > latest[key]:
                latest[key], run.tags[key] = when, value
    name, note, parent = run.tags.get(RUN_NAME_TAG), run.tags.get(NOTE_TAG, _UNSET), run.tags.get(PARENT_TAG)
    if name is not None:
        run.name = str(name)
    if note is not _UNSET:
        run.description = None if note is None else str(note)
    if parent:
        run.parent_run_id = str(parent)


_UNSET = object()


def merge_histories(key: str, pieces: list[MetricHistory]) -> MetricHistory:
    """One metric's points from several files, ordered by time, then file rank, then place in the file.
    `pieces` come in file rank order. A single piece is shared as is (it only grows)."""
    if len(pieces) == 1:
        return pieces[0]
    merged = MetricHistory(key)
    filled = [(index, piece) for index, piece in enumerate(pieces) if len(piece)]
    filled.sort(key=lambda found: (found[1].timestamps[0], found[0]))
    # Files written one after another (a resumed job, object-storage pieces) follow each other in time:
    # then the merge is a concatenation. Otherwise sort every point.
    follows = all(_sorted(piece.timestamps) for _, piece in filled) and all(
        (later.timestamps[0], j) > (max(earlier.timestamps), i)
        for (i, earlier), (j, later) in zip(filled, filled[1:]))
    if follows:
        for _, piece in filled:
            merged.steps.extend(piece.steps)
            merged.timestamps.extend(piece.timestamps)
            merged.values.extend(piece.values)
        return merged
    order = sorted((t, index, place) for index, piece in filled for place, t in enumerate(piece.timestamps))
    by_index = dict(filled)
    merged.steps = array("q", (by_index[index].steps[place] for _, index, place in order))
    merged.timestamps = array("q", (t for t, _, _ in order))
    merged.values = array("d", (by_index[index].values[place] for _, index, place in order))
    return merged


def _sorted(times: array) -> bool:
    return all(a <= b for a, b in zip(times, times[1:]))


# ---------------------------------------------------------------- the flowsheet source's view


@dataclass
class MergedFile:
    """A run folder's files standing in the flowsheet source's loop as one tracked run file would."""

    rel: str
    parser: MergedRun | None
    mtime_ns: int
    role: str = "run"
    error: Problem | None = None


class Folding:
    """Folds the tracked files of each run folder that has segments into one `MergedFile`, merging again
    only when one of its files changed, so an unchanged run stays the same object between refreshes."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple, MergedFile]] = {}

    def fold(self, files: dict, changed: set[str]) -> tuple[dict, list[Problem]]:
        """`files`: rel -> tracked file (role "run", "segment", ...). Returns the files with each segmented
        folder's run files replaced by one entry, and the problems of those files that could not be read.
        A folded entry whose files changed is added to `changed`."""
        folders = {rel.rpartition("/")[0] for rel, tracked in files.items() if tracked.role == "segment"}
        entries: dict = {}
        members: dict[str, list] = {folder: [] for folder in folders}
        for rel, tracked in files.items():
            folder = rel.rpartition("/")[0]
            if folder in members and tracked.role in ("run", "segment"):
                members[folder].append(tracked)
            else:
                entries[rel] = tracked
        errors: list[Problem] = []
        for folder in sorted(members):
            group = sorted(members[folder], key=lambda tracked: order_key(tracked.rel.rpartition("/")[2]))
            errors.extend(tracked.error for tracked in group if tracked.error is not None)
            signature = tuple((tracked.rel, tracked.offset, tracked.identity, tracked.parser is None)
                              for tracked in group)
            cached = self._cache.get(folder)
            if cached is None or cached[0] != signature:
                parsers = [tracked.parser for tracked in group if tracked.parser is not None]
                merged = merge(Path(parsers[0].run.path), parsers) if parsers else None
                cached = self._cache[folder] = (signature, MergedFile(group[0].rel, merged, 0))
            entry = cached[1]
            entry.mtime_ns = max(tracked.mtime_ns for tracked in group)
            if any(tracked.rel in changed for tracked in group):
                changed.add(entry.rel)
            entries[entry.rel] = entry
        for folder in set(self._cache) - folders:
            del self._cache[folder]
        return entries, errors
