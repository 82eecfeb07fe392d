"""One run being logged: its file, its checks, and MLflow's logging methods on it."""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from . import artifacts, events, images, storage
from .exceptions import InvalidParameterValue
from .format import (
    ARTIFACT,
    ARTIFACTS_DIR,
    DELETED,
    END,
    END_STATUSES,
    KIND_FIELD,
    LINE_VERSION,
    LOGGED_IMAGES_TAG,
    METRIC,
    PARAM,
    RESTORED,
    RESUME,
    RUN_FILE,
    RUN_NAME_TAG,
    START,
    TAG,
    VERSION_FIELD,
)
from .segments import file_for_writing, segment_file
from .writer import FLUSH_BYTES as _FLUSH_BYTES
from .writer import EventWriter

_dumps, _NEWLINE, _time, _time_ns = orjson.dumps, orjson.OPT_APPEND_NEWLINE, time.time, time.time_ns


class Terminated(SystemExit):
    """Raised in the main thread on SIGTERM so that `with start_run()` blocks end their runs as KILLED."""


_ADJECTIVES = ("amber", "bold", "brave", "calm", "clever", "crisp", "eager", "fast", "gentle", "golden", "keen",
               "lucky", "merry", "nimble", "proud", "quiet", "rapid", "silent", "sunny", "swift", "tidy", "wise")
_NOUNS = ("badger", "crane", "dolphin", "falcon", "fox", "gecko", "heron", "ibis", "koala", "lark", "lynx", "moth",
          "newt", "otter", "panda", "quail", "raven", "seal", "stork", "tern", "wolf", "yak")


def random_run_name(run_id: str) -> str:
    """A memorable default name, like MLflow's, seeded by the id so it is reproducible."""
    pick = random.Random(run_id)
    return f"{pick.choice(_ADJECTIVES)}-{pick.choice(_NOUNS)}-{pick.randrange(1000)}"


@dataclass
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    artifact_uri: str
    start_time: int
    status: str = "RUNNING"
    end_time: int | None = None
    parent_run_id: str | None = None
    user_id: str | None = None
    lifecycle_stage: str = "active"


@dataclass
class RunData:
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


