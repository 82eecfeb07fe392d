"""The Jinja environment: templates from `--templates DIR` first, then the defaults.

An override can extend the template it replaces with `{% extends "default:run.html" %}`.
Autoescape is always on; log values never go through `|safe` (only HTML that nh3 cleaned is Markup).
"""

from __future__ import annotations

from logger.filter import format_number
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import jinja2

from reporter.markdown_render import render_markdown

_PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"
_REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def default_templates_dir() -> Path:
    """The installed `reporter/templates` when it exists (a wheel), else the repository's `templates/`."""
    return _PACKAGE_TEMPLATES if _PACKAGE_TEMPLATES.is_dir() else _REPO_TEMPLATES


def make_environment(templates_dir: Path | None = None) -> jinja2.Environment:
    defaults = jinja2.FileSystemLoader(str(default_templates_dir()))
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders += [jinja2.PrefixLoader({"default": defaults}, delimiter=":"), defaults]
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, finalize=_printable)
    env.filters.update(time=format_time, duration=format_duration, size=format_size, value=format_value,
                       markdown=render_markdown)
    env.globals["user_templates"] = templates_dir is not None
    return env


def render_page(env: jinja2.Environment, templates: Iterable[str], context: dict[str, Any]) -> str:
    """Render with the first template of `templates` that exists (per-object names before generic ones)."""
    return env.select_template(list(templates)).render(context)


_CONTROL = {c: "\ufffd" for c in (*range(0, 9), 11, 12, *range(14, 32), 127)}


def _printable(value: Any) -> Any:
    """Control characters from the logs (a NUL in a tag, say) become U+FFFD instead of reaching the page."""
    if type(value) is str:
        return value.translate(_CONTROL)
    return value


def format_time(ms: int | None) -> str:
    """Milliseconds since the epoch as UTC text; UTC keeps the output the same on every machine."""
    if ms is None:
        return ""
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
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
