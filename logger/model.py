"""What the reader makes of a log directory: experiments, runs and their metric histories.

Plain data, no I/O: the reader fills it, `search_runs` and the site read it.
Times are integer milliseconds since the Unix epoch (UTC), as in the log lines.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

from .format import NOTE_TAG

RUN_STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED", "UNFINISHED")


@dataclass
class MetricHistory:
    """Every point of one metric of one run, kept as columns to stay small."""

    key: str
    steps: array = field(default_factory=lambda: array("q"))
    values: array = field(default_factory=lambda: array("d"))
    timestamps: array = field(default_factory=lambda: array("q"))
    _latest: tuple[int, int] = field(default=(0, 0), init=False, repr=False, compare=False)  # (points seen, best)

    def append(self, value: float, step: int, timestamp: int) -> None:
        self.steps.append(step)
        self.values.append(value)
        self.timestamps.append(timestamp)

    def __len__(self) -> int:
        return len(self.values)

    def latest_index(self) -> int:
        """Index of the point MLflow calls latest: greatest step, then latest timestamp, then last logged."""
        steps, stamps = self.steps, self.timestamps
        # Points are only appended: carry on from the last answer, so a live rebuild of a long run
        # costs what was appended, not the history. A shorter history (truncated) starts over.
        seen, best = self._latest
        if seen > len(steps) or seen == 0:
            seen, best = 1, 0
        new = steps[seen:]
        top = max(new) if len(new) else None
        if top is None or top < steps[best]:
            pass  # nothing new, or nothing new at a step as great as the latest's
        elif top > steps[best] and new[-1] == top and new.count(top) == 1:
            best = len(steps) - 1  # the usual history: its greatest step logged last, once (found in C, no loop)
        else:
            for i in range(seen, len(steps)):
                if (steps[i], stamps[i]) >= (steps[best], stamps[best]):
                    best = i
        self._latest = (len(steps), best)
        return best

    @property
    def latest(self) -> float | None:
        return self.values[self.latest_index()] if len(self) else None


class SummaryColumn(array):
    """The steps of a SummaryHistory, which keeps some points only: a type of its own, so that code drawing or
    listing every point of a series (reporter/charts/downsample.py clean_series) can tell and ask for them.
    `path` is the run's (Run.path: unlike its id, never masked on the way to a page)."""

    path = ""


@dataclass
class SummaryHistory(MetricHistory):
    """A history restored from `reporter build`'s cache instead of read from its log (logger/sources/known.py):
    only the points a runs table or a run's summary shows (the first, the latest, the smallest and largest
    finite values, in logged order), with `count`, the number of points logged, and `digest`, a digest of
    the full columns. Code that needs every point calls `require_points` first."""

    count: int = 0
    digest: str = ""


class PointsNotRead(Exception):
    """Some runs hold `SummaryHistory`s where every point is needed: read their logs again. `paths` are the
    runs' `Run.path`s."""

    def __init__(self, paths: set[str]):
        super().__init__(f"{len(paths)} run(s) restored from a summary need their points")
        self.paths = paths


def require_points(*runs: Run) -> None:
    """Raise PointsNotRead for the runs given that hold summaries, not every point."""
    short = {run.path for run in runs if any(isinstance(h, SummaryHistory) for h in run.metrics.values())}
    if short:
        raise PointsNotRead(short)


@dataclass
class Artifact:
    path: str  # relative to the run's artifacts folder, "/"-separated
    size: int
    # Bytes kept inside a log file rather than as a file of their own (an image in a TensorBoard event
    # file): (that file's absolute path, offset, length). None for a file under `Run.artifacts_dir`.
    blob: tuple[str, int, int] | None = None


@dataclass
class DatasetInput:
    """A dataset a run used (`log_input`): `source`, `schema` and `profile` are JSON text, as MLflow keeps them;
    `tags` are the input's tags (MLflow's `mlflow.data.context` among them)."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    run_id: str
    experiment_id: str
    name: str
    path: str  # the run's folder (or the plain .jsonl file)
    status: str = "RUNNING"
    start_time: int | None = None
    end_time: int | None = None
    last_time: int | None = None  # time of the last event read
    parent_run_id: str | None = None
    description: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, MetricHistory] = field(default_factory=dict)
    system: dict[str, Any] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)
    # The absolute folder `artifacts` are relative to, as the source found it (a run's `artifacts/`, or
    # where an MLflow run's artifact_uri points inside the store); None for a run that has none (plain logs).
    artifacts_dir: str | None = None
    source: str = "flowsheet"  # "flowsheet", "plain" (a flat JSONL file) or "mlflow"
    # delete_run() was called (and no restore_run() after): search_runs, `reporter runs` and the site hide it.
    deleted: bool = False
    inputs: list[DatasetInput] = field(default_factory=list)

    def latest_metrics(self) -> dict[str, float]:
        return {key: history.values[history.latest_index()] for key, history in self.metrics.items() if len(history)}


@dataclass
class Experiment:
    experiment_id: str
    name: str
    path: str
    artifact_location: str | None = None
    created: int | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    notes: str | None = None  # the notes.md beside experiment.jsonl, if the user keeps one

    @property
    def description(self) -> str | None:
        value = self.tags.get(NOTE_TAG)
        return None if value is None else str(value)


@dataclass(frozen=True)
class Problem:
    """A line or file the reader skipped, and why: shown to users as a warning."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"


@dataclass
class LogData:
    experiments: dict[str, Experiment] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def children_of(self, run_id: str) -> list[Run]:
        return [run for run in self.runs.values() if run.parent_run_id == run_id]
