"""Hand-made logs for tests, written line by line as docs/FORMAT.md describes (not through the logger).

    exp = write_experiment(tmp_path, "houses")
    run = write_run(exp, "a" * 32, [param("C", 0.1), metric("loss", 0.5, 0), end()], name="lasso")
    append(run / "run.jsonl", metric("loss", 0.4, 1))

Event helpers return dicts; `t` defaults to a fixed, increasing clock so files are reproducible.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

T0 = 1_732_700_000_000  # 2024-11-27T09:33:20Z
_clock = itertools.count(T0)


def tick() -> int:
    return next(_clock)


def event(kind: str, t: int | None = None, **fields: Any) -> dict:
    return {"v": 1, "kind": kind, "t": tick() if t is None else t, **fields}


def metric(key: str, value: float | str, step: int = 0, t: int | None = None) -> dict:
    return event("metric", t, key=key, value=value, step=step)


def metrics(points: dict, step: int = 0, t: int | None = None) -> dict:
    """A version-2 `metrics` line: the points of one log_metrics call."""
    return {"v": 2, "kind": "metrics", "t": tick() if t is None else t, "s": step, "m": points}


def param(key: str, value: Any, t: int | None = None) -> dict:
    return event("param", t, key=key, value=value)


def tag(key: str, value: Any, t: int | None = None) -> dict:
    return event("tag", t, key=key, value=value)


def end(status: str = "FINISHED", t: int | None = None) -> dict:
    return event("end", t, status=status)


def resume(t: int | None = None) -> dict:
    return event("resume", t, system={})


def artifact(path: str, size: int, t: int | None = None) -> dict:
    return event("artifact", t, path=path, size=size)


def start(run_id: str, experiment_id: str, name: str | None = None, parent_run_id: str | None = None,
          t: int | None = None, description: str | None = None, system: dict | None = None) -> dict:
    return event("start", t, run_id=run_id, experiment_id=experiment_id, name=name, parent_run_id=parent_run_id,
                 description=description, system=system if system is not None else {"user": "ana"})


def encode(record: dict | bytes) -> bytes:
    """A dict as one JSON line; bytes are taken as they are (for bad lines), newline added if missing."""
    if isinstance(record, bytes):
        return record if record.endswith(b"\n") else record + b"\n"
    return orjson.dumps(record) + b"\n"


def append(path: Path, *records: dict | bytes) -> None:
    with open(path, "ab") as file:
        file.write(b"".join(encode(r) for r in records))


def append_raw(path: Path, data: bytes) -> None:
    """Bytes exactly as given: no newline added (for torn lines)."""
    with open(path, "ab") as file:
        file.write(data)


def write_experiment(log_dir: Path, name: str, experiment_id: str | None = None, tags: dict | None = None,
                     artifact_location: str | None = None, t: int | None = None) -> Path:
    """Create `<log_dir>/<experiment_id>/experiment.jsonl`; returns the experiment folder."""
    experiment_id = experiment_id or f"{name}-0000000{len(name) % 10}"
    folder = Path(log_dir) / experiment_id
    folder.mkdir(parents=True, exist_ok=True)
    records = [event("experiment", t, experiment_id=experiment_id, name=name, artifact_location=artifact_location)]
    records += [event("experiment_tag", key=k, value=v) for k, v in (tags or {}).items()]
    append(folder / "experiment.jsonl", *records)
    return folder


def write_run(experiment_folder: Path, run_id: str, events: Iterable[dict | bytes] = (), name: str | None = None,
              parent_run_id: str | None = None, with_start: bool = True, t: int | None = None) -> Path:
    """Create `<experiment>/<run_id>/run.jsonl` with a start line (unless with_start=False) then `events`."""
    folder = Path(experiment_folder) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    events = list(events)
    if t is None:  # the events were stamped before this call: start just before the first of them
        times = [e["t"] for e in events if isinstance(e, dict)]
        t = min(times) - 1 if times else tick()
    records = [start(run_id, Path(experiment_folder).name, name, parent_run_id, t)] if with_start else []
    append(folder / "run.jsonl", *records, *events)
    return folder


def write_artifact(run_folder: Path, relative: str, data: bytes = b"x") -> Path:
    path = Path(run_folder) / "artifacts" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_plain(path: Path, rows: Iterable[dict]) -> Path:
    """A plain metric log: one flat JSON object per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    append(path, *rows)
    return path
