"""Values as the site writes them: times, durations, sizes, short values and a run's source. Pure, no Jinja."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from logger.format import SOURCE_NAME_TAG
from logger.model import Run
from logger.values import format_number, param_text

__all__ = ["duration_ms", "format_duration", "format_size", "format_time", "format_value", "param_text",
           "source_text"]


def format_time(ms: int | None) -> str:
    """Milliseconds since the epoch as UTC text; UTC keeps the output the same on every machine."""
    if ms is None:
        return ""
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, ValueError, OSError):  # a log's time beyond year 9999 (or before year 1)
        return f"{ms} ms since 1970"


def format_duration(ms: int | None) -> str:
    if ms is None or ms < 0:
        return ""
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def format_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def format_value(value: Any) -> str:
    """A param, metric or tag value as text; a float as every table writes it (`format_number`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def duration_ms(run: Run) -> int | None:
    if run.start_time is None:
        return None
    end = run.end_time if run.end_time is not None else (run.last_time if run.status == "RUNNING" else None)
    return None if end is None else max(0, end - run.start_time)


def source_text(run: Run) -> str:
    """What the source/git column says: commit and branch when known, else the entry point."""
    system = run.system or {}
    commit = system.get("git_commit")
    if commit:
        text = str(commit)[:8]
        if system.get("git_branch"):
            text += f" ({system['git_branch']})"
        if system.get("git_dirty"):
            text += " dirty"
        return text
    return str(system.get("entry_point") or run.tags.get(SOURCE_NAME_TAG) or "")
