"""What each unit of the site is made from, as digests: equal digests, equal files (reporter/site/cache.py).

- `global_fingerprint`: flowsheet's own code and version, the versions of the libraries whose output
  lands in pages (Altair's specs, Markdown, escaping), the templates (the user's and the defaults), the
  static files and every build option. A change there rebuilds everything.
- `run_content`: one published run as the model holds it (every field, every point), plus the size,
  time and inode of each artifact file the site copies or previews (or of the log file holding its bytes).
- A run page also shows other runs and its experiment: `run_unit_digest` adds the experiment, the parent's
  and the children's link facts (name, status, start, experiment name), so renaming a parent re-renders
  its children's pages and renaming an experiment re-renders its runs' pages.
- An experiment unit is its experiment plus the content of its runs in table order; the home unit is
  every experiment, every run's content and the problems the home page lists.

The digests follow the published data (after redaction and deleted runs are left out), so they hold for
every source the reader knows, whatever its files look like.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from logger.model import Experiment, LogData, Problem, Run
from logger.sources.known import columns_digest

from reporter.config import BuildConfig

CODE_ROOTS = ("logger", "reporter")  # packages whose code shapes the site
LIBRARIES = ("altair", "jinja2", "markupsafe", "cmarkgfm", "nh3", "pandas", "numpy", "orjson", "vl-convert-python")
_REPO = Path(__file__).resolve().parents[2]
_RUN_FIELDS = tuple(item.name for item in dataclasses.fields(Run) if item.name != "metrics")


class Digest:
    """A sha256 fed with typed, length-prefixed values, so no two different values feed the same bytes."""

    def __init__(self, *values: Any):
        self._hash = hashlib.sha256()
        for value in values:
            self.feed(value)

    def feed(self, value: Any) -> None:
        update = self._hash.update
        if isinstance(value, array):
            raw = value.tobytes()
            update(f"a{value.typecode}{len(raw)}:".encode())
            update(raw)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            update(f"D{type(value).__name__}:".encode())
            for item in dataclasses.fields(value):
                if not item.name.startswith("_"):  # caches such as MetricHistory._latest
                    self.feed(getattr(value, item.name))
        elif isinstance(value, dict):
            update(f"d{len(value)}:".encode())
            for key, item in value.items():  # in order: pages show some in the order logged
                self.feed(key)
                self.feed(item)
        elif isinstance(value, (list, tuple, frozenset, set)):
            items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
            update(f"l{len(items)}:".encode())
            for item in items:
                self.feed(item)
        else:
            text = repr(value).encode("utf-8", "surrogateescape")
            update(f"{type(value).__name__}{len(text)}:".encode())
            update(text)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def global_fingerprint(config: BuildConfig, static_names: Iterable[str]) -> str:
    """Everything every page depends on: code, templates, static files, options."""
    import logger

    from reporter.assets import STATIC_DIR, templates_dir

    digest = Digest("flowsheet build", logger.__version__, _library_versions(), _options(config), sorted(static_names))
    folders = [_REPO / name for name in CODE_ROOTS] + [templates_dir(), STATIC_DIR]
    if config.templates_dir is not None:
        folders.append(config.templates_dir)
    for folder in folders:
        digest.feed(str(folder))
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith(".pyc"):
                digest.feed(path.relative_to(folder).as_posix())
                digest.feed(path.read_bytes())
    return digest.hexdigest()


def _library_versions() -> dict[str, str | None]:
    """The libraries whose output lands in pages (chart specs, Markdown, escaping): an upgrade rebuilds all."""
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _options(config: BuildConfig) -> dict[str, Any]:
    """The options pages depend on (not --strict, --quiet, --force, which change no page)."""
    return {"title": config.title, "templates_dir": str(config.templates_dir),
            "max_artifact_mb": config.max_artifact_mb, "build_time": config.build_time, "redact": config.redact,
            "redact_patterns": list(config.redact_patterns),
            "log_dir": str(config.log_dir)}


def run_content(run: Run) -> str:
    """The run as published, and the state of the artifact files its page previews or the site copies.

    The model holds scalars (and dataclasses of them) outside its metric columns, whose repr is exact and
    made in C: one repr for those fields, the columns' bytes for the points (10,000 runs hash in well
    under a second)."""
    digest = hashlib.sha256()
    fields = [(name, getattr(run, name)) for name in _RUN_FIELDS]
    digest.update(repr(fields).encode("utf-8", "surrogateescape"))
    for key, history in run.metrics.items():
        digest.update(repr(key).encode("utf-8", "surrogateescape"))
        digest.update(columns_digest(history).encode())  # a run known from the cache has its points' digest
    root = run.artifacts_dir
    for artifact in run.artifacts:
        # a file of its own, or the log file holding its bytes (an image in a TensorBoard event file)
        path = artifact.blob[0] if artifact.blob is not None else os.path.join(root, artifact.path) if root else None
        if path is None:
            continue
        try:
            info = os.lstat(path)
            digest.update(repr((info.st_size, info.st_mtime_ns, info.st_ino, info.st_mode)).encode())
        except OSError:
            digest.update(b"missing")
    return digest.hexdigest()


def link_facts(run: Run, experiments: dict[str, Experiment]) -> tuple:
    """What another page shows of a run when it links to it."""
    experiment = experiments.get(run.experiment_id)
    return (run.run_id, run.name, run.status, run.start_time, run.experiment_id,
            experiment.name if experiment else None)


def run_unit_digest(run: Run, content: str, data: LogData, experiments: dict[str, Experiment],
                    children: list[Run]) -> str:
    parent = data.runs.get(run.parent_run_id) if run.parent_run_id else None
    return Digest("run", content, experiments.get(run.experiment_id),
                  link_facts(parent, experiments) if parent else None,
                  [link_facts(child, experiments) for child in children]).hexdigest()


def experiment_unit_digest(experiment: Experiment, runs: list[Run], contents: dict[str, str],
                           experiment_ids: list[str]) -> str:
    """`experiment_ids`: every experiment of the site, which its runs-data.js links to by id."""
    return Digest("experiment", experiment, [contents[run.run_id] for run in runs], experiment_ids).hexdigest()


def home_unit_digest(experiments: dict[str, Experiment], runs: list[Run], contents: dict[str, str],
                     problems: list[Problem]) -> str:
    return Digest("home", sorted(experiments.items()), [contents[run.run_id] for run in runs], problems).hexdigest()
