"""The build's one configuration object: made once from the command line, frozen, passed explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TITLE = "flowsheet"
DEFAULT_MAX_ARTIFACT_MB = 50.0


class ConfigError(ValueError):
    """An option that cannot work; its message is one line meant for the user."""


@dataclass(frozen=True)
class BuildConfig:
    log_dir: Path
    out_dir: Path
    title: str = DEFAULT_TITLE
    templates_dir: Path | None = None
    max_artifact_mb: float = DEFAULT_MAX_ARTIFACT_MB
    strict: bool = False
    quiet: bool = False
    force: bool = False
    # Seconds since the epoch to print as the build time; None keeps pages free of timestamps.
    build_time: int | None = None
    redact: bool = True  # mask credentials in params and tags (see reporter/site/redact.py)
    redact_patterns: tuple[str, ...] = ()  # more key patterns to mask (regular expressions)
    history_downloads: bool = True  # each run's metrics.csv.gz (every point); False leaves them out of the site

    @property
    def log_root(self) -> Path:
        """The folder the logs are: `log_dir`, or the folder holding it when one log file was named
        (`reporter build mlflow.db`). Nothing outside it is read; `.flowsheetignore` lies in it."""
        return self.log_dir if self.log_dir.is_dir() else self.log_dir.parent

    @property
    def max_artifact_bytes(self) -> int:
        return int(self.max_artifact_mb * 1024 * 1024)

    @classmethod
    def from_options(cls, log_dir: str | os.PathLike, out_dir: str | os.PathLike, *, title: str | None = None,
                     templates_dir: str | os.PathLike | None = None, max_artifact_mb: float | None = None,
                     strict: bool = False, quiet: bool = False, force: bool = False,
                     redact: bool = True, redact_patterns: tuple[str, ...] = (), history_downloads: bool = True,
                     environ: dict[str, str] | None = None) -> BuildConfig:
        """Validate options and resolve paths; raises ConfigError with a one-line message."""
        env: Mapping[str, str] = os.environ if environ is None else environ
        logs = Path(log_dir).expanduser().absolute()
        if not logs.exists():
            raise ConfigError(f"log directory {logs} does not exist")
        if logs.is_dir() and not os.access(logs, os.R_OK | os.X_OK):
            raise ConfigError(f"log directory {logs} is not readable")
        if not logs.is_dir() and not (logs.is_file() and os.access(logs, os.R_OK)):
            raise ConfigError(f"log path {logs} is neither a directory nor a readable file")
        out = Path(out_dir).expanduser().absolute()
        if out.exists() and not out.is_dir():
            raise ConfigError(f"output {out} exists and is not a directory")
        # The site must never be written into the logs, nor the logs sit inside what we clean up. One log
        # file named alone (an mlflow.db) is the logs: the site may go beside it.
        if _is_within(out, logs.resolve()) or _is_within(out.resolve(), logs.resolve()):
            raise ConfigError(f"output {out} is inside the log directory {logs}; choose another -o")
        if _is_within(logs.resolve(), out.resolve()):
            raise ConfigError(f"the log directory {logs} is inside the output {out}; choose another -o")
        templates = None
        if templates_dir is not None:
            templates = Path(templates_dir).expanduser().absolute()
            if not templates.is_dir():
                raise ConfigError(f"templates directory {templates} does not exist")
        limit = DEFAULT_MAX_ARTIFACT_MB if max_artifact_mb is None else float(max_artifact_mb)
        if limit < 0:
            raise ConfigError("--max-artifact-mb must be 0 or more")
        build_time = None
        epoch = env.get("SOURCE_DATE_EPOCH")
        if epoch:
            try:
                build_time = int(epoch)
            except ValueError:
                raise ConfigError(f"SOURCE_DATE_EPOCH must be an integer, not {epoch!r}") from None
        import re

        for pattern in redact_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"--redact {pattern!r} is not a valid regular expression: {exc}") from None
        return cls(log_dir=logs, out_dir=out, title=title or DEFAULT_TITLE, templates_dir=templates,
                   max_artifact_mb=limit, strict=strict, quiet=quiet, force=force, build_time=build_time,
                   redact=redact, redact_patterns=tuple(redact_patterns), history_downloads=history_downloads)


def _is_within(path: Path, parent: Path) -> bool:
    try:
        path.relative_to(parent)
    except ValueError:
        return False
    return True