class Run:
    """A run open for logging. Use it as a context manager, or call `end()`."""

    def __init__(self, folder: Path, info: RunInfo, params: dict | None = None, tags: dict | None = None):
        self.folder = folder
        self.info = info
        self._params: dict[str, Any] = dict(params or {})
        self._tags: dict[str, Any] = dict(tags or {})
        self._metric_keys: set[str] = set()
        self._ended = False
        self._deleted = False  # delete_run() while open: logging raises, as in MLflow
        self._end_lock = threading.Lock()
        # run.jsonl, or this writer's own segment (logger/segments.py); always a segment on object storage
        name = segment_file() if storage.is_staged(folder) else file_for_writing()
        self._writer = EventWriter(folder / name, shared=name == RUN_FILE)
        self._pending = self._writer.pending
        self._on_end: Callable[[Run], None] | None = None  # set by the fluent layer to pop the run off its stack
        self._before_end: list[Callable[[], None]] = []  # helpers that log into the run (system metrics) stop here

    # --- creating and resuming -------------------------------------------------------------

    @classmethod
    def create(cls, experiment_folder: Path, experiment_id: str, run_name: str | None = None,
               parent_run_id: str | None = None, description: str | None = None,
               tags: dict | None = None, run_id: str | None = None, start_time: int | None = None) -> Run:
        run_id = run_id or uuid.uuid4().hex
        folder = experiment_folder / run_id
        (folder / ARTIFACTS_DIR).mkdir(parents=True, exist_ok=True)
        tags = dict(tags or {})
        run_name = run_name or tags.get(RUN_NAME_TAG) or random_run_name(run_id)
        from .system import system_info  # subprocess, socket, platform: paid when a run starts

        system = system_info()
        start = events.event(START, t=start_time, run_id=run_id, experiment_id=experiment_id, name=str(run_name),
                             parent_run_id=parent_run_id, description=description, system=system)
        info = RunInfo(run_id, experiment_id, str(run_name), (folder / ARTIFACTS_DIR).absolute().as_uri(),
                       start["t"], parent_run_id=parent_run_id, user_id=system.get("user"))
        run = cls(folder, info)
        run._writer.write(events.encode(start))
        if tags:
            run.set_tags(tags)
        run._writer.flush()
        return run

    @classmethod
    def resume(cls, folder: Path, announce: bool = True) -> Run:
        """Reopen a run to append to it; its params stay immutable across the two sessions.

        `announce=False` writes no `resume` line: the run keeps the status it has (MLflow lets a client
        log to a finished run, and the MLflow plugin does so without making it running again)."""
        if not announce:
            return cls.attach(folder)
        from .system import system_info

        system = system_info()
        run = cls.attach(folder, system.get("user"))
        run._writer.write(events.encode(events.event(RESUME, system=system)))
        run._writer.flush()
        return run

    @classmethod
    def attach(cls, folder: Path, user: str | None = None) -> Run:
        """Open a run to append to it without reopening it (MlflowClient's calls): an ended run stays ended."""
        state = _replay(folder)
        run_id = state["run_id"] or folder.name
        if state["deleted"]:
            raise InvalidParameterValue(f"The run {run_id} must be in the 'active' state. Current state is deleted "
                                        "(restore_run() shows it again)")
        info = RunInfo(run_id, state["experiment_id"] or folder.parent.name, state["name"] or folder.name,
                       (folder / ARTIFACTS_DIR).absolute().as_uri(), state["start_time"] or events.now_ms(),
                       parent_run_id=state["parent_run_id"], user_id=user)
        return cls(folder, info, state["params"], state["tags"])

    # --- MLflow's logging methods ----------------------------------------------------------

    def log_metric(self, key: str, value, step: int | None = None, timestamp: int | None = None) -> None:
        # The hot path of a training loop: a few checks, one dict, one dumps, one C-level append.
        if key not in self._metric_keys or self._ended:
            self._check_open()
            self._metric_keys.add(events.check_key(key, "metric key"))
        kind = type(value)
        if kind is not int and (kind is not float or value - value != 0.0):  # NaN, ±Inf and non-floats
            value = events.metric_value(value)
        if type(step) is not int:
            step = 0 if step is None else int(step)
        pending = self._pending
        line = _dumps({VERSION_FIELD: LINE_VERSION, KIND_FIELD: METRIC,
                       "t": _time_ns() // 1_000_000 if timestamp is None else int(timestamp),
                       "key": key, "value": value, "step": step}, option=_NEWLINE)
        pending += line
        if len(pending) >= _FLUSH_BYTES or self._writer.error is not None:
            self._writer.flush(own=line)

    def log_metrics(self, metrics: dict, step: int | None = None, timestamp: int | None = None) -> None:
        """The whole dict in one `metrics` line (docs/FORMAT.md): less than half the bytes of a line per value."""
        self._check_open()
        if metrics:
            t = int(_time() * 1000) if timestamp is None else int(timestamp)
            self._writer.write(events.points_line(metrics, 0 if step is None else int(step), t, self._metric_keys))

    def log_points(self, points) -> None:
        """(key, value, step, timestamp) tuples, as MLflow's log_batch gives them: all checked before any is
        written; consecutive points of one step and time share a `metrics` line."""
        self._check_open()
        self._writer.write(events.batch_lines(points, int(_time() * 1000), self._metric_keys))

    def log_param(self, key: str, value) -> Any:
        self.log_params({key: value})
        return value

    def log_params(self, params: dict) -> None:
        self._check_open()
        fresh: dict[str, Any] = {}
        for key, value in params.items():
            events.check_key(key, "param key")
            value = events.plain_value(value, f"param {key!r}")
            known = self._params.get(key, fresh.get(key, _MISSING))
            if known is not _MISSING and known != value:
                raise InvalidParameterValue(f"param {key!r} was already logged as {known!r} in run {self.info.run_id}; "
                                 f"params are immutable, so {value!r} was not logged (use a metric or a tag for "
                                 "values that change)")
            if known is _MISSING:
                fresh[key] = value
        self._params.update(fresh)
        t = events.now_ms()
        self._writer.write(b"".join(events.encode(events.event(PARAM, t=t, key=k, value=v))
                                     for k, v in fresh.items()))

    def set_tag(self, key: str, value) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: dict) -> None:
        self._check_open()
        checked = {events.check_key(k, "tag key"): events.plain_value(v, f"tag {k!r}") for k, v in tags.items()}
        self._tags.update(checked)
        if RUN_NAME_TAG in checked:
            self.info.run_name = str(checked[RUN_NAME_TAG])
        t = events.now_ms()
        self._writer.write(b"".join(events.encode(events.event(TAG, t=t, key=k, value=v))
                                     for k, v in checked.items()))

    def log_artifact(self, local_path: str | os.PathLike, artifact_path: str | None = None) -> str:
        source = Path(local_path)
        if not source.is_file():
            raise FileNotFoundError(f"log_artifact: no file at {source}")
        relative = _join(artifacts.safe_relative(artifact_path), source.name)
        return self._place(relative, lambda target: artifacts.copy_into(source, target))

    def log_artifacts(self, local_dir: str | os.PathLike, artifact_path: str | None = None) -> list[str]:
        source = Path(local_dir)
        if not source.is_dir():
            raise NotADirectoryError(f"log_artifacts: no folder at {source}")
        base = artifacts.safe_relative(artifact_path)
        files = sorted(p for p in source.rglob("*") if p.is_file())
        for path in files:  # check every destination before copying any
            artifacts.destination(self.artifact_dir, _join(base, path.relative_to(source).as_posix()))
        return [self.log_artifact(p, _join(base, p.parent.relative_to(source).as_posix())) for p in files]

    def log_text(self, text: str, artifact_file: str) -> str:
        relative = artifacts.safe_file(artifact_file)
        return self._place(relative, lambda target: artifacts.write_into(str(text).encode("utf-8"), target))

    def log_dict(self, dictionary: dict, artifact_file: str) -> str:
        relative = artifacts.safe_file(artifact_file)
        if relative.lower().endswith((".yaml", ".yml")):
            import yaml

            text = yaml.safe_dump(dictionary, sort_keys=False, allow_unicode=True)
        else:
            text = json.dumps(dictionary, indent=2, ensure_ascii=False, default=str)
        return self._place(relative, lambda target: artifacts.write_into(text.encode("utf-8"), target))

    def log_figure(self, figure, artifact_file: str) -> str:
        """A matplotlib figure (saved in the format its extension names) or a plotly figure (.html)."""
        relative = artifacts.safe_file(artifact_file)
        suffix = Path(relative).suffix.lower().lstrip(".")
        if hasattr(figure, "savefig"):
            save = lambda target: artifacts.place(target, lambda tmp: figure.savefig(tmp, format=suffix or "png"))
        elif hasattr(figure, "write_html") and suffix in ("html", "htm"):
            save = lambda target: artifacts.place(target, lambda tmp: figure.write_html(str(tmp)))
        elif hasattr(figure, "write_image"):
            save = lambda target: artifacts.place(target, lambda tmp: figure.write_image(str(tmp), format=suffix))
        else:
            raise TypeError(f"log_figure takes a matplotlib or plotly figure, got {type(figure).__name__}")
        return self._place(relative, save)

    def log_image(self, image, artifact_file: str | None = None, *, key: str | None = None,
                  step: int | None = None, timestamp: int | None = None) -> str:
        """A numpy array (HxW, HxWx3 or HxWx4) or a PIL image, saved as `artifact_file`, or, as MLflow 2.x
        does, one step of the series `key` (logger/images.py has the layout); returns the path written."""
        if artifact_file is not None and (key, step, timestamp) != (None, None, None):
            raise TypeError("log_image takes artifact_file, or key with step and timestamp, not both")
        if artifact_file is None and key is None:
            raise TypeError("log_image needs artifact_file (a file name) or key (a series of images over steps)")
        picture = images.to_pil(image)
        if artifact_file is None:
            full, small = images.series_files(str(key), step or 0, timestamp or int(time.time() * 1000))
            self._place(full, lambda target: artifacts.place(target, lambda tmp: picture.save(tmp, format="PNG")))
            thumb = images.compressed(picture)
            self._place(small, lambda target: artifacts.place(target, lambda tmp: thumb.save(tmp, format="WEBP")))
            if self._tags.get(LOGGED_IMAGES_TAG) != "True":
                self.set_tag(LOGGED_IMAGES_TAG, "True")
            return full
        relative = artifacts.safe_file(artifact_file)
        fmt = (Path(relative).suffix.lstrip(".") or "png").upper().replace("JPG", "JPEG")
        return self._place(relative, lambda target: artifacts.place(target, lambda tmp: picture.save(tmp, format=fmt)))

    def get_artifact_uri(self, artifact_path: str | None = None) -> str:
        relative = artifacts.safe_relative(artifact_path)
        return artifacts.destination(self.artifact_dir, relative).absolute().as_uri()

    # --- ending ------------------------------------------------------------------------------

    def end(self, status: str = "FINISHED", end_time: int | None = None) -> None:
        """End the run; `end_time` (ms) is for callers that were told when it ended (MLflow's set_terminated)."""
        if status not in END_STATUSES:
            raise InvalidParameterValue(f"status must be FINISHED, FAILED or KILLED, got {status!r}")
        while self._before_end and not self._ended:  # before the end line: their last points go first
            try:
                self._before_end.pop()()
            except IndexError:  # another thread ending the run took it
                break
        with self._end_lock:
            if self._ended:
                return
            self._ended = True
        end = events.event(END, t=end_time, status=status)
        self.info.status, self.info.end_time = status, end["t"]
        try:
            self._writer.write(events.encode(end))
            self._writer.close()
            storage.upload_for(self.folder, storage.UPLOAD_WAIT)
        finally:
            if self._on_end is not None:
                self._on_end(self)

    def flush(self) -> None:
        self._writer.flush()
        storage.upload_for(self.folder, storage.UPLOAD_WAIT)

    def mark_deleted(self, deleted: bool = True) -> None:
        """delete_run / restore_run of this open run: the line, and logging refused while deleted."""
        self._deleted = deleted
        self._metric_keys.clear()  # sends the next log_metric through the checks of its slow path
        self._writer.write(events.encode(events.event(DELETED if deleted else RESTORED)))
        self._writer.flush()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind, error, traceback) -> Literal[False]:
        if kind is None:
            self.end("FINISHED")
        elif issubclass(kind, (KeyboardInterrupt, Terminated)):
            self.end("KILLED")
        else:
            self.end("FAILED")
        return False

    # --- the rest ----------------------------------------------------------------------------

    @property
    def artifact_dir(self) -> Path:
        return self.folder / ARTIFACTS_DIR

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def data(self) -> RunData:
        """Params and tags as text, as get_run gives them (MLflow stores text)."""
        from .values import param_text

        return RunData({k: param_text(v) for k, v in self._params.items()},
                       {k: param_text(v) for k, v in self._tags.items()})

    def __repr__(self) -> str:
        return f"<Run {self.info.run_name!r} {self.info.run_id} {self.info.status}>"

    def _check_open(self) -> None:
        if self._ended:
            raise RuntimeError(f"run {self.info.run_id} has ended; start or resume a run to log more")
        if self._deleted:
            raise InvalidParameterValue(f"The run {self.info.run_id} must be in the 'active' state. Current state "
                                        "is deleted (restore_run() shows it again)")

    def _place(self, relative: str, save) -> str:
        self._check_open()
        target = artifacts.destination(self.artifact_dir, relative)
        size = save(target)
        self._writer.write(events.encode(events.event(ARTIFACT, path=relative, size=size)))
        storage.upload_for(self.folder)  # on object storage, artifacts go up when they are logged
        return relative


_MISSING = object()


def _join(folder: str, name: str) -> str:
    folder = "" if folder in ("", ".") else folder
    return f"{folder}/{name}" if folder else name


def _replay(folder: Path) -> dict:
    from .segment_merge import replay_state  # the reader's machinery: paid only on resume

    return replay_state(folder)
