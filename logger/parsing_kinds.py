"""The run file's kinds other than metric points: one handler per kind, each returning the line's time.

A mixin of `RunParser` (logger/parsing.py), which keeps the hot path for metric lines to itself.
A handler raises `Skip` with the reason when the line is unusable; the parser reports it.
"""

from __future__ import annotations

from .format import DELETED, END_STATUSES, MAX_DATASET_TEXT, MAX_VALUE_LENGTH, NOTE_TAG, PARENT_TAG, RUN_NAME_TAG
from .line_checks import Skip, check_key, check_value, need, short
from .model import DatasetInput, Run

NO_TIME = -(1 << 63)


class RunEvents:
    """What the handlers need of the parser: the run being built and what the lines said so far."""

    run: Run
    started: bool
    named_by_tag: bool
    start_experiment_id: str | None
    end_status: str | None

    def _time(self, record: dict) -> int:
        t = need(record, "t", int)
        if not self.started and (self.run.start_time is None or t < self.run.start_time):
            self.run.start_time = t  # a run without a start line starts at its earliest event
        return t

    def _on_start(self, record: dict) -> int:
        if self.started:
            raise Skip("duplicate start line")
        run = self.run
        if run.start_time is not None or run.metrics or run.params or run.tags:
            raise Skip("start line after other events")
        t = need(record, "t", int)
        run_id = need(record, "run_id", str, nullable=True)
        experiment_id = need(record, "experiment_id", str, nullable=True)
        name = need(record, "name", str, nullable=True)
        parent = need(record, "parent_run_id", str, nullable=True) if "parent_run_id" in record else None
        description = need(record, "description", str, nullable=True) if "description" in record else None
        system = need(record, "system", dict, nullable=True) if "system" in record else None
        self.started = True
        if run_id:
            run.run_id = run_id
        if name and not self.named_by_tag:
            run.name = name
        elif not self.named_by_tag:
            run.name = run.run_id
        self.start_experiment_id = experiment_id
        run.parent_run_id = parent or run.parent_run_id
        run.description = description if description is not None else run.description
        run.system = system or {}
        run.start_time = t
        return t

    def _on_param(self, record: dict) -> int:
        key = check_key(record)
        value = check_value(record)
        t = self._time(record)
        params = self.run.params
        if key in params and str(params[key]) != str(value):
            raise Skip(f"param {key!r} logged again with another value ({short(value)}); "
                        f"keeping the first ({short(params[key])})")
        params.setdefault(key, value)
        return t

    def _on_tag(self, record: dict) -> int:
        key = check_key(record)
        value = check_value(record)
        t = self._time(record)
        run = self.run
        run.tags[key] = value
        if key == RUN_NAME_TAG and value is not None:
            run.name = str(value)
            self.named_by_tag = True
        elif key == NOTE_TAG:
            run.description = None if value is None else str(value)
        elif key == PARENT_TAG and value:
            run.parent_run_id = str(value)
        return t

    def _on_end(self, record: dict) -> int:
        status = need(record, "status", str)
        if status not in END_STATUSES:
            raise Skip(f"end: status must be one of {', '.join(END_STATUSES)}, got {short(status)}")
        t = self._time(record)
        self.end_status = status
        self.run.end_time = t
        return t

    def _on_resume(self, record: dict) -> int:
        system = need(record, "system", dict, nullable=True) if "system" in record else None
        t = self._time(record)
        self.end_status = None
        self.run.end_time = None
        if system and not self.run.system:
            self.run.system = system
        return t

    def _on_artifact(self, record: dict) -> int:
        # The artifacts themselves come from the folder; the line only has to be well formed.
        need(record, "path", str)
        need(record, "size", int)
        return self._time(record)

    def _on_deleted(self, record: dict) -> int:
        """`deleted` / `restored`: the last one decides. Not an event of the run's own: its times stay."""
        need(record, "t", int)
        self.run.deleted = record["kind"] == DELETED
        return NO_TIME

    def _on_input(self, record: dict) -> int:
        texts = {name: need(record, name, str, nullable=name in ("schema", "profile"))
                 for name in ("name", "digest", "source_type", "source", "schema", "profile")}
        for name, text in texts.items():
            if text is not None and len(text) > MAX_DATASET_TEXT:
                raise Skip(f"input: {name!r} is longer than {MAX_DATASET_TEXT} characters")
        tags = need(record, "tags", dict) if "tags" in record else {}
        for key, value in tags.items():
            if not key or type(value) is not str or len(key) > MAX_VALUE_LENGTH or len(value) > MAX_VALUE_LENGTH:
                raise Skip(f"input: tag {short(key)} must have a text value of at most {MAX_VALUE_LENGTH} characters")
        t = self._time(record)
        found = DatasetInput(**texts, tags=dict(tags))
        if found not in self.run.inputs:  # the same dataset used the same way is one input, as in MLflow
            self.run.inputs.append(found)
        return t
