"""Experiments on disk: ids that follow from names, created once even by racing processes."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from . import events
from .exceptions import InvalidParameterValue, NotSupported
from .format import ARTIFACTS_DIR, EXPERIMENT, EXPERIMENT_FILE, EXPERIMENT_TAG
from .model import Experiment
from .parsing import ExperimentParser, parse_file

DEFAULT_EXPERIMENT = "Default"


def experiment_id_for(name: str) -> str:
    """`houses` -> `houses-3b4a0f52`: readable, and the same on every machine (see docs/FORMAT.md)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-") or "experiment"
    return f"{slug}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"


def check_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterValue(f"experiment name must be a non-empty string, got {name!r}")
    return events.check_key(name, "experiment name")


def read_experiment(folder: Path) -> Experiment | None:
    """The experiment a folder holds, from its experiment.jsonl; None if there is none yet.

    Read by the reader's own parser (logger/parsing.py): a line the reader skips is skipped here too."""
    try:
        data = (folder / EXPERIMENT_FILE).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    parser = parse_file(ExperimentParser(EXPERIMENT_FILE, folder), data)
    return parser.experiment if parser.seen else None


def find_by_name(log_dir: Path, name: str) -> Experiment | None:
    experiment = read_experiment(log_dir / experiment_id_for(name))
    if experiment is not None and experiment.name == name:
        return experiment
    if (log_dir / experiment_id_for(name) / EXPERIMENT_FILE).exists():
        # Created this instant by another process, its first line not written yet.
        return Experiment(experiment_id_for(name), name, str(log_dir / experiment_id_for(name)))
    # Hand-made or merged folders may not follow the naming rule: look at them all.
    for folder in _experiment_folders(log_dir):
        found = read_experiment(folder)
        if found is not None and found.name == name:
            return found
    return None


def find_by_id(log_dir: Path, experiment_id: str) -> Experiment | None:
    if not isinstance(experiment_id, str) or not experiment_id or "/" in experiment_id or experiment_id.startswith("."):
        return None
    return read_experiment(log_dir / experiment_id)


def create(log_dir: Path, name: str, artifact_location: str | None = None, tags: dict | None = None) -> Experiment:
    """Create experiment `name`; FileExistsError if it exists (one winner among racing processes)."""
    check_name(name)
    if artifact_location is not None:
        # Honouring it would put artifacts outside the log directory, where the reader never reads (safepath).
        raise NotSupported(f"artifact_location={artifact_location!r} is not supported: flowsheet keeps each run's "
                         f"artifacts in its own folder, <log dir>/<experiment>/<run id>/{ARTIFACTS_DIR}, so that the "
                         "log directory holds everything; leave it out, and choose the log directory with "
                         "set_tracking_uri() or $FLOWSHEET_DIR instead")
    tag_events = [events.event(EXPERIMENT_TAG, key=events.check_key(k, "tag key"), value=events.plain_value(v, "tag"))
                  for k, v in (tags or {}).items()]
    if find_by_name(log_dir, name) is not None:
        raise FileExistsError(f"experiment {name!r} already exists in {log_dir}")
    experiment_id = experiment_id_for(name)
    folder = log_dir / experiment_id
    folder.mkdir(parents=True, exist_ok=True)
    # O_EXCL makes exactly one of several racing processes the creator.
    fd = os.open(folder / EXPERIMENT_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
    try:
        first = events.event(EXPERIMENT, experiment_id=experiment_id, name=name, artifact_location=artifact_location)
        os.write(fd, b"".join(events.encode(e) for e in [first, *tag_events]))
    finally:
        os.close(fd)
    experiment = Experiment(experiment_id, name, str(folder), artifact_location, first["t"])
    experiment.tags.update({e["key"]: e["value"] for e in tag_events})
    return experiment


def get_or_create(log_dir: Path, name: str) -> Experiment:
    check_name(name)
    existing = find_by_name(log_dir, name)
    if existing is not None:
        return existing
    try:
        return create(log_dir, name)
    except FileExistsError:  # made by another process since we looked
        made = find_by_name(log_dir, name)
        if made is None:
            raise
        return made


def _experiment_folders(log_dir: Path) -> list[Path]:
    try:
        return sorted(p for p in log_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        return []
